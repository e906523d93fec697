import type { Cache } from '@wallet/cache';
import {
  checkBitstringStatus,
  checkTokenStatus,
  evaluateDcqlQuery,
  evaluatePresentationExchange,
  parseDcqlVpToken,
  parsePexVpToken,
  parsePresentationSubmission,
  PresentationError,
  selectClaim,
  selectSubmitted,
  verifyJwtVp,
  verifySdJwtVc,
  type DcqlQuery,
  type PresentationDefinition,
  type VerifiedJwtVp,
  type IssuerKeyResolver,
  type PresentedCredential,
  type VerifiedSdJwtVc,
} from '@wallet/protocol';
import { DEFAULT_TENANT_ID } from '@wallet/domain';
import type { TrustEvaluator } from '@wallet/trust';
import { exportJWK } from 'jose';
import { jwkThumbprint } from '@wallet/crypto';
import { z } from 'zod';
import { createHash } from 'node:crypto';
import type { VerifierFetch } from './issuer-keys';
import { PresentationRefusalDetail } from './oauth-error';
import type { Clock } from './verifier-clock';
import type { PresentationWorkers } from './presentation-workers';
import type { CredentialTrust, RelyingPartyScope } from './relying-party-registry';
import type { AuthorizationCode, VerifierSession } from './verifier-sessions';

/**
 * What the presentations of one response are checked against: the query they
 * must answer (exactly one of `dcql` and `presentationDefinition`), and the
 * nonce and audience every key binding must carry.
 */
export interface PresentationRequestContext {
  /** The tenant whose trust configuration decides `authzen` trust rules. */
  tenantId: string;
  nonce: string;
  /** Our client id as the wallet saw it: the KB-JWT's (or VP's) `aud`. */
  audience: string;
  dcql: DcqlQuery | null;
  presentationDefinition: PresentationDefinition | null;
}

/** A browser session's request: its nonce, the client id it was sent with, its query. */
export function sessionPresentationContext(session: VerifierSession): PresentationRequestContext {
  return {
    // Sessions started before the tenant was recorded belong to the default tenant.
    tenantId: session.tenantId ?? DEFAULT_TENANT_ID,
    nonce: session.nonce,
    audience: session.clientId,
    dcql: session.dcql,
    presentationDefinition: session.presentationDefinition,
  };
}

const SD_JWT_FORMATS = new Set(['dc+sd-jwt', 'vc+sd-jwt']);
const JWT_VC_FORMAT = 'jwt_vc_json';
/** Claims every SD-JWT VC carries that are not attested facts about the holder. */
const STRUCTURAL_CLAIMS = new Set(['iss', 'vct', 'vct#integrity', 'cnf', 'iat', 'exp', 'nbf', 'status', 'sub', 'jti']);

/** How long a trusted issuers registry entry is reused. */
const TRUST_CACHE_MS = 300_000;

/** The Nest token of the `ResponseVerifierDeps` the presentation and token services share. */
export const RESPONSE_VERIFIER_DEPS = Symbol('RESPONSE_VERIFIER_DEPS');

export interface ResponseVerifierDeps {
  /** The AuthZEN evaluator, for rules with `authzen: true`. */
  trust?: Pick<TrustEvaluator, 'evaluate'>;
  resolveIssuerKey: IssuerKeyResolver;
  /** Worker threads for SD-JWT VC verification; without them it runs on the event loop. */
  presentationWorkers?: Pick<PresentationWorkers, 'verifySdJwtVc'>;
  fetch: VerifierFetch;
  cache: Cache;
  statusListTtlMs: number;
  clockSkewSeconds: number;
  /** The verifier's clock (`VERIFIER_CLOCK`): dates, key-binding age and status list expiry are checked against it. */
  now: Clock;
}

function claimPaths(value: unknown, prefix = ''): string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return prefix ? [prefix] : [];
  return Object.entries(value).flatMap(([key, inner]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return [path, ...claimPaths(inner, path).filter((p) => p !== path)];
  });
}

