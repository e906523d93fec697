import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Cache } from '@wallet/cache';
import {
  DEFAULT_TENANT_ID,
  GLOBAL_SCOPE,
  NotFoundError,
  UniqueViolationError,
  ValidationError,
  WalletError,
  type Invite,
  type Issuer,
  type Membership,
  type Tenant,
  type User,
  type Verifier,
} from '@wallet/domain';
import { Collections, type CollectionSpec, type Page, type Store, type Stored } from '@wallet/persistence';
import type { WalletConfig } from '@wallet/config';
import {
  AuditLog,
  keyEncryptionKey,
  publishTenantChanged,
  publishVerifierServicesChanged,
  WALLET_CACHE,
  WALLET_CONFIG,
  WALLET_STORE,
} from '@wallet/platform';
import { sealSecret } from '@wallet/crypto';
import { createHash, randomBytes } from 'node:crypto';
import type { VerifierService } from '@wallet/protocol';
import { auditView, inviteView, issuerView, tenantView, userView, verifierView } from './admin.dto';
import type { ListQueryDto } from './admin-params.dto';
import type { AuditQueryDto } from './audit.dto';
import type {
  CreateInvitesDto,
  CreateIssuerDto,
  CreateUserDto,
  CreateVerifierDto,
  RenewInviteDto,
  UpdateIssuerDto,
  UpdateUserDto,
  UpdateVerifierDto,
} from './tenant-resources.dto';
import type { CreateTenantDto, UpdateTenantDto } from './tenants.dto';

/** Who made a change and in which request; goes into every audit event. */
export interface AdminActor {
  /** The operator name from `X-Admin-Actor`, or null (the admin token says nothing about who). */
  actor: string | null;
  requestId: string | null;
}

export interface Listing<T> {
  items: T[];
  next_cursor: string | null;
}

/** Time source, injectable so tests can freeze it. */
export const ADMIN_CLOCK = Symbol('ADMIN_CLOCK');

type ListQuery = Pick<ListQueryDto, 'limit' | 'cursor'>;

const newId = (): string => randomBytes(12).toString('base64url');

const apiFieldName = (field: string): string => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * A create refused for a duplicate, in plain words ("tenant acme already
 * exists", "issuer pid already exists in tenant acme") instead of the store's
 * ("a tenants record with the same id already exists").
 */
async function uniquely<T>(write: Promise<T>, what: string, id: string, tenant?: string): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (!(error instanceof UniqueViolationError)) throw error;
    const where = tenant === undefined ? '' : ` in tenant ${tenant}`;
    const message =
      error.fields.length === 1 && error.fields[0] === 'id'
        ? `${what} ${id} already exists${where}`
        : `${what === 'issuer' ? 'an' : 'a'} ${what} with the same ${error.fields.map(apiFieldName).join(', ')} already exists${where}`;
    throw new WalletError('already_exists', message, { cause: error, details: error.details });
  }
}
/** The context an issuer's sealed client key is bound to. */
export const issuerKeyContext = (tenant: string, issuerId: string): string => `issuer:${tenant}/${issuerId}`;

export const hashInviteCode = (code: string): string => createHash('sha256').update(code, 'utf8').digest('base64url');

/**
 * Everything the admin API changes, with an audit event per change. Every
 * tenant-scoped operation first checks that the tenant exists, so a typo in a
 * tenant id is a 404, not a silently created scope.
 */
@Injectable()
export class AdminService {
  private readonly audit: AuditLog;
  private readonly logger = new Logger('admin');
  private readonly kek: Uint8Array | null;

  constructor(
    @Inject(WALLET_CONFIG) config: WalletConfig,
    @Inject(WALLET_STORE) private readonly store: Store,
    @Inject(WALLET_CACHE) private readonly cache: Cache,
    @Inject(ADMIN_CLOCK) private readonly now: () => Date,
  ) {
    this.audit = new AuditLog(store, now);
    this.kek = keyEncryptionKey(config);
  }

  private get tenants() {
    return this.store.repository(Collections.tenants);
  }

  // --- tenants ---------------------------------------------------------------

  async listTenants(query: ListQuery): Promise<Listing<ReturnType<typeof tenantView>>> {
    return listing(await this.tenants.list(GLOBAL_SCOPE, query), tenantView);
  }

  async getTenant(id: string) {
    return tenantView(await this.requireTenant(id));
  }

