import { z } from 'zod';
import { zTenantId } from '@wallet/domain';
import { zDcqlQuery, zPresentationDefinition } from '@wallet/presentation-query';

/**
 * Relying parties of the verifier: each application that sends users to the
 * verifier is a relying party with scopes (its public name, in URLs, the
 * services file and the admin API, stays "service"); a scope says what to ask for (a DCQL
 * query or a Presentation Exchange definition), whom to trust for it, and how
 * the resulting JWT looks. The verifier reads them from `verifier.servicesFile`
 * and from the admin API (`/admin/verifier-services`), both validated with
 * this schema.
 */

const zId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, . _ or -');

/** Most scopes per service, and most claims a token mapping may name. */
export const MAX_SERVICE_SCOPES = 64;
export const MAX_MAPPED_CLAIMS = 256;


/** One issuer trusted for a credential type, optionally only for some claims (top-level names or dotted paths). */
const zTrustedIssuer = z.strictObject({
  /** The credential's `iss` (an https URL or a DID). */
  id: z.string().min(1).max(2048),
  claims: z.array(z.string().min(1).max(256)).min(1).max(256).optional(),
});

/**
 * Who may issue one credential type. Exactly one source: a static list (`issuers`), an
 * EBSI-style trusted issuers registry (`registry`), or the AuthZEN PDP (`authzen: true`, the
 * `trust.pdpUrl` of the relying party's tenant, `tenantId`).
 */
const zCredentialTrust = z
  .strictObject({
    /** The SD-JWT VC `vct` (or W3C type) this rule covers; `*` covers every type. */
    type: z.string().min(1).max(2048),
    /** `any`: any issuer whose key can be resolved and verified (development only). */
    issuers: z.union([z.literal('any'), z.array(zTrustedIssuer).min(1).max(256)]).optional(),
    /** `GET <url>/<issuer>` answers the issuer's entry (FIWARE/EBSI trusted issuers list format); 404: not trusted. */
    registry: z.strictObject({ url: z.url({ protocol: /^https?$/ }).overwrite((u) => u.replace(/\/+$/, '')) }).optional(),
    authzen: z.literal(true).optional(),
  })
  .superRefine((rule, ctx) => {
    const sources = [rule.issuers, rule.registry, rule.authzen].filter((s) => s !== undefined).length;
    if (sources !== 1) ctx.addIssue({ code: 'custom', path: ['issuers'], message: 'give exactly one of issuers, registry and authzen' });
  });
export type CredentialTrust = z.infer<typeof zCredentialTrust>;

const zTokenShape = z.union([
  z.strictObject({ type: z.literal('flat') }),
  z.strictObject({ type: z.literal('credential') }),
  z.strictObject({
    type: z.literal('mapping'),
    /** New claim name -> `<credential query id>.<path.to.claim>`. */
    claims: z
      .record(z.string().min(1).max(128), z.string().min(3).max(512))
      .refine((claims) => Object.keys(claims).length <= MAX_MAPPED_CLAIMS, `at most ${MAX_MAPPED_CLAIMS} claims`),
  }),
]);
export type TokenShape = z.infer<typeof zTokenShape>;

const zScope = z
  .strictObject({
    /** What to ask for: a DCQL query (OpenID4VP 1.0) or a Presentation Exchange definition, one of them. */
    dcql: zDcqlQuery.optional(),
    presentationDefinition: zPresentationDefinition.optional(),
    trust: z.array(zCredentialTrust).min(1).max(64),
    token: zTokenShape.default({ type: 'flat' }),
  })
  .superRefine((scope, ctx) => {
    if ((scope.dcql === undefined) === (scope.presentationDefinition === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['dcql'], message: 'give exactly one of dcql and presentationDefinition' });
    }
  });
export type RelyingPartyScope = z.infer<typeof zScope>;

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
const zClientJwks = z.strictObject({
  keys: z
    .array(
      z.looseObject({ kty: z.enum(['EC', 'RSA', 'OKP']), kid: z.string().max(256).optional() }).refine((jwk) => PRIVATE_JWK_MEMBERS.every((m) => !(m in jwk)), {
        message: 'must be a public key (no private or symmetric members)',
      }),
    )
    .min(1)
    .max(16),
});

export const zRelyingPartyConfig = z
  .strictObject({
    id: zId,
    /** The tenant whose trust configuration (its PDP) decides `authzen` rules; absent: `default`. */
    tenantId: zTenantId.optional(),
    defaultScope: zId,
    scopes: z.record(zId, zScope).refine((scopes) => Object.keys(scopes).length <= MAX_SERVICE_SCOPES, `at most ${MAX_SERVICE_SCOPES} scopes`),
    /** Overrides `verifier.clientIdPrefix` for this service's requests. */
    clientIdPrefix: z.enum(['decentralized_identifier', 'x509_san_dns', 'x509_hash', 'redirect_uri']).optional(),
    /** Where the verifier may send the browser (and the code) back: exact URLs. Empty: any http(s) URL (development). */
    redirectUris: z.array(z.url()).max(64).default([]),
    /** Client authentication at the token endpoint: `none` (public client, PKCE) or `private_key_jwt` (RFC 7523, keys in `clientJwks`). */
    tokenEndpointAuthMethod: z.enum(['none', 'private_key_jwt']).default('none'),
    /** The client's public keys for `private_key_jwt` (an inline JWKS; private members are refused). */
    clientJwks: zClientJwks.optional(),
    /** How long a login can be kept alive with refresh tokens (absolute: rotation does not extend it). */
    refreshTokenTtlSeconds: z.int().min(60).max(30 * 24 * 3600).default(8 * 3600),
  })
  .superRefine((service, ctx) => {
    if (!service.scopes[service.defaultScope]) {
      ctx.addIssue({ code: 'custom', path: ['defaultScope'], message: `no scope named "${service.defaultScope}"` });
    }
    if (service.tokenEndpointAuthMethod === 'private_key_jwt' && !service.clientJwks) {
      ctx.addIssue({ code: 'custom', path: ['clientJwks'], message: 'private_key_jwt needs clientJwks' });
    }
  });
export type RelyingPartyConfig = z.infer<typeof zRelyingPartyConfig>;

/** @deprecated The old name of `zRelyingPartyConfig` (admin still imports it). */
export const zVerifierServiceDefinition = zRelyingPartyConfig;
/** @deprecated The old name of `RelyingPartyConfig` (admin still imports it). */
export type VerifierService = RelyingPartyConfig;

