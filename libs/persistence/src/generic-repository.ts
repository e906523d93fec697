import { NotFoundError, UnavailableError } from '@wallet/domain';
import {
  checkScope,
  encodeCursor,
  invalid,
  isStorableId,
  normalizeFilter,
  normalizePage,
  prepareValue,
  type CollectionPlan,
  type NormalizedFilter,
  type PageRequest,
  type PreparedValue,
} from './collection-plan';
import type { CollectionSpec, Filter, ListOptions, Page, Repository, Stored } from './ports';

type MaybePromise<T> = T | Promise<T>;

/** A record as a driver returns it. */
export interface RawRecord {
  version: number;
  createdAt: string;
  updatedAt: string;
  /** A fresh object, not shared with the driver: the repository adds the metadata to it. */
  data: Record<string, unknown>;
}

/**
 * The part of a collection a driver implements. Arguments are already
 * validated (scope, id, filter, page, value); the driver stores, finds and
 * enforces uniqueness and compare-and-set, throwing `UniqueViolationError`,
 * `NotFoundError`, `VersionConflictError` or `UnavailableError`.
 */
export interface CollectionBackend {
  get(scope: string, id: string): MaybePromise<RawRecord | null>;
  /** At most `page.limit` records with `id > page.afterId`, ordered by id. */
  find(scope: string, filter: NormalizedFilter, page: PageRequest): MaybePromise<RawRecord[]>;
  count(scope: string, filter: NormalizedFilter): MaybePromise<number>;
  insert(scope: string, value: PreparedValue, now: string): MaybePromise<void>;
  /** Compare-and-set; returns the record's `createdAt`. */
  update(scope: string, value: PreparedValue, expectedVersion: number, now: string): MaybePromise<string>;
  delete(scope: string, id: string, expectedVersion: number | undefined): MaybePromise<void>;
  deleteMany(scope: string, filter: NormalizedFilter): MaybePromise<number>;
}

export interface StoreContext {
  /** The current time as ISO 8601 (from the injected clock). */
  now(): string;
  /** Throws `UnavailableError` once the store is closed. */
  assertOpen(): void;
}

/** The one `Repository` implementation; drivers differ only in their `CollectionBackend`. */
export class GenericRepository<T extends { id: string }> implements Repository<T> {
  constructor(
    readonly spec: CollectionSpec<T>,
    private readonly plan: CollectionPlan,
    private readonly backend: CollectionBackend,
    private readonly context: StoreContext,
  ) {}

  async get(scope: string, id: string): Promise<Stored<T> | null> {
    this.context.assertOpen();
    checkScope(this.plan, scope);
    if (!isStorableId(id)) return null;
    const raw = await this.backend.get(scope, id);
    return raw === null ? null : this.toStored(scope, raw);
  }

  async require(scope: string, id: string): Promise<Stored<T>> {
    const found = await this.get(scope, id);
    if (found === null) throw new NotFoundError(`${this.plan.name} record`);
    return found;
  }

  async findOne(scope: string, where: Filter<T>): Promise<Stored<T> | null> {
    this.context.assertOpen();
    checkScope(this.plan, scope);
    const filter = normalizeFilter(this.plan, where);
    if (filter === null) return null;
    const rows = await this.backend.find(scope, filter, { afterId: '', limit: 1 });
    return rows.length === 0 ? null : this.toStored(scope, rows[0] as RawRecord);
  }

  async list(scope: string, options?: ListOptions<T>): Promise<Page<Stored<T>>> {
    this.context.assertOpen();
    checkScope(this.plan, scope);
    const filter = normalizeFilter(this.plan, options?.where);
    const page = normalizePage(options);
    if (filter === null) return { items: [], nextCursor: null };
    // One extra row tells whether another page exists, so the last page never
    // comes with a cursor to an empty one.
    const rows = await this.backend.find(scope, filter, { afterId: page.afterId, limit: page.limit + 1 });
    const more = rows.length > page.limit;
    if (more) rows.length = page.limit;
    const items = rows.map((raw) => this.toStored(scope, raw));
    const last = items[items.length - 1];
    return { items, nextCursor: more && last ? encodeCursor(last.id) : null };
  }

  async count(scope: string, where?: Filter<T>): Promise<number> {
    this.context.assertOpen();
    checkScope(this.plan, scope);
    const filter = normalizeFilter(this.plan, where);
    return filter === null ? 0 : this.backend.count(scope, filter);
  }

  async create(scope: string, value: T): Promise<Stored<T>> {
    this.context.assertOpen();
    checkScope(this.plan, scope);
    const prepared = prepareValue(this.spec, this.plan, value);
    const now = this.context.now();
    await this.backend.insert(scope, prepared, now);
    return this.toStored(scope, { version: 1, createdAt: now, updatedAt: now, data: JSON.parse(prepared.json) });
  }

  async update(scope: string, id: string, value: T, expectedVersion: number): Promise<Stored<T>> {
    this.context.assertOpen();
    checkScope(this.plan, scope);
    checkVersion(expectedVersion, '/expectedVersion');
    const prepared = prepareValue(this.spec, this.plan, value);
    if (prepared.id !== id) {
      throw invalid(`invalid ${this.plan.name} record`, '/id', 'must equal the id of the record being updated');
    }
    const now = this.context.now();
    const createdAt = await this.backend.update(scope, prepared, expectedVersion, now);
    return this.toStored(scope, {
      version: expectedVersion + 1,
      createdAt,
      updatedAt: now,
      data: JSON.parse(prepared.json),
    });
  }

  async delete(scope: string, id: string, expectedVersion?: number): Promise<void> {
    this.context.assertOpen();
    checkScope(this.plan, scope);
    if (expectedVersion !== undefined) checkVersion(expectedVersion, '/expectedVersion');
    if (!isStorableId(id)) throw new NotFoundError(`${this.plan.name} record`);
    await this.backend.delete(scope, id, expectedVersion);
  }

  async deleteMany(scope: string, where?: Filter<T>): Promise<number> {
    this.context.assertOpen();
    checkScope(this.plan, scope);
    const filter = normalizeFilter(this.plan, where);
    return filter === null ? 0 : this.backend.deleteMany(scope, filter);
  }

  private toStored(scope: string, raw: RawRecord): Stored<T> {
    const record = raw.data as Record<string, unknown>;
    record['tenantId'] = scope;
    record['version'] = raw.version;
    record['createdAt'] = raw.createdAt;
    record['updatedAt'] = raw.updatedAt;
    return record as unknown as Stored<T>;
  }
}

function checkVersion(version: number, path: string): void {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw invalid('invalid version', path, 'must be a positive integer');
  }
}

/** The `assertOpen` of a store that is closed. */
export function closedStoreError(driver: string): UnavailableError {
  return new UnavailableError(`${driver} store (closed)`);
}