  async createTenant(input: CreateTenantDto, who: AdminActor) {
    const created = await uniquely(
      this.tenants.create(GLOBAL_SCOPE, {
        id: input.id,
        displayName: input.display_name,
        enabled: input.enabled,
        requireInvite: input.require_invite,
        trustConfig: pdpConfig(input.trust_config.pdp_url ?? null),
        allowedProtocols: input.allowed_protocols,
        allowedOrigins: input.allowed_origins,
      }),
      'tenant',
      input.id,
    );
    const view = tenantView(created);
    await this.record(GLOBAL_SCOPE, who, 'tenant.create', 'tenant', created.id, null, view);
    // Replicas may hold a cached "no such tenant" answer.
    await this.announce('tenant', created.id);
    return view;
  }

  async updateTenant(id: string, input: UpdateTenantDto, who: AdminActor) {
    const current = await this.requireTenant(id);
    const next: Tenant = {
      id: current.id,
      displayName: input.display_name ?? current.displayName,
      enabled: input.enabled ?? current.enabled,
      requireInvite: input.require_invite ?? current.requireInvite,
      trustConfig:
        input.trust_config?.pdp_url !== undefined ? pdpConfig(input.trust_config.pdp_url) : current.trustConfig,
      allowedProtocols: input.allowed_protocols ?? current.allowedProtocols,
      allowedOrigins: input.allowed_origins ?? current.allowedOrigins ?? [],
    };
    if (id === DEFAULT_TENANT_ID && !next.enabled) {
      throw new WalletError('forbidden', 'the default tenant cannot be disabled');
    }
    const updated = await this.tenants.update(GLOBAL_SCOPE, id, next, current.version);
    const view = tenantView(updated);
    await this.record(GLOBAL_SCOPE, who, 'tenant.update', 'tenant', id, tenantView(current), view);
    await this.announce('tenant', id);
    return view;
  }

  /**
   * Deletes a tenant. Refused for `default`, and while the tenant still has
   * users unless `force`; with `force` every record of the tenant (users,
   * passkeys, credentials, issuers, verifiers, invites, tokens, and any
   * collection added later) is deleted first. Audit events stay.
   */
  async deleteTenant(id: string, force: boolean, who: AdminActor): Promise<{ deleted: Record<string, number> }> {
    if (id === DEFAULT_TENANT_ID) throw new WalletError('forbidden', 'the default tenant cannot be deleted');
    const current = await this.requireTenant(id);
    const users = await this.store.repository(Collections.users).count(id);
    if (users > 0 && !force) {
      throw new WalletError(
        'precondition_failed',
        `tenant ${id} still has ${users} user(s); delete them first or pass ?force=true to delete every record of the tenant`,
        { details: { users } },
      );
    }
    // Disable first, so the public side stops serving the tenant while its records go.
    const disabled = current.enabled
      ? await this.tenants.update(GLOBAL_SCOPE, id, { ...stripMeta(current), enabled: false }, current.version)
      : current;
    const deleted: Record<string, number> = {};
    for (const spec of tenantCollections()) {
      const count = await this.store.repository(spec).deleteMany(id);
      if (count > 0) deleted[spec.name] = count;
    }
    await this.tenants.delete(GLOBAL_SCOPE, id, disabled.version);
    await this.record(GLOBAL_SCOPE, who, 'tenant.delete', 'tenant', id, tenantView(current), { deleted });
    await this.announce('tenant', id);
    return { deleted };
  }

  // --- users -----------------------------------------------------------------

  async listUsers(tenant: string, query: ListQuery) {
    await this.requireTenant(tenant);
    const page = await this.store.repository(Collections.users).list(tenant, query);
    const items = [];
    for (const user of page.items) items.push(userView(user, await this.roleOf(tenant, user.id)));
    return { items, next_cursor: page.nextCursor };
  }

  async getUser(tenant: string, id: string) {
    await this.requireTenant(tenant);
    const user = await this.requireRecord(Collections.users, tenant, id, 'user');
    return userView(user, await this.roleOf(tenant, id));
  }

  /** Pre-provisions an account (no passkey yet) with a membership in the tenant. */
  async createUser(tenant: string, input: CreateUserDto, who: AdminActor) {
    await this.requireTenant(tenant);
    const id = input.id ?? newId();
    const user = await uniquely(
      this.store.repository(Collections.users).create(tenant, {
        id,
        handle: input.handle ?? randomBytes(32).toString('base64url'),
        displayName: input.display_name,
        status: 'active',
        privateData: null,
        privateDataEtag: null,
      }),
      'user',
      id,
      tenant,
    );
    await this.store.repository(Collections.memberships).create(tenant, { id, userId: id, role: input.role });
    const view = userView(user, input.role);
    await this.record(tenant, who, 'user.create', 'user', id, null, view);
    return view;
  }

