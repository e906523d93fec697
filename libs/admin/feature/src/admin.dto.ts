import type { AuditEvent, Invite, Issuer, Tenant, User, Verifier } from '@wallet/domain';
import type { Stored } from '@wallet/persistence';

/**
 * The admin API's answers: snake_case JSON mapped from the stored entities.
 * Secrets (issuer client private keys, invite codes) are write-only: no read
 * shape carries them. The inputs are DTO classes beside the controllers
 * (tenants.dto.ts, tenant-resources.dto.ts, audit.dto.ts, admin-params.dto.ts),
 * the answers' OpenAPI schemas are in admin-responses.dto.ts.
 */

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
