import { Inject, Injectable } from '@nestjs/common';
import { DEFAULT_TENANT_ID, GLOBAL_SCOPE, WalletError, type Tenant } from '@wallet/domain';
import { Collections, type CollectionSpec, type Store } from '@wallet/persistence';
import { publishTenantChanged, WALLET_STORE } from '@wallet/platform';
import type { AdminActor } from '../admin-actor';
import { AdminChanges } from '../admin-changes.service';
import { listing, stripMeta, uniquely, type ListQuery, type Listing } from '../admin-records';
import { UsersService } from '../users/users.service';
import { tenantView, type TenantView } from './tenants-responses.dto';
import type { CreateTenantDto, UpdateTenantDto } from './tenants.dto';

/** How many users a forced tenant deletion reads at a time. */
const USER_PAGE = 100;

/**
 * Tenants: create, change, delete. Every change is audited in the global
 * scope and announced on the cache (`tenant-changed`), so every replica's
 * tenant directory drops its cached copy at once.
 */
@Injectable()
export class TenantsService {
  constructor(
    @Inject(WALLET_STORE) private readonly store: Store,
    private readonly changes: AdminChanges,
    private readonly users: UsersService,
  ) {}

  private get tenants() {
    return this.store.repository(Collections.tenants);
  }

  async listTenants(query: ListQuery): Promise<Listing<TenantView>> {
    return listing(await this.tenants.list(GLOBAL_SCOPE, query), tenantView);
  }

  async getTenant(id: string) {
    return tenantView(await this.changes.requireTenant(id));
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
    await this.changes.record(GLOBAL_SCOPE, who, 'tenant.create', 'tenant', created.id, null, view);
    // Replicas may hold a cached "no such tenant" answer.
    await this.announce(created.id);
    return view;
  }

  async updateTenant(id: string, input: UpdateTenantDto, who: AdminActor) {
    const current = await this.changes.requireTenant(id);
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
    await this.changes.record(GLOBAL_SCOPE, who, 'tenant.update', 'tenant', id, tenantView(current), view);
    await this.announce(id);
    return view;
  }

  /**
   * Deletes a tenant. Refused for `default`, and while the tenant still has
   * users unless `force`. With `force`, in this order:
   *
   * 1. the tenant is disabled (the public side stops serving it);
   * 2. every user is removed as `DELETE .../users/{id}` removes one
   *    (`UsersService.eraseUser`: access tokens and sessions revoked,
   *    `eraseUserData` from `@wallet/persistence` erases everything they own,
   *    the vault with its tags, tombstones and sync state included, then the
   *    user record with the keystore), a page of users at a time;
   * 3. every other record of the tenant (issuers, verifiers, invites, and any
   *    collection added later) is deleted;
   * 4. the tenant record, last.
   *
   * Every step is repeatable: a deletion that failed half-way (503 when the
   * revocation list or the store is unavailable) leaves the tenant disabled,
   * and repeating it removes the users that are left and finishes. Audit
   * events stay.
   */
  async deleteTenant(id: string, force: boolean, who: AdminActor): Promise<{ deleted: Record<string, number> }> {
    if (id === DEFAULT_TENANT_ID) throw new WalletError('forbidden', 'the default tenant cannot be deleted');
    const current = await this.changes.requireTenant(id);
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
    const add = (name: string, count: number) => {
      if (count > 0) deleted[name] = (deleted[name] ?? 0) + count;
    };
    const ifFailed = {
      beforeErasure: `tenant ${id} is disabled but not deleted, and some of its users are not removed yet; repeat the deletion`,
      afterErasure: `tenant ${id} is disabled but not deleted, and one of its users is erased but not removed; repeat the deletion`,
    };
    // Each page is removed before the next is read, so the first page is always the next one (and users added meanwhile go too).
    for (;;) {
      const page = await this.store.repository(Collections.users).list(id, { limit: USER_PAGE });
      if (page.items.length === 0) break;
      for (const user of page.items) {
        for (const [name, count] of Object.entries(await this.users.eraseUser(id, user.id, ifFailed))) add(name, count);
      }
    }
    for (const spec of tenantCollections()) add(spec.name, await this.store.repository(spec).deleteMany(id));
    await this.tenants.delete(GLOBAL_SCOPE, id, disabled.version);
    await this.changes.record(GLOBAL_SCOPE, who, 'tenant.delete', 'tenant', id, tenantView(current), { deleted });
    await this.announce(id);
    return { deleted };
  }

  private announce(id: string): Promise<void> {
    return this.changes.announce('tenant', id, (cache) => publishTenantChanged(cache, id));
  }
}

function pdpConfig(pdpUrl: string | null): Tenant['trustConfig'] {
  return pdpUrl === null ? {} : { pdpUrl };
}

/** Every collection whose records belong to one tenant (audit events stay when a tenant goes). */
function tenantCollections(): Array<CollectionSpec<{ id: string }>> {
  return Object.values(Collections)
    .filter((spec) => !('global' in spec && spec.global) && spec !== Collections.auditEvents)
    .map((spec) => spec as unknown as CollectionSpec<{ id: string }>);
}