  /** Adds (or changes) the membership of an existing user of the tenant. */
  async putMembership(tenant: string, userId: string, role: Membership['role'], who: AdminActor) {
    await this.requireTenant(tenant);
    const user = await this.requireRecord(Collections.users, tenant, userId, 'user');
    const memberships = this.store.repository(Collections.memberships);
    const current = await memberships.get(tenant, userId);
    if (current) await memberships.update(tenant, userId, { ...stripMeta(current), role }, current.version);
    else await memberships.create(tenant, { id: userId, userId, role });
    await this.record(tenant, who, 'membership.put', 'membership', userId, current ? { role: current.role } : null, { role });
    return userView(user, role);
  }

  async removeMembership(tenant: string, userId: string, who: AdminActor): Promise<void> {
    await this.requireTenant(tenant);
    const memberships = this.store.repository(Collections.memberships);
    const current = await memberships.get(tenant, userId);
    if (!current) throw new NotFoundError('membership');
    await memberships.delete(tenant, userId, current.version);
    await this.record(tenant, who, 'membership.remove', 'membership', userId, { role: current.role }, null);
  }

  /** Suspending a user also revokes their active refresh tokens. */
  async updateUser(tenant: string, id: string, input: UpdateUserDto, who: AdminActor) {
    await this.requireTenant(tenant);
    const users = this.store.repository(Collections.users);
    const current = await this.requireRecord(Collections.users, tenant, id, 'user');
    const next: User = {
      ...stripMeta(current),
      displayName: input.display_name ?? current.displayName,
      status: input.status ?? current.status,
    };
    const updated = await users.update(tenant, id, next, current.version);
    if (next.status === 'suspended' && current.status !== 'suspended') await this.revokeTokensOf(tenant, id);
    const role = await this.roleOf(tenant, id);
    await this.record(tenant, who, next.status !== current.status ? `user.${next.status === 'suspended' ? 'suspend' : 'unsuspend'}` : 'user.update', 'user', id, userView(current, role), userView(updated, role));
    return userView(updated, role);
  }

  /** Removes the user and everything that belongs to them in the tenant. */
  async deleteUser(tenant: string, id: string, who: AdminActor): Promise<void> {
    await this.requireTenant(tenant);
    const current = await this.requireRecord(Collections.users, tenant, id, 'user');
    const role = await this.roleOf(tenant, id);
    for (const spec of [Collections.memberships, Collections.passkeys, Collections.refreshTokens, Collections.credentials, Collections.presentations]) {
      await this.store.repository(spec as unknown as CollectionSpec<{ id: string; userId: string }>).deleteMany(tenant, { userId: id });
    }
    await this.store.repository(Collections.users).delete(tenant, id);
    await this.record(tenant, who, 'user.delete', 'user', id, userView(current, role), null);
  }

  // --- issuers -----------------------------------------------------------------

  async listIssuers(tenant: string, query: ListQuery) {
    await this.requireTenant(tenant);
    return listing(await this.store.repository(Collections.issuers).list(tenant, query), issuerView);
  }

  async getIssuer(tenant: string, id: string) {
    await this.requireTenant(tenant);
    return issuerView(await this.requireRecord(Collections.issuers, tenant, id, 'issuer'));
  }

  async createIssuer(tenant: string, input: CreateIssuerDto, who: AdminActor) {
    await this.requireTenant(tenant);
    const id = input.id ?? newId();
    const created = await uniquely(
      this.store.repository(Collections.issuers).create(tenant, {
        id,
        credentialIssuerIdentifier: input.credential_issuer_identifier,
        clientId: input.client_id,
        visible: input.visible,
        clientPrivateKey: await this.sealKey(input.client_private_key, tenant, id),
      }),
      'issuer',
      id,
      tenant,
    );
    const view = issuerView(created);
    await this.record(tenant, who, 'issuer.create', 'issuer', created.id, null, view);
    return view;
  }

