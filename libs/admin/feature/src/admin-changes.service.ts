import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Cache } from '@wallet/cache';
import { GLOBAL_SCOPE, NotFoundError, type Tenant } from '@wallet/domain';
import { Collections, type CollectionSpec, type Store, type Stored } from '@wallet/persistence';
import { AuditLog, WALLET_CACHE, WALLET_STORE } from '@wallet/platform';
import type { AdminActor } from './admin-actor';

/** Time source, injectable so tests can freeze it. */
export const ADMIN_CLOCK = Symbol('ADMIN_CLOCK');

/**
 * What every admin context shares, and nothing else: the existence checks
 * (every tenant-scoped operation first checks that the tenant exists, so a
 * typo in a tenant id is a 404, not a silently created scope), the audit
 * event each change writes, and the best-effort announcement of a change to
 * the other replicas.
 */
@Injectable()
export class AdminChanges {
  private readonly audit: AuditLog;
  private readonly logger = new Logger('admin');

  constructor(
    @Inject(WALLET_STORE) private readonly store: Store,
    @Inject(WALLET_CACHE) private readonly cache: Cache,
    @Inject(ADMIN_CLOCK) now: () => Date,
  ) {
    this.audit = new AuditLog(store, now);
  }

  /** The tenant, or a 404 (`not_found`) naming it. */
  async requireTenant(id: string): Promise<Stored<Tenant>> {
    const tenant = await this.store.repository(Collections.tenants).get(GLOBAL_SCOPE, id);
    if (!tenant) throw new NotFoundError(`tenant ${id}`);
    return tenant;
  }

  /** The record, or a 404 (`not_found`) naming what was looked for. */
  async requireRecord<T extends { id: string }>(spec: CollectionSpec<T>, tenant: string, id: string, what: string): Promise<Stored<T>> {
    const found = await this.store.repository(spec).get(tenant, id);
    if (!found) throw new NotFoundError(what);
    return found;
  }

  /**
   * Writes the audit event of a change in `scope` (the tenant, or the global
   * scope for tenant-level changes). The audit log redacts secret fields
   * whatever is passed as `before`/`after`.
   */
  async record(
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

  /**
   * Tells every replica about a stored change (a tenant's directory entry to
   * drop, the verifier services to reload). Best effort: a cache outage must
   * not fail a change that is already stored, and replicas catch up anyway
   * (tenant entries expire, verifier services are re-read periodically).
   */
  async announce(what: string, id: string, publish: (cache: Cache) => Promise<void>): Promise<void> {
    try {
      await publish(this.cache);
    } catch (error) {
      this.logger.warn({ msg: `could not announce a ${what} change`, id, error: error instanceof Error ? error.message : 'unknown' });
    }
  }
}