/** What a trust rule looks at: the SD-JWT VC itself, or one W3C credential of a JWT VP (its most specific type as `vct`). */
type TrustSubject = Pick<VerifiedSdJwtVc, 'issuer' | 'vct' | 'claims' | 'header' | 'issuerKey'>;

function attestedClaims(credential: TrustSubject): string[] {
  return Object.keys(credential.claims).filter((k) => !STRUCTURAL_CLAIMS.has(k));
}

/** Refuses a claim (or a nested claim) outside `allowed` (top-level names or dotted paths). */
function checkAllowedClaims(credential: TrustSubject, allowed: readonly string[]): void {
  for (const name of attestedClaims(credential)) {
    const paths = claimPaths(credential.claims[name], name);
    const ok = paths.every((p) => allowed.some((a) => p === a || p.startsWith(`${a}.`) || a.startsWith(`${p}.`)));
    if (!ok) throw new PresentationError('claim_not_allowed', `the issuer may not attest the claim "${name}"`);
  }
}

/** One entry of a FIWARE/EBSI trusted issuers list: `attributes[].body` is base64 JSON of this. */
const zTirCredential = z.object({
  credentialsType: z.string(),
  claims: z.array(z.object({ name: z.string(), allowedValues: z.array(z.unknown()).optional() })).optional(),
});
const zTirIssuer = z.object({ attributes: z.array(z.object({ body: z.string() })).max(256) });

/**
 * Asks a trusted issuers registry about an issuer (`GET <url>/<issuer>`, cached
 * `TRUST_CACHE_MS`): the issuer must have an attribute for the credential type,
 * and when that attribute lists claims, only those (with their allowed values).
 */
async function checkRegistry(url: string, credential: TrustSubject, deps: ResponseVerifierDeps): Promise<void> {
  const entryUrl = `${url}/${encodeURIComponent(credential.issuer)}`;
  const key = `verifier:tir:${createHash('sha256').update(entryUrl).digest('base64url')}`;
  let text = await deps.cache.get(key);
  if (text === null) {
    try {
      text = await deps.fetch.getText(entryUrl, ['application/json']);
    } catch (cause) {
      // 404 (not listed) and an unreachable registry both refuse: trust fails closed.
      throw new PresentationError('untrusted_issuer', 'the trusted issuers registry does not list the issuer', { cause });
    }
    await deps.cache.set(key, text, { ttlMs: TRUST_CACHE_MS });
  }
  let entry;
  try {
    entry = zTirIssuer.parse(JSON.parse(text));
  } catch (cause) {
    throw new PresentationError('untrusted_issuer', 'the trusted issuers registry answered an entry we cannot read', { cause });
  }
  const credentials = entry.attributes.flatMap((attribute) => {
    try {
      return [zTirCredential.parse(JSON.parse(Buffer.from(attribute.body, 'base64').toString('utf8')))];
    } catch {
      return [];
    }
  });
  const match = credentials.find((c) => c.credentialsType === credential.vct);
  if (!match) throw new PresentationError('untrusted_issuer', 'the registry does not list the issuer for this credential type');
  if (!match.claims) return;
  checkAllowedClaims(credential, match.claims.map((c) => c.name));
  for (const claim of match.claims) {
    if (!claim.allowedValues) continue;
    const [value] = selectClaim(credential.claims, claim.name.split('.'));
    if (value !== undefined && !claim.allowedValues.some((allowed) => allowed === value)) {
      throw new PresentationError('claim_not_allowed', `the issuer may not attest this value of "${claim.name}"`);
    }
  }
}

async function checkAuthzen(credential: TrustSubject, tenantId: string, deps: ResponseVerifierDeps): Promise<void> {
  if (!deps.trust) throw new PresentationError('untrusted_issuer', 'no AuthZEN trust evaluator is configured');
  const x5c = credential.header.x5c;
  const key =
    Array.isArray(x5c) && x5c.length > 0
      ? { type: 'x5c' as const, x5c }
      : { type: 'jwk' as const, jwk: { ...(await exportJWK(credential.issuerKey)) } as Record<string, unknown> };
  const decision = await deps.trust.evaluate({
    tenantId,
    entityId: credential.issuer,
    role: 'credential-issuer',
    key,
    credentialTypes: [credential.vct],
  });
  // The PDP's own reason is for our logs, not for the wallet.
  if (!decision.trusted) throw new PresentationError('untrusted_issuer', 'the trust decision refused the issuer', { cause: new PresentationRefusalDetail(decision.reason) });
}