  async updateIssuer(tenant: string, id: string, input: UpdateIssuerDto, who: AdminActor) {
    await this.requireTenant(tenant);
    const current = await this.requireRecord(Collections.issuers, tenant, id, 'issuer');
    const next: Issuer = {
      ...stripMeta(current),
      credentialIssuerIdentifier: input.credential_issuer_identifier ?? current.credentialIssuerIdentifier,
      clientId: input.client_id !== undefined ? input.client_id : current.clientId,
      visible: input.visible ?? current.visible,
      clientPrivateKey:
        input.client_private_key !== undefined ? await this.sealKey(input.client_private_key, tenant, id) : current.clientPrivateKey,
    };
    const updated = await this.store.repository(Collections.issuers).update(tenant, id, next, current.version);
    const view = issuerView(updated);
    await this.record(tenant, who, 'issuer.update', 'issuer', id, issuerView(current), view);
    return view;
  }

  async deleteIssuer(tenant: string, id: string, who: AdminActor): Promise<void> {
    await this.requireTenant(tenant);
    const current = await this.requireRecord(Collections.issuers, tenant, id, 'issuer');
    await this.store.repository(Collections.issuers).delete(tenant, id, current.version);
    await this.record(tenant, who, 'issuer.delete', 'issuer', id, issuerView(current), null);
  }

  // --- verifiers -------------------------------------------------------------

  async listVerifiers(tenant: string, query: ListQuery) {
    await this.requireTenant(tenant);
    return listing(await this.store.repository(Collections.verifiers).list(tenant, query), verifierView);
  }

  async getVerifier(tenant: string, id: string) {
    await this.requireTenant(tenant);
    return verifierView(await this.requireRecord(Collections.verifiers, tenant, id, 'verifier'));
  }

  async createVerifier(tenant: string, input: CreateVerifierDto, who: AdminActor) {
    await this.requireTenant(tenant);
    const id = input.id ?? newId();
    const created = await uniquely(
      this.store.repository(Collections.verifiers).create(tenant, {
        id,
        name: input.name,
        url: input.url,
        ...(input.client_id ? { clientId: input.client_id } : {}),
        ...(input.jwks ? { jwks: input.jwks } : {}),
      }),
      'verifier',
      id,
      tenant,
    );
    const view = verifierView(created);
    await this.record(tenant, who, 'verifier.create', 'verifier', created.id, null, view);
    return view;
  }

  async updateVerifier(tenant: string, id: string, input: UpdateVerifierDto, who: AdminActor) {
    await this.requireTenant(tenant);
    const current = await this.requireRecord(Collections.verifiers, tenant, id, 'verifier');
    const clientId = input.client_id ?? current.clientId;
    const jwks = input.jwks ?? current.jwks;
    const next: Verifier = {
      id,
      name: input.name ?? current.name,
      url: input.url ?? current.url,
      ...(clientId ? { clientId } : {}),
      ...(jwks ? { jwks } : {}),
    };
    const updated = await this.store.repository(Collections.verifiers).update(tenant, id, next, current.version);
    const view = verifierView(updated);
    await this.record(tenant, who, 'verifier.update', 'verifier', id, verifierView(current), view);
    return view;
  }

  async deleteVerifier(tenant: string, id: string, who: AdminActor): Promise<void> {
    await this.requireTenant(tenant);
    const current = await this.requireRecord(Collections.verifiers, tenant, id, 'verifier');
    await this.store.repository(Collections.verifiers).delete(tenant, id, current.version);
    await this.record(tenant, who, 'verifier.delete', 'verifier', id, verifierView(current), null);
  }

  // --- verifier services (the verifier's relying parties) --------------------

  async listVerifierServices(query: ListQuery) {
    return listing(await this.store.repository(Collections.verifierServices).list(GLOBAL_SCOPE, query), (r) => r.definition);
  }

  async getVerifierService(id: string) {
    return (await this.requireRecord(Collections.verifierServices, GLOBAL_SCOPE, id, 'verifier service')).definition;
  }

  /** Creates or replaces a service definition (already validated with the verifier's schema). The verifier picks it up within seconds. */
  async putVerifierService(id: string, definition: VerifierService, who: AdminActor) {
    if (definition.id !== id) throw new ValidationError('the id in the path and in the body differ', [{ path: '/body/id', message: 'must equal the path id' }]);
    const repository = this.store.repository(Collections.verifierServices);
    const current = await repository.get(GLOBAL_SCOPE, id);
    const value = { id, definition: definition as unknown as Record<string, unknown> };
    const saved = current ? await repository.update(GLOBAL_SCOPE, id, value, current.version) : await repository.create(GLOBAL_SCOPE, value);
    await this.record(GLOBAL_SCOPE, who, current ? 'verifier_service.update' : 'verifier_service.create', 'verifier_service', id, current?.definition ?? null, saved.definition);
    await this.announce('verifier service', id, () => publishVerifierServicesChanged(this.cache, id));
    return saved.definition;
  }

