import { planCollection, type CollectionPlan } from './collection-plan';
import { closedStoreError, GenericRepository, type CollectionBackend, type StoreContext } from './generic-repository';
import type { CollectionSpec, Repository, Store, StoreDeps, StoreDriver } from './ports';
import { DEFAULT_VAULT_LIMITS, type VaultLimits, type VaultStore } from './vault/vault-ports';
import { VaultService, type VaultBackend } from './vault/vault-service';

type AnySpec = CollectionSpec<{ id: string }>;

/**
 * What the drivers share: the repository cache, the clock and the closed
 * state. A driver opens one `CollectionBackend` per collection name (creating
 * its table or indexes) and the store hands out repositories over it.
 */
export abstract class BaseStore implements Store {
  abstract readonly driver: StoreDriver;
  protected closed = false;
  protected readonly context: StoreContext;
  private readonly repositories = new Map<AnySpec, Repository<{ id: string }>>();
  private readonly backends = new Map<string, { layout: string; backend: CollectionBackend }>();
  private vaultBackend: VaultBackend | null = null;

  constructor(deps: StoreDeps) {
    const clock = deps.now ?? (() => new Date());
    this.context = {
      now: () => clock().toISOString(),
      assertOpen: () => {
        if (this.closed) throw closedStoreError(this.driver);
      },
    };
  }

  repository<T extends { id: string }>(spec: CollectionSpec<T>): Repository<T> {
    this.context.assertOpen();
    const cached = this.repositories.get(spec as unknown as AnySpec);
    if (cached) return cached as unknown as Repository<T>;
    const plan = planCollection(spec);
    const layout = JSON.stringify([plan.global, plan.indexes]);
    let entry = this.backends.get(plan.name);
    if (entry && entry.layout !== layout) {
      throw new Error(`collection ${plan.name} is already open with a different index or scope layout`);
    }
    if (!entry) {
      entry = { layout, backend: this.openCollection(plan) };
      this.backends.set(plan.name, entry);
    }
    const repository = new GenericRepository(spec, plan, entry.backend, this.context);
    this.repositories.set(spec as unknown as AnySpec, repository as unknown as Repository<{ id: string }>);
    return repository;
  }

  vault(limits: Partial<VaultLimits> = {}): VaultStore {
    this.context.assertOpen();
    const merged: VaultLimits = { ...DEFAULT_VAULT_LIMITS };
    for (const [name, value] of Object.entries(limits) as Array<[keyof VaultLimits, number | undefined]>) {
      if (value === undefined) continue;
      if (!Number.isSafeInteger(value) || value < 1) throw new Error(`vault limit ${name} must be a positive integer`);
      merged[name] = value;
    }
    this.vaultBackend ??= this.openVault();
    return new VaultService(this.vaultBackend, Object.freeze(merged), this.context);
  }

  /** Creates the vault's tables or collections (once per store). */
  protected abstract openVault(): VaultBackend;

  /** Creates the collection's storage (table, indexes) if needed, or arranges for it on first use. */
  protected abstract openCollection(plan: CollectionPlan): CollectionBackend;
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;
}
