import { z } from 'zod';
import { zRecordId, zTenantId } from './ids';

/**
 * Entities stored by the persistence layer. Each has an `id` unique within its
 * tenant; the store adds `tenantId`, `version`, `createdAt` and `updatedAt`.
 * Timestamps are ISO 8601 strings so every driver stores them the same way.
 */

export const zTenant = z.object({
  id: zTenantId,
  displayName: z.string().min(1).max(200),
  enabled: z.boolean(),
  requireInvite: z.boolean(),
  trustConfig: z.object({ pdpUrl: z.string().max(2048).optional() }).strict(),
  allowedProtocols: z.array(z.string().min(1).max(64)).max(32),
  /**
   * Browser origins the tenant's wallet front ends run on (the engine checks a
   * WebSocket's `Origin` against them). Absent or empty: the deployment's
   * `auth.origins` and `server.corsOrigins`.
   */
  allowedOrigins: z.array(z.string().max(256)).max(32).optional(),
});
export type Tenant = z.infer<typeof zTenant>;

export const zUser = z.object({
  id: zRecordId,
  /** The WebAuthn user handle (base64url), unique within the tenant. */
  handle: z.string().min(1).max(128),
  displayName: z.string().max(200),
  status: z.enum(['active', 'suspended']),
  /** The client-encrypted keystore blob; the server never reads it. */
  privateData: z.string().max(1_048_576).nullable(),
  privateDataEtag: z.string().max(128).nullable(),
});
export type User = z.infer<typeof zUser>;

export const zMembership = z.object({
  id: zRecordId,
  userId: zRecordId,
  role: z.enum(['member', 'admin']),
});
export type Membership = z.infer<typeof zMembership>;

export const zPasskey = z.object({
  /** The WebAuthn credential id, base64url. */
  id: zRecordId,
  userId: zRecordId,
  publicKey: z.string().min(1).max(4096),
  counter: z.number().int().nonnegative(),
  transports: z.array(z.string().max(32)).max(8),
  prfCapable: z.boolean(),
  name: z.string().max(200),
  lastUsedAt: z.string().nullable(),
});
export type Passkey = z.infer<typeof zPasskey>;

export const zStoredCredential = z.object({
  id: zRecordId,
  userId: zRecordId,
  /** The identifier the wallet front end uses (v1 routes). */
  credentialIdentifier: z.string().min(1).max(512),
  format: z.string().min(1).max(64),
  /** Opaque to the server. */
  credential: z.string().max(1_048_576),
});
export type StoredCredential = z.infer<typeof zStoredCredential>;

export const zStoredPresentation = z.object({
  id: zRecordId,
  userId: zRecordId,
  presentationIdentifier: z.string().min(1).max(512),
  presentation: z.string().max(1_048_576),
  audience: z.string().max(2048).nullable(),
});
export type StoredPresentation = z.infer<typeof zStoredPresentation>;

export const zIssuer = z.object({
  id: zRecordId,
  credentialIssuerIdentifier: z.string().min(1).max(2048),
  clientId: z.string().max(512).nullable(),
  visible: z.boolean(),
  /** Encrypted or raw private key material; never returned by any read API. */
  clientPrivateKey: z.string().max(16_384).nullable(),
});
export type Issuer = z.infer<typeof zIssuer>;

export const zVerifier = z.object({
  id: zRecordId,
  name: z.string().min(1).max(200),
  url: z.string().min(1).max(2048),
  /**
   * OpenID4VP: the client id this verifier uses without a prefix
   * (`pre-registered`), and the public keys its request objects are signed
   * with. Absent: the verifier is only listed, not pre-registered.
   */
  clientId: z.string().min(1).max(512).optional(),
  jwks: z.array(z.record(z.string(), z.unknown())).max(10).optional(),
});
export type Verifier = z.infer<typeof zVerifier>;

export const zInvite = z.object({
  id: zRecordId,
  /** SHA-256 of the code, base64url; the code itself is never stored. */
  codeHash: z.string().min(1).max(128),
  expiresAt: z.string().nullable(),
  maxUses: z.number().int().positive(),
  uses: z.number().int().nonnegative(),
  revoked: z.boolean(),
});
export type Invite = z.infer<typeof zInvite>;

/**
 * A service signing key (JWK), one record per key: the layout before key rings
 * (`zServiceKeyRing`). Read once, when a purpose's ring is first created, to
 * carry its keys over; removed when the ring prunes them.
 */