/**
 * Refuses an untrusted issuer, or one that attested a claim it may not, by the
 * rule for the credential type; `authzen` rules ask the PDP of `tenantId` (the
 * relying party's tenant).
 */
export async function checkIssuerTrust(trust: readonly CredentialTrust[], credential: TrustSubject, tenantId: string, deps: ResponseVerifierDeps): Promise<void> {
  const rule = trust.find((r) => r.type === credential.vct) ?? trust.find((r) => r.type === '*');
  if (!rule) throw new PresentationError('untrusted_issuer', 'no issuer is trusted for this credential type');
  if (rule.registry) return checkRegistry(rule.registry.url, credential, deps);
  if (rule.authzen) return checkAuthzen(credential, tenantId, deps);
  if (!rule.issuers) throw new PresentationError('untrusted_issuer', 'no issuer is trusted for this credential type');
  if (rule.issuers === 'any') return;
  const issuer = rule.issuers.find((i) => i.id === credential.issuer);
  if (!issuer) throw new PresentationError('untrusted_issuer', 'the issuer is not trusted for this credential type');
  if (issuer.claims) checkAllowedClaims(credential, issuer.claims);
}

/** Verifies one SD-JWT VC presentation for a request: signature, disclosures, key binding, trust, status. */
async function verifyOne(presentation: string, request: PresentationRequestContext, scope: RelyingPartyScope, deps: ResponseVerifierDeps): Promise<VerifiedSdJwtVc> {
  const options = {
    resolveIssuerKey: deps.resolveIssuerKey,
    nonce: request.nonce,
    audience: request.audience,
    clockSkewSeconds: deps.clockSkewSeconds,
    now: deps.now,
  };
  const verified = await (deps.presentationWorkers ? deps.presentationWorkers.verifySdJwtVc(presentation, options) : verifySdJwtVc(presentation, options));
  await checkIssuerTrust(scope.trust, verified, request.tenantId, deps);
  await checkTokenStatus(verified.status, statusOptions(deps));
  return verified;
}

/** Status lists are fetched through the guarded client and cached in the shared cache. */
function statusOptions(deps: ResponseVerifierDeps) {
  return {
    resolveKey: deps.resolveIssuerKey,
    clockSkewSeconds: deps.clockSkewSeconds,
    now: deps.now,
    fetchStatusList: async (uri: string) => {
      const key = `verifier:status-list:${createHash('sha256').update(uri).digest('base64url')}`;
      const cached = await deps.cache.get(key);
      if (cached !== null) return cached;
      const body = await deps.fetch.getText(uri, ['application/statuslist+jwt', 'application/jwt', 'application/vc+jwt']);
      await deps.cache.set(key, body, { ttlMs: deps.statusListTtlMs });
      return body;
    },
  };
}

/** Verifies a W3C VP JWT for a request: holder signature, nonce, audience, each credential, its trust and status. */
async function verifyJwtPresentation(presentation: string, request: PresentationRequestContext, scope: RelyingPartyScope, deps: ResponseVerifierDeps) {
  const verified = await verifyJwtVp(presentation, {
    resolveIssuerKey: deps.resolveIssuerKey,
    nonce: request.nonce,
    audience: request.audience,
    clockSkewSeconds: deps.clockSkewSeconds,
    now: deps.now,
  });
  for (const credential of verified.credentials) {
    const vct = credential.types.filter((t) => t !== 'VerifiableCredential').at(-1) ?? 'VerifiableCredential';
    await checkIssuerTrust(scope.trust, { issuer: credential.issuer, vct, claims: credential.claims, header: credential.header, issuerKey: credential.issuerKey }, request.tenantId, deps);
    await checkBitstringStatus(credential.status, statusOptions(deps));
  }
  return verified;
}

/** Collects what the authorization code carries, per query or input descriptor id. */
class Results {
  readonly credentials: AuthorizationCode['credentials'] = {};
  holder: string | null = null;

