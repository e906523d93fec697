import {
  zAuditEvent,
  zVerifierServiceRecord,
  zInvite,
  zIssuer,
  zMembership,
  zPasskey,
  zRefreshToken,
  zServiceKey,
  zServiceKeyRing,
  zStoredCredential,
  zStoredPresentation,
  zTenant,
  zTypeMetadataRecord,
  zUser,
  zVerifier,
  type AuditEvent,
  type VerifierServiceRecord,
  type Invite,
  type Issuer,
  type Membership,
  type Passkey,
  type RefreshToken,
  type ServiceKey,
  type ServiceKeyRing,
  type StoredCredential,
  type StoredPresentation,
  type Tenant,
  type TypeMetadataRecord,
  type User,
  type Verifier,
} from '@wallet/domain';
import type { CollectionSpec } from './ports';

/**
 * How the domain entities are stored. Every index is per scope (tenant), so
 * "unique" means unique within one tenant. `tenants`, `serviceKeys` and `keyRings` belong
 * to no tenant and live under `GLOBAL_SCOPE` only.
 */

const tenants: CollectionSpec<Tenant> = { name: 'tenants', schema: zTenant, indexes: [], global: true };

const users: CollectionSpec<User> = {
  name: 'users',
  schema: zUser,
  indexes: [{ fields: ['handle'], unique: true }],
};

const memberships: CollectionSpec<Membership> = {
  name: 'memberships',
  schema: zMembership,
  indexes: [{ fields: ['userId'] }],
};

const passkeys: CollectionSpec<Passkey> = {
  name: 'passkeys',
  schema: zPasskey,
  indexes: [{ fields: ['userId'] }],
};

const credentials: CollectionSpec<StoredCredential> = {
  name: 'credentials',
  schema: zStoredCredential,
  indexes: [{ fields: ['userId', 'credentialIdentifier'], unique: true }],
};

const presentations: CollectionSpec<StoredPresentation> = {
  name: 'presentations',
  schema: zStoredPresentation,
  indexes: [{ fields: ['userId', 'presentationIdentifier'], unique: true }],
};

const issuers: CollectionSpec<Issuer> = {
  name: 'issuers',
  schema: zIssuer,
  indexes: [{ fields: ['credentialIssuerIdentifier'], unique: true }],
};

const verifiers: CollectionSpec<Verifier> = { name: 'verifiers', schema: zVerifier, indexes: [] };

const invites: CollectionSpec<Invite> = {
  name: 'invites',
  schema: zInvite,
  indexes: [{ fields: ['codeHash'], unique: true }],
};

const serviceKeys: CollectionSpec<ServiceKey> = {
  name: 'service_keys',
  schema: zServiceKey,
  indexes: [{ fields: ['purpose'] }],
  global: true,
};

/** A service's signing keys for one purpose, one record per purpose (id = purpose); see ADR 0014. */
const keyRings: CollectionSpec<ServiceKeyRing> = {
  name: 'key_rings',
  schema: zServiceKeyRing,
  indexes: [],
  global: true,
};

const refreshTokens: CollectionSpec<RefreshToken> = {
  name: 'refresh_tokens',
  schema: zRefreshToken,
  indexes: [{ fields: ['familyId'] }, { fields: ['userId'] }],
};

/** Audit events are stored in the tenant they concern (admin changes to tenants themselves: `GLOBAL_SCOPE`). */
const auditEvents: CollectionSpec<AuditEvent> = {
  name: 'audit_events',
  schema: zAuditEvent,
  indexes: [{ fields: ['action'] }, { fields: ['resourceType', 'resourceId'] }, { fields: ['actorId'] }],
};

/** Registry type metadata (local and source-list copies), global: one registry serves every tenant. */
const typeMetadata: CollectionSpec<TypeMetadataRecord> = {
  name: 'type_metadata',
  schema: zTypeMetadataRecord,
  indexes: [{ fields: ['origin'] }, { fields: ['sourceUrl'] }],
  global: true,
};

/** Verifier relying-party services managed through the admin API (no tenant: the verifier serves all). */
const verifierServices: CollectionSpec<VerifierServiceRecord> = {
  name: 'verifier_services',
  schema: zVerifierServiceRecord,
  indexes: [],
  global: true,
};

export const Collections = {
  tenants,
  users,
  memberships,
  passkeys,
  credentials,
  presentations,
  issuers,
  verifiers,
  invites,
  serviceKeys,
  keyRings,
  refreshTokens,
  auditEvents,
  typeMetadata,
  verifierServices,
} as const;

export type CollectionName = keyof typeof Collections;
