import { NotFoundError, UniqueViolationError, VersionConflictError } from '@wallet/domain';
import { BaseStore } from '../base-store';
import type { CollectionPlan, NormalizedFilter, PageRequest, PreparedValue } from '../collection-plan';
import type { CollectionBackend, RawRecord } from '../generic-repository';
import type { StoreDeps } from '../ports';
import { MemoryVaultBackend } from '../vault/memory-vault';
import type { VaultBackend } from '../vault/vault-service';

/**
 * In-process store for tests and single-process development. Records are kept
 * as JSON text, so every read returns a fresh copy, exactly as the SQLite
 * driver does; nothing survives the process.
 */
export class MemoryStore extends BaseStore {
  readonly driver = 'memory' as const;

  constructor(deps: StoreDeps = {}) {
    super(deps);
  }

  protected openCollection(plan: CollectionPlan): CollectionBackend {
    return new MemoryCollection(plan);
  }

  protected openVault(): VaultBackend {
    return new MemoryVaultBackend();
  }

  async ping(): Promise<void> {
    this.context.assertOpen();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

interface MemoryRecord {
  id: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  json: string;
  /** Parsed once for filtering; never handed out. */
  data: Readonly<Record<string, unknown>>;
}

interface MemoryScope {
  records: Map<string, MemoryRecord>;
  /** Per unique index: key of the indexed values -> record id. */
  unique: Map<string, Map<string, string>>;
}

class MemoryCollection implements CollectionBackend {
  private readonly scopes = new Map<string, MemoryScope>();
  private readonly uniqueIndexes;

  constructor(private readonly plan: CollectionPlan) {
    this.uniqueIndexes = plan.indexes.filter((index) => index.unique);
  }

  get(scope: string, id: string): RawRecord | null {
    const record = this.scopes.get(scope)?.records.get(id);
    return record ? toRaw(record) : null;
  }

  find(scope: string, filter: NormalizedFilter, page: PageRequest): RawRecord[] {
    const records = this.scopes.get(scope)?.records;
    if (!records) return [];
    const ids = [...records.keys()].filter((id) => id > page.afterId).sort();
    const out: RawRecord[] = [];
    for (const id of ids) {
      const record = records.get(id) as MemoryRecord;
      if (!matches(record, filter)) continue;
      out.push(toRaw(record));
      if (out.length >= page.limit) break;
    }
    return out;
  }

  count(scope: string, filter: NormalizedFilter): number {
    let n = 0;
    for (const record of this.scopes.get(scope)?.records.values() ?? []) if (matches(record, filter)) n++;
    return n;
  }

  insert(scope: string, value: PreparedValue, now: string): void {
    const space = this.scope(scope);
    if (space.records.has(value.id)) throw new UniqueViolationError(this.plan.name, ['id']);
    const data = JSON.parse(value.json) as Record<string, unknown>;
    const keys = this.uniqueKeys(space, data, null);
    const record: MemoryRecord = { id: value.id, version: 1, createdAt: now, updatedAt: now, json: value.json, data };
    space.records.set(value.id, record);
    keys.forEach((key, i) => space.unique.get((this.uniqueIndexes[i] as { name: string }).name)?.set(key, value.id));
  }

  update(scope: string, value: PreparedValue, expectedVersion: number, now: string): string {
    const space = this.scope(scope);
    const current = space.records.get(value.id);
    if (!current) throw new NotFoundError(`${this.plan.name} record`);
    if (current.version !== expectedVersion) {
      throw new VersionConflictError(this.plan.name, expectedVersion, current.version);
    }
    const data = JSON.parse(value.json) as Record<string, unknown>;
    const keys = this.uniqueKeys(space, data, value.id);
    this.unindex(space, current);
    space.records.set(value.id, {
      id: value.id,
      version: current.version + 1,
      createdAt: current.createdAt,
      updatedAt: now,
      json: value.json,
      data,
    });
    keys.forEach((key, i) => space.unique.get((this.uniqueIndexes[i] as { name: string }).name)?.set(key, value.id));
    return current.createdAt;
  }

  delete(scope: string, id: string, expectedVersion: number | undefined): void {
    const space = this.scopes.get(scope);
    const current = space?.records.get(id);
    if (!space || !current) throw new NotFoundError(`${this.plan.name} record`);
    if (expectedVersion !== undefined && current.version !== expectedVersion) {
      throw new VersionConflictError(this.plan.name, expectedVersion, current.version);
    }
    this.unindex(space, current);
    space.records.delete(id);
  }

  deleteMany(scope: string, filter: NormalizedFilter): number {
    const space = this.scopes.get(scope);
    if (!space) return 0;
    let n = 0;
    for (const record of [...space.records.values()]) {
      if (!matches(record, filter)) continue;
      this.unindex(space, record);
      space.records.delete(record.id);
      n++;
    }
    return n;
  }

  private scope(scope: string): MemoryScope {
    let space = this.scopes.get(scope);
    if (!space) {
      space = { records: new Map(), unique: new Map(this.uniqueIndexes.map((index) => [index.name, new Map()])) };
      this.scopes.set(scope, space);
    }
    return space;
  }

  /** The unique-index keys of `data`; throws when one belongs to a record other than `self`. */
  private uniqueKeys(space: MemoryScope, data: Record<string, unknown>, self: string | null): string[] {
    return this.uniqueIndexes.map((index) => {
      const key = JSON.stringify(index.fields.map((field) => data[field] ?? null));
      const owner = space.unique.get(index.name)?.get(key);
      if (owner !== undefined && owner !== self) throw new UniqueViolationError(this.plan.name, index.fields);
      return key;
    });
  }

  private unindex(space: MemoryScope, record: MemoryRecord): void {
    for (const index of this.uniqueIndexes) {
      const key = JSON.stringify(index.fields.map((field) => record.data[field] ?? null));
      const map = space.unique.get(index.name);
      if (map?.get(key) === record.id) map.delete(key);
    }
  }
}

function matches(record: MemoryRecord, filter: NormalizedFilter): boolean {
  for (const [field, value] of filter) if ((record.data[field] ?? null) !== value) return false;
  return true;
}

function toRaw(record: MemoryRecord): RawRecord {
  return {
    version: record.version,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    data: JSON.parse(record.json) as Record<string, unknown>,
  };
}
