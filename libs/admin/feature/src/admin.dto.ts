import { zRecordId, zTenantId, type AuditEvent, type Invite, type Issuer, type Tenant, type User, type Verifier } from '@wallet/domain';
import type { Stored } from '@wallet/persistence';
import { z } from 'zod';

/**
 * The admin API's wire shapes: snake_case JSON, strict objects (an unknown
 * field is a 400), and the mappers between them and the stored entities.
 * Secrets (issuer client private keys, invite codes) are write-only: no read
 * shape carries them.
 */

const zHttpUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password && !url.hash;
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL without credentials or fragment');

const zDisplayName = z.string().trim().min(1).max(200);
const zOrigins = z
  .array(z.string().regex(/^https?:\/\/[^/?#\s]+$/, 'must be an origin such as https://wallet.example.com (no path)'))
  .max(32)
  .refine((list) => new Set(list).size === list.length, 'must not repeat an origin');
const zProtocol = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be a lowercase protocol name such as oid4vci');
const zProtocols = z
  .array(zProtocol)
  .max(32)
  .refine((list) => new Set(list).size === list.length, 'must not repeat a protocol');

/** `pdp_url`: an AuthZEN PDP base URL overriding the default, `none` (no PDP), or null (the default PDP). */
const zPdpUrl = z.union([z.literal('none'), zHttpUrl]).nullable();
const zTrustConfigInput = z.strictObject({ pdp_url: zPdpUrl.optional() });

export const DEFAULT_PROTOCOLS = ['oid4vci', 'oid4vp'] as const;

export const zTenantCreate = z.strictObject({
  id: zTenantId,
  display_name: zDisplayName,
  enabled: z.boolean().default(true),
  require_invite: z.boolean().default(false),
  trust_config: zTrustConfigInput.default({}),
  allowed_protocols: zProtocols.default([...DEFAULT_PROTOCOLS]),
  allowed_origins: zOrigins.default([]),
});
export type TenantCreate = z.infer<typeof zTenantCreate>;

export const zTenantUpdate = z.strictObject({
  display_name: zDisplayName.optional(),
  enabled: z.boolean().optional(),
  require_invite: z.boolean().optional(),
  trust_config: zTrustConfigInput.optional(),
  allowed_protocols: zProtocols.optional(),
  allowed_origins: zOrigins.optional(),
});
export type TenantUpdate = z.infer<typeof zTenantUpdate>;

/** Path parameters: the same schemas as the stored ids (the OpenAPI test checks the identity). */
export const zTenantIdParam = zTenantId;
export const zRecordIdParam = zRecordId;

export const zDeleteTenantQuery = z.strictObject({ force: z.enum(['true', 'false']).default('false') });

export const zListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(400).optional(),
});

const meta = (value: { version: number; createdAt: string; updatedAt: string }) => ({
  version: value.version,
  created_at: value.createdAt,
  updated_at: value.updatedAt,
});

export function tenantView(tenant: Stored<Tenant>) {
  return {
    id: tenant.id,
    display_name: tenant.displayName,
    enabled: tenant.enabled,
    require_invite: tenant.requireInvite,
    trust_config: { pdp_url: tenant.trustConfig.pdpUrl ?? null },
    allowed_protocols: tenant.allowedProtocols,
    allowed_origins: tenant.allowedOrigins ?? [],
    ...meta(tenant),
  };
}
export type TenantView = ReturnType<typeof tenantView>;

// --- users -----------------------------------------------------------------

export const zRole = z.enum(['member', 'admin']);

export const zUserCreate = z.strictObject({
  id: zRecordId.optional(),
  handle: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be base64url, at most 128 characters').optional(),
  display_name: z.string().trim().max(200).default(''),
  role: zRole.default('member'),
});
export const zUserUpdate = z.strictObject({
  display_name: z.string().trim().max(200).optional(),
  status: z.enum(['active', 'suspended']).optional(),
});
export const zMembershipPut = z.strictObject({ role: zRole });

export function userView(user: Stored<User>, role: 'member' | 'admin' | null) {
  return {
    id: user.id,
    handle: user.handle,
    display_name: user.displayName,
    status: user.status,
    role,
    private_data_set: user.privateData !== null,
    ...meta(user),
  };
}

// --- issuers ---------------------------------------------------------------

const zPrivateKey = z.string().min(1).max(16_384);

export const zIssuerCreate = z.strictObject({
  id: zRecordId.optional(),
  credential_issuer_identifier: zHttpUrl,
  client_id: z.string().min(1).max(512).nullable().default(null),
  visible: z.boolean().default(true),
  client_private_key: zPrivateKey.nullable().default(null),
});
export const zIssuerUpdate = z.strictObject({
  credential_issuer_identifier: zHttpUrl.optional(),
  client_id: z.string().min(1).max(512).nullable().optional(),
  visible: z.boolean().optional(),
  /** A new key replaces the old one; null removes it. */
  client_private_key: zPrivateKey.nullable().optional(),
});

export function issuerView(issuer: Stored<Issuer>) {
  return {
    id: issuer.id,
    credential_issuer_identifier: issuer.credentialIssuerIdentifier,
    client_id: issuer.clientId,
    visible: issuer.visible,
    client_private_key_set: issuer.clientPrivateKey !== null,
    ...meta(issuer),
  };
}

// --- verifiers -------------------------------------------------------------

/** Public JWKs only: a private or symmetric member is refused. */
const zPublicJwks = z
  .array(
    z
      .record(z.string(), z.unknown())
      .refine((jwk) => typeof jwk['kty'] === 'string' && jwk['kty'] !== 'oct', 'must be an asymmetric JWK')
      .refine((jwk) => !['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((m) => m in jwk), 'must be a public key (no private members)'),
  )
  .max(10);
/** An OpenID4VP client id without a prefix (the pre-registered form). */
const zPreRegisteredClientId = z.string().min(1).max(512).regex(/^[^:\s]+$/, 'must be a client id without a prefix (no ":")');

export const zVerifierCreate = z.strictObject({
  id: zRecordId.optional(),
  name: zDisplayName,
  url: zHttpUrl,
  client_id: zPreRegisteredClientId.optional(),
  jwks: zPublicJwks.optional(),
});
export const zVerifierUpdate = z.strictObject({
  name: zDisplayName.optional(),
  url: zHttpUrl.optional(),
  client_id: zPreRegisteredClientId.optional(),
  jwks: zPublicJwks.optional(),
});

export function verifierView(verifier: Stored<Verifier>) {
  return {
    id: verifier.id,
    name: verifier.name,
    url: verifier.url,
    client_id: verifier.clientId ?? null,
    jwks: verifier.jwks ?? [],
    ...meta(verifier),
  };
}

// --- invites ---------------------------------------------------------------

const MAX_INVITE_LIFETIME_S = 366 * 24 * 3600;
const zExpiry = {
  /** Lifetime from now, in seconds. */
  expires_in: z.number().int().min(60).max(MAX_INVITE_LIFETIME_S).optional(),
  /** Absolute expiry (ISO 8601), in the future. */
  expires_at: z.iso.datetime({ offset: true }).optional(),
};

export const zInviteCreate = z
  .strictObject({
    count: z.number().int().min(1).max(1000).default(1),
    max_uses: z.number().int().min(1).max(1_000_000).default(1),
    ...zExpiry,
  })
  .refine((v) => !(v.expires_in !== undefined && v.expires_at !== undefined), {
    message: 'give expires_in or expires_at, not both',
    path: ['expires_at'],
  });
export const zInviteRenew = z
  .strictObject({ ...zExpiry, max_uses: z.number().int().min(1).max(1_000_000).optional() })
  .refine((v) => !(v.expires_in !== undefined && v.expires_at !== undefined), {
    message: 'give expires_in or expires_at, not both',
    path: ['expires_at'],
  });

export type InviteStatus = 'active' | 'expired' | 'revoked' | 'used_up';

export function inviteStatus(invite: Invite, now: Date): InviteStatus {
  if (invite.revoked) return 'revoked';
  if (invite.expiresAt !== null && Date.parse(invite.expiresAt) <= now.getTime()) return 'expired';
  if (invite.uses >= invite.maxUses) return 'used_up';
  return 'active';
}

export function inviteView(invite: Stored<Invite>, now: Date) {
  return {
    id: invite.id,
    expires_at: invite.expiresAt,
    max_uses: invite.maxUses,
    uses: invite.uses,
    revoked: invite.revoked,
    status: inviteStatus(invite, now),
    ...meta(invite),
  };
}

// --- audit -----------------------------------------------------------------

export const zAuditQuery = z.strictObject({
  /** The tenant whose changes to list; unset: tenant-level changes (create, update, delete of tenants). */
  tenant: zTenantId.optional(),
  action: z.string().min(1).max(100).optional(),
  resource: z.string().min(1).max(64).optional(),
  resource_id: z.string().min(1).max(200).optional(),
  actor: z.string().min(1).max(200).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(400).optional(),
});

export function auditView(event: Stored<AuditEvent>) {
  return {
    id: event.id,
    at: event.at,
    tenant: event.tenantId,
    actor_type: event.actorType,
    actor: event.actorId,
    action: event.action,
    resource: event.resourceType,
    resource_id: event.resourceId,
    before: event.before,
    after: event.after,
    request_id: event.requestId,
  };
}
