import type { Cache, Unsubscribe } from '@wallet/cache';
import { GLOBAL_SCOPE, NotFoundError, type Tenant } from '@wallet/domain';
import { Collections, type Store, type Stored } from '@wallet/persistence';

/** Admin publishes a tenant id here after changing or deleting that tenant; every replica evicts it. */
export const TENANT_CHANGED_CHANNEL = 'tenant-changed';

/** Tells every replica's `TenantDirectory` to forget a tenant now rather than at the end of its cache time. */
export async function publishTenantChanged(cache: Cache, tenantId: string): Promise<void> {
  await cache.publish(TENANT_CHANGED_CHANNEL, tenantId);
}

export interface TenantDirectoryOptions {
  /** How long a lookup (found or not) is reused; 0 disables the in-process cache. */
  ttlMs: number;
  now?: () => number;
  /** Most tenants remembered at once; past it the cache starts afresh. Default 10 000. */
  maxEntries?: number;
}

interface Entry {
  tenant: Stored<Tenant> | null;
  expiresAt: number;
}

/**
 * Reads tenants through the store with a short in-process cache (negative
 * answers included, so unknown ids cost one read per TTL), evicted early when
 * admin publishes a change on {@link TENANT_CHANGED_CHANNEL}.
 */
export class TenantDirectory {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly maxEntries: number;
  private unsubscribe: Unsubscribe | null = null;

  constructor(
    private readonly store: Store,
    private readonly cache: Cache,
    private readonly options: TenantDirectoryOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** Starts listening for changes published by admin. */
  async start(): Promise<void> {
    this.unsubscribe ??= await this.cache.subscribe(TENANT_CHANGED_CHANNEL, (id) => this.evict(id));
  }

  async stop(): Promise<void> {
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = null;
    if (unsubscribe) await unsubscribe();
  }

  evict(tenantId: string): void {
    this.entries.delete(tenantId);
  }

  /** The tenant, or null when it does not exist. */
  async find(tenantId: string): Promise<Stored<Tenant> | null> {
    const cached = this.entries.get(tenantId);
    const now = this.now();
    if (cached && cached.expiresAt > now) return cached.tenant;
    const tenant = await this.store.repository(Collections.tenants).get(GLOBAL_SCOPE, tenantId);
    if (this.options.ttlMs > 0) {
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      this.entries.set(tenantId, { tenant, expiresAt: now + this.options.ttlMs });
    }
    return tenant;
  }

  /**
   * The tenant if it exists and is enabled. Throws `NotFoundError` (404)
   * otherwise; a disabled tenant is answered exactly like an unknown one.
   */
  async requireEnabled(tenantId: string): Promise<Stored<Tenant>> {
    const tenant = await this.find(tenantId);
    if (!tenant || !tenant.enabled) throw new NotFoundError(`tenant "${tenantId}"`);
    return tenant;
  }
}
