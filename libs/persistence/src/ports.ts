import type { z } from 'zod';
import type { VaultLimits, VaultStore } from './vault/vault-ports';

/**
 * Persistence ports. One generic repository contract serves every entity; a
 * `CollectionSpec` says how an entity is stored (name, schema, indexes). The
 * drivers (`memory`, `sqlite`, `mongodb`) implement `Store`, and one contract
 * suite (`persistence.contract.ts`) runs against all of them.
 *
 * Every record lives under a scope: a tenant id, or `GLOBAL_SCOPE` for records
 * that belong to no tenant. The scope is part of every key and every index, so
 * a query can never see another tenant's records.
 */

/** What the store adds to every entity. */
export interface RecordMeta {
  tenantId: string;
  /** Starts at 1 and grows by one on every update. */
  version: number;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601. */
  updatedAt: string;
}

export type Stored<T> = T & RecordMeta;

export type FieldValue = string | number | boolean | null;

export interface IndexSpec<T> {
  /** Top-level fields of the entity; the scope is always prepended. */
  fields: ReadonlyArray<keyof T & string>;
  unique?: boolean;
}

export interface CollectionSpec<T extends { id: string }> {
  /** Table / collection name: lowercase letters, digits and underscores. */
  name: string;
  /** Validates values on create and update. */
  schema: z.ZodType<T>;
  /** Secondary indexes; `(scope, id)` is always the primary key. */
  indexes: ReadonlyArray<IndexSpec<T>>;
  /**
   * Records live only under `GLOBAL_SCOPE` (tenants, service keys); any other
   * scope is rejected with `ValidationError`.
   */
  global?: boolean;
}

/** Equality on top-level fields, combined with AND. */
export type Filter<T> = Partial<{ [K in keyof T & string]: FieldValue }>;

export interface ListOptions<T> {
  where?: Filter<T>;
  /** 1..1000, default 100. */
  limit?: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
}

/** Pages are ordered by `id` ascending. */
export interface Page<T> {
  items: T[];
  /** Null on the last page. */
  nextCursor: string | null;
}

export interface Repository<T extends { id: string }> {
  readonly spec: CollectionSpec<T>;
  get(scope: string, id: string): Promise<Stored<T> | null>;
  /** Like `get`, but throws `NotFoundError`. */
  require(scope: string, id: string): Promise<Stored<T>>;
  findOne(scope: string, where: Filter<T>): Promise<Stored<T> | null>;
  list(scope: string, options?: ListOptions<T>): Promise<Page<Stored<T>>>;
  count(scope: string, where?: Filter<T>): Promise<number>;
  /** Throws `UniqueViolationError` when the id or a unique index is taken. */
  create(scope: string, value: T): Promise<Stored<T>>;
  /**
   * Compare-and-set: replaces the record only if it is still at
   * `expectedVersion`. Throws `VersionConflictError` when it is not,
   * `NotFoundError` when it is gone, `UniqueViolationError` on a unique index.
   * Of several writers racing with the same expected version exactly one wins.
   */
  update(scope: string, id: string, value: T, expectedVersion: number): Promise<Stored<T>>;
  /**
   * Removes the record; with `expectedVersion`, only if it is still at that
   * version (`VersionConflictError` otherwise). Throws `NotFoundError` when missing.
   */
  delete(scope: string, id: string, expectedVersion?: number): Promise<void>;
  /** Removes every record of the scope matching `where`; returns how many. */
  deleteMany(scope: string, where?: Filter<T>): Promise<number>;
}

export type StoreDriver = 'memory' | 'sqlite' | 'mongodb';

export interface Store {
  readonly driver: StoreDriver;
  /** Returns the repository for a collection; creates its table/indexes on first use. */
  repository<T extends { id: string }>(spec: CollectionSpec<T>): Repository<T>;
  /** The encrypted credential vault on this store, enforcing `limits` (defaults: `DEFAULT_VAULT_LIMITS`). */
  vault(limits?: Partial<VaultLimits>): VaultStore;
  /** Resolves when the store answers; rejects with `UnavailableError` otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type StoreOptions =
  | { type: 'memory' }
  | { type: 'sqlite'; path: string; busyTimeoutMs?: number; synchronous?: 'full' | 'normal'; checkpoint?: 'background' | 'inline'; checkpointIntervalMs?: number }
  | {
      type: 'mongodb';
      uri: string;
      database?: string;
      serverSelectionTimeoutMs?: number;
      /** How old a compare-and-set claim must be before another writer may break it (default 30 s). */
      claimTimeoutMs?: number;
    };

export interface StoreDeps {
  /** Injected clock for createdAt/updatedAt (tests freeze it). */
  now?: () => Date;
}