  async deleteVerifierService(id: string, who: AdminActor): Promise<void> {
    const current = await this.requireRecord(Collections.verifierServices, GLOBAL_SCOPE, id, 'verifier service');
    await this.store.repository(Collections.verifierServices).delete(GLOBAL_SCOPE, id, current.version);
    await this.record(GLOBAL_SCOPE, who, 'verifier_service.delete', 'verifier_service', id, current.definition, null);
    await this.announce('verifier service', id, () => publishVerifierServicesChanged(this.cache, id));
  }

  // --- invites ---------------------------------------------------------------

  async listInvites(tenant: string, query: ListQuery) {
    await this.requireTenant(tenant);
    const now = this.now();
    return listing(await this.store.repository(Collections.invites).list(tenant, query), (i) => inviteView(i, now));
  }

  /** Creates `count` invite codes. The codes are in this answer only: the store keeps their SHA-256. */
  async createInvites(tenant: string, input: CreateInvitesDto, who: AdminActor) {
    await this.requireTenant(tenant);
    const now = this.now();
    const expiresAt = this.expiry(input, now) ?? null;
    const invites = this.store.repository(Collections.invites);
    const items = [];
    for (let i = 0; i < input.count; i++) {
      const code = randomBytes(15).toString('base64url');
      const created = await invites.create(tenant, {
        id: newId(),
        codeHash: hashInviteCode(code),
        expiresAt,
        maxUses: input.max_uses,
        uses: 0,
        revoked: false,
      });
      items.push({ ...inviteView(created, now), code });
    }
    await this.record(tenant, who, 'invite.create', 'invite', null, null, {
      ids: items.map((i) => i.id),
      expires_at: expiresAt,
      max_uses: input.max_uses,
    });
    return { items };
  }

  async revokeInvite(tenant: string, id: string, who: AdminActor) {
    await this.requireTenant(tenant);
    const current = await this.requireRecord(Collections.invites, tenant, id, 'invite');
    const updated = await this.store
      .repository(Collections.invites)
      .update(tenant, id, { ...stripMeta(current), revoked: true }, current.version);
    const now = this.now();
    const view = inviteView(updated, now);
    await this.record(tenant, who, 'invite.revoke', 'invite', id, inviteView(current, now), view);
    return view;
  }

  /** Gives an invite a new expiry (default: none) and optionally a new use limit; un-revokes it. */
  async renewInvite(tenant: string, id: string, input: RenewInviteDto, who: AdminActor) {
    await this.requireTenant(tenant);
    const current = await this.requireRecord(Collections.invites, tenant, id, 'invite');
    const now = this.now();
    const next: Invite = {
      ...stripMeta(current),
      expiresAt: this.expiry(input, now) ?? null,
      maxUses: input.max_uses ?? current.maxUses,
      revoked: false,
    };
    const updated = await this.store.repository(Collections.invites).update(tenant, id, next, current.version);
    const view = inviteView(updated, now);
    await this.record(tenant, who, 'invite.renew', 'invite', id, inviteView(current, now), view);
    return view;
  }

  // --- audit -----------------------------------------------------------------

  /**
   * Audit events of one scope (a tenant, or the tenant-level changes), oldest
   * first. `since`/`until` are applied while paging through the scope, so a
   * page may hold fewer than `limit` events; follow `next_cursor` until null.
   */
  async listAudit(query: AuditQueryDto) {
    const scope = query.tenant ?? GLOBAL_SCOPE;
    const where = {
      ...(query.action ? { action: query.action } : {}),
      ...(query.resource ? { resourceType: query.resource } : {}),
      ...(query.resource_id ? { resourceId: query.resource_id } : {}),
      ...(query.actor ? { actorId: query.actor } : {}),
    };
    const since = query.since ? Date.parse(query.since) : null;
    const until = query.until ? Date.parse(query.until) : null;
    const repo = this.store.repository(Collections.auditEvents);
    const items: Array<ReturnType<typeof auditView>> = [];
    let cursor = query.cursor;
    // Ids start with the event time, so `since` can skip ahead and `until` can stop early.
    for (let pages = 0; pages < 20; pages++) {
      const page = await repo.list(scope, { where, limit: query.limit, ...(cursor ? { cursor } : {}) });
      for (const event of page.items) {
        const at = Date.parse(event.at);
        if (until !== null && at > until) return { items, next_cursor: null };
        if (since === null || at >= since) items.push(auditView(event));
      }
      cursor = page.nextCursor ?? undefined;
      if (!cursor || items.length > 0) break;
    }
    return { items, next_cursor: cursor ?? null };
  }