  add(id: string, verified: VerifiedSdJwtVc): void {
    const { cnf: _cnf, ...claims } = verified.claims;
    (this.credentials[id] ??= []).push({ issuer: verified.issuer, type: verified.vct, claims });
    this.holder ??=
      typeof verified.claims['sub'] === 'string'
        ? verified.claims['sub']
        : `urn:ietf:params:oauth:jwk-thumbprint:sha-256:${jwkThumbprint(verified.holderJwk)}`;
  }

  addJwtVp(id: string, verified: VerifiedJwtVp): void {
    for (const credential of verified.credentials) {
      const type = credential.types.filter((t) => t !== 'VerifiableCredential').at(-1) ?? 'VerifiableCredential';
      (this.credentials[id] ??= []).push({ issuer: credential.issuer, type, claims: credential.claims });
    }
    this.holder ??= verified.holder;
  }
}

/**
 * Verifies a wallet's response to a request: every presentation (signature,
 * disclosures, key binding to the request's nonce and our client id, dates,
 * status), issuer trust per credential type, and that the response answers
 * the request's DCQL query or presentation definition. Returns what the
 * authorization code carries.
 */
export async function verifyVpToken(
  fields: Record<string, unknown>,
  request: PresentationRequestContext,
  scope: RelyingPartyScope,
  deps: ResponseVerifierDeps,
): Promise<Pick<AuthorizationCode, 'credentials' | 'holder'>> {
  const results = new Results();
  if (request.presentationDefinition) {
    const definition = request.presentationDefinition;
    const submission = parsePresentationSubmission(fields['presentation_submission']);
    const { list, single } = parsePexVpToken(fields['vp_token']);
    const presented = new Map<string, PresentedCredential>();
    for (const descriptor of submission.descriptor_map) {
      if (!SD_JWT_FORMATS.has(descriptor.format)) {
        throw new PresentationError('query_not_satisfied', `credential format ${descriptor.format.slice(0, 32)} is not supported by this verifier`);
      }
      const verified = await verifyOne(selectSubmitted(list, single, descriptor.path), request, scope, deps);
      presented.set(descriptor.id, { format: descriptor.format, vct: verified.vct, claims: verified.claims, holderBound: true });
      results.add(descriptor.id, verified);
    }
    evaluatePresentationExchange(definition, submission, presented);
    return { credentials: results.credentials, holder: results.holder };
  }

  const dcql = request.dcql;
  if (!dcql) throw new PresentationError('query_invalid', 'the session has no query');
  const entries = parseDcqlVpToken(fields['vp_token']);
  const queries = new Map(dcql.credentials.map((c) => [c.id, c]));
  const presented = new Map<string, PresentedCredential[]>();
  for (const [id, presentations] of entries) {
    const query = queries.get(id);
    if (!query) throw new PresentationError('query_not_satisfied', `the response answers a credential query "${id.slice(0, 64)}" that was not asked`);
    if (query.format === JWT_VC_FORMAT) {
      for (const presentation of presentations) {
        const verified = await verifyJwtPresentation(presentation, request, scope, deps);
        const list = presented.get(id) ?? [];
        for (const credential of verified.credentials) list.push({ format: JWT_VC_FORMAT, types: credential.types, claims: credential.claims, holderBound: true });
        presented.set(id, list);
        results.addJwtVp(id, verified);
      }
      continue;
    }
    if (!SD_JWT_FORMATS.has(query.format)) {
      throw new PresentationError('query_not_satisfied', `credential format ${query.format} is not supported by this verifier`);
    }
    for (const presentation of presentations) {
      const verified = await verifyOne(presentation, request, scope, deps);
      // Both typ values (dc+sd-jwt and the older vc+sd-jwt) answer either SD-JWT VC format.
      const list = presented.get(id) ?? [];
      list.push({ format: query.format, vct: verified.vct, claims: verified.claims, holderBound: true });
      presented.set(id, list);
      results.add(id, verified);
    }
  }
  evaluateDcqlQuery(dcql, presented);
  return { credentials: results.credentials, holder: results.holder };
}