export const zServiceKey = z.object({
  /** The JWK `kid`. */
  id: zRecordId,
  purpose: z.string().min(1).max(64),
  alg: z.enum(['ES256', 'EdDSA', 'RS256']),
  publicJwk: z.record(z.string(), z.unknown()),
  privateJwk: z.record(z.string(), z.unknown()),
  status: z.enum(['active', 'retired']),
  /** When a retired key's public half may leave the JWKS (ISO time), null while active. */
  publishUntil: z.string().nullable(),
});
export type ServiceKey = z.infer<typeof zServiceKey>;

/** One key of a key ring (see `zServiceKeyRing`). Times are ISO 8601. */
export const zServiceKeyRingKey = z.object({
  /** The JWK `kid` (the public key's RFC 7638 thumbprint). */
  kid: z.string().min(1).max(200),
  alg: z.enum(['ES256', 'EdDSA', 'RS256']),
  publicJwk: z.record(z.string(), z.unknown()),
  /** Encrypted with `crypto.keyEncryptionKey` (a JWE) unless none is configured. */
  privateJwk: z.record(z.string(), z.unknown()),
  /** When the key entered the ring: from then on every replica publishes it. */
  publishedAt: z.string(),
  /** When it starts signing (a pre-publication interval after `publishedAt`, except the ring's first key). */
  activeFrom: z.string(),
  /** Set when a successor is added: the key leaves the JWKS (and the ring) then. */
  publishUntil: z.string().nullable(),
});
export type ServiceKeyRingKey = z.infer<typeof zServiceKeyRingKey>;

/**
 * A service's key ring for one purpose (`auth-access-token`, `verifier-token`,
 * ...), in the global scope, id = the purpose. One record holds every key, so
 * creating the ring and each rotation is a single compare-and-set: of replicas
 * racing, exactly one wins and the others adopt its keys.
 */
export const zServiceKeyRing = z.object({
  id: zRecordId,
  keys: z.array(zServiceKeyRingKey).min(1).max(256),
});
export type ServiceKeyRing = z.infer<typeof zServiceKeyRing>;

/**
 * A refresh token, stored by its hash only. Rotation marks the old token
 * `rotated`; presenting a rotated token again revokes its whole family.
 */
export const zRefreshToken = z.object({
  /** SHA-256 of the token, base64url; the token itself is never stored. */
  id: zRecordId,
  userId: zRecordId,
  /** Every token descended from one login shares the family id. */
  familyId: zRecordId,
  /** ISO 8601. */
  expiresAt: z.string(),
  status: z.enum(['active', 'rotated', 'revoked']),
});
export type RefreshToken = z.infer<typeof zRefreshToken>;

/**
 * One change to an account or to tenant configuration, written by the service
 * that made it. `before` and `after` never carry secrets (private keys, codes,
 * keystore blobs): writers redact them before storing.
 */
export const zAuditEvent = z.object({
  /** `<at>~<random>`: ids sort by time, so a page of events is in time order. */
  id: zRecordId,
  /** ISO 8601. */
  at: z.string(),
  actorType: z.enum(['admin', 'user', 'system']),
  /** The user id for `user`, null for the admin token and system jobs. */
  actorId: z.string().max(200).nullable(),
  /** Dotted verb, e.g. `tenant.create`, `passkey.remove`. */
  action: z.string().min(1).max(100),
  resourceType: z.string().min(1).max(64),
  resourceId: z.string().max(200).nullable(),
  before: z.record(z.string(), z.unknown()).nullable(),
  after: z.record(z.string(), z.unknown()).nullable(),
  requestId: z.string().max(200).nullable(),
});
export type AuditEvent = z.infer<typeof zAuditEvent>;

/**
 * SD-JWT VC type metadata held by the registry: registered by an admin
 * (`local`, wins over everything) or read from a configured source list.
 * Stored in the global scope; the id is the SHA-256 of the vct (base64url).
 */
export const zTypeMetadataRecord = z.object({
  id: zRecordId,
  vct: z.string().min(1).max(2048),
  /** The type metadata document as registered (images not yet embedded). */
  metadata: z.record(z.string(), z.unknown()),
  origin: z.enum(['local', 'source-list']),
  /** The source list it came from, for `source-list` records. */
  sourceUrl: z.string().max(2048).nullable(),
});
export type TypeMetadataRecord = z.infer<typeof zTypeMetadataRecord>;

/**
 * A relying-party service of the verifier, managed through the admin API. The
 * definition is validated by the verifier's schema (`zRelyingPartyConfig`
 * in `@wallet/protocol`) when it is written and again when it is read.
 */
export const zVerifierServiceRecord = z.object({
  id: zRecordId,
  definition: z.record(z.string(), z.unknown()),
});
export type VerifierServiceRecord = z.infer<typeof zVerifierServiceRecord>;