  // --- helpers -----------------------------------------------------------------

  private async requireTenant(id: string): Promise<Stored<Tenant>> {
    const tenant = await this.tenants.get(GLOBAL_SCOPE, id);
    if (!tenant) throw new NotFoundError(`tenant ${id}`);
    return tenant;
  }

  private async requireRecord<T extends { id: string }>(spec: CollectionSpec<T>, tenant: string, id: string, what: string) {
    const found = await this.store.repository(spec).get(tenant, id);
    if (!found) throw new NotFoundError(what);
    return found;
  }

  private async roleOf(tenant: string, userId: string): Promise<Membership['role'] | null> {
    return (await this.store.repository(Collections.memberships).get(tenant, userId))?.role ?? null;
  }

  private async revokeTokensOf(tenant: string, userId: string): Promise<void> {
    const tokens = this.store.repository(Collections.refreshTokens);
    let cursor: string | undefined;
    do {
      const page = await tokens.list(tenant, { where: { userId, status: 'active' }, limit: 500, ...(cursor ? { cursor } : {}) });
      for (const token of page.items) {
        await tokens.update(tenant, token.id, { ...stripMeta(token), status: 'revoked' }, token.version).catch(() => undefined);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  private expiry(input: { expires_in?: number | undefined; expires_at?: string | undefined }, now: Date): string | undefined {
    if (input.expires_in !== undefined) return new Date(now.getTime() + input.expires_in * 1000).toISOString();
    if (input.expires_at !== undefined) {
      const at = Date.parse(input.expires_at);
      if (at <= now.getTime()) throw new ValidationError('expires_at must be in the future', [{ path: '/expires_at', message: 'must be in the future' }]);
      return new Date(at).toISOString();
    }
    return undefined;
  }

  /** Issuer client keys are sealed under `crypto.keyEncryptionKey`; open them with `openSealedSecret(value, issuerKeyContext(...))`. */
  private async sealKey(key: string | null, tenant: string, id: string): Promise<string | null> {
    return key === null ? null : sealSecret(key, issuerKeyContext(tenant, id), this.kek);
  }

  /**
   * Tells every replica about a stored change (a tenant's directory entry to
   * drop, the verifier services to reload). Best effort: a cache outage must
   * not fail a change that is already stored, and replicas catch up anyway
   * (tenant entries expire, verifier services are re-read periodically).
   */
  private async announce(what: string, id: string, publish: () => Promise<void> = () => publishTenantChanged(this.cache, id)): Promise<void> {
    try {
      await publish();
    } catch (error) {
      this.logger.warn({ msg: `could not announce a ${what} change`, id, error: error instanceof Error ? error.message : 'unknown' });
    }
  }

  private async record(
    scope: string,
    who: AdminActor,
    action: string,
    resourceType: string,
    resourceId: string | null,
    before: Record<string, unknown> | null,
    after: Record<string, unknown> | null,
  ): Promise<void> {
    await this.audit.record(scope, {
      actorType: 'admin',
      actorId: who.actor,
      action,
      resourceType,
      resourceId,
      before,
      after,
      requestId: who.requestId,
    });
  }
}

function pdpConfig(pdpUrl: string | null): Tenant['trustConfig'] {
  return pdpUrl === null ? {} : { pdpUrl };
}

function listing<T, V>(page: Page<T>, view: (item: T) => V): Listing<V> {
  return { items: page.items.map(view), next_cursor: page.nextCursor };
}

/** The entity without the store's metadata, ready for `update`. */
function stripMeta<T extends object>(stored: T & { tenantId: string; version: number; createdAt: string; updatedAt: string }): T {
  const { tenantId: _t, version: _v, createdAt: _c, updatedAt: _u, ...rest } = stored;
  return rest as unknown as T;
}

/** Every collection whose records belong to one tenant (audit events stay when a tenant goes). */
function tenantCollections(): Array<CollectionSpec<{ id: string }>> {
  return Object.values(Collections)
    .filter((spec) => !('global' in spec && spec.global) && spec !== Collections.auditEvents)
    .map((spec) => spec as unknown as CollectionSpec<{ id: string }>);
}
