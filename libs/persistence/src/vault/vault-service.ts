import {
  LimitExceededError,
  NotFoundError,
  pointerSegment,
  PreconditionFailedError,
  RefusalError,
  TENANT_ID_PATTERN,
  UniqueViolationError,
  ValidationError,
  VersionConflictError,
  type ValidationIssue,
} from '@wallet/domain';
import { isPlaintextTag, type WqlNode } from '@wallet/wql';
import { encodeCursor, invalid, isStorableId, normalizePage, type PageRequest } from '../collection-plan';
import type { StoreContext } from '../generic-repository';
import type { Page } from '../ports';
import type {
  VaultChange,
  VaultChanges,
  VaultLimits,
  VaultListOptions,
  VaultOwner,
  VaultRecord,
  VaultRecordInput,
  VaultStore,
  VaultUsage,
} from './vault-ports';

type MaybePromise<T> = T | Promise<T>;

/** A row as the drivers keep it: live or tombstone (`blob` null, no tags). */
export interface VaultRow {
  id: string;
  category: string;
  blob: string | null;
  tags: Record<string, string>;
  version: number;
  seq: number;
  deleted: boolean;
  /** Bytes counted against the owner's quota (0 for a tombstone). */
  size: number;
  updatedAt: string;
}

/** The row a write produces; the backend assigns `seq`. */
export type VaultRowDraft = Omit<VaultRow, 'seq'>;

/**
 * Decides a write from the current row and usage, inside the backend's
 * exclusive section for the owner: returns the new row, or throws (conflict,
 * limit) so that nothing is written.
 */
export type VaultDecision = (current: VaultRow | null, usage: VaultUsage) => VaultRowDraft;

/**
 * What a driver implements. Arguments are validated; a driver must make
 * `write` and `importAll` exclusive per owner and give every write the next
 * `seq` of the owner, committed in `seq` order, so that a sync reader never
 * sees seq n+1 before seq n.
 */
export interface VaultBackend {
  get(owner: VaultOwner, id: string): MaybePromise<VaultRow | null>;
  write(owner: VaultOwner, id: string, decide: VaultDecision): MaybePromise<VaultRow>;
  /** Live rows, `id > afterId`, ordered by id, optionally one category, matching `query` when given. */
  find(owner: VaultOwner, query: WqlNode | null, category: string | null, page: PageRequest): MaybePromise<VaultRow[]>;
  /** Rows (tombstones included) with `seq > since`, ordered by seq. */
  changes(owner: VaultOwner, since: number, limit: number): MaybePromise<VaultRow[]>;
  usage(owner: VaultOwner): MaybePromise<VaultUsage>;
  /**
   * Atomically: if the owner has no live row, stores `rows` (each with the next
   * seq; over tombstones of the same id) and returns true; else stores
   * nothing and returns false.
   */
  importAll(owner: VaultOwner, rows: readonly VaultRowDraft[]): MaybePromise<boolean>;
  /** The highest seq of a purged tombstone of the owner (0: none); raised before the tombstones go. */
  horizon(owner: VaultOwner): MaybePromise<number>;
  /** See `VaultStore.purgeTombstones`. */
  purgeTombstones(before: string, limit: number): MaybePromise<number>;
  /**
   * See `VaultStore.eraseOwner`: every row of the owner and its state, exclusive
   * with the owner's writes; returns the live records the state counted.
   */
  eraseOwner(owner: VaultOwner): MaybePromise<number>;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const SINCE = /^(0|[1-9][0-9]{0,14})$/;
/** A tag name must not look like a WQL operator. */
const TAG_NAME = /^[^$]/;

/** The one `VaultStore`: validation, limits and cursors here, storage in the backend. */
export class VaultService implements VaultStore {
  constructor(
    private readonly backend: VaultBackend,
    readonly limits: Readonly<VaultLimits>,
    private readonly context: StoreContext,
  ) {}

  async get(owner: VaultOwner, id: string): Promise<VaultRecord | null> {
    this.owner(owner);
    if (!isStorableId(id)) return null;
    const row = await this.backend.get(owner, id);
    return row && !row.deleted ? toRecord(row) : null;
  }

  async create(owner: VaultOwner, input: VaultRecordInput): Promise<VaultRecord> {
    this.owner(owner);
    const draft = this.prepare(input);
    const now = this.context.now();
    const row = await this.backend.write(owner, draft.id, (current, usage) => {
      if (current && !current.deleted) throw new UniqueViolationError('vault', ['id']);
      this.checkQuota(usage, 1, draft.size);
      return { ...draft, version: (current?.version ?? 0) + 1, updatedAt: now };
    });
    return toRecord(row);
  }

  async replace(owner: VaultOwner, input: VaultRecordInput, expectedVersion: number): Promise<VaultRecord> {
    this.owner(owner);
    checkVersion(expectedVersion);
    const draft = this.prepare(input);
    const now = this.context.now();
    const row = await this.backend.write(owner, draft.id, (current, usage) => {
      if (!current || current.deleted) throw new NotFoundError('vault record');
      if (current.version !== expectedVersion) throw new VersionConflictError('vault', expectedVersion, current.version);
      this.checkQuota(usage, 0, draft.size - current.size);
      return { ...draft, version: current.version + 1, updatedAt: now };
    });
    return toRecord(row);
  }

  async delete(owner: VaultOwner, id: string, expectedVersion?: number): Promise<void> {
    this.owner(owner);
    if (expectedVersion !== undefined) checkVersion(expectedVersion);
    if (!isStorableId(id)) throw new NotFoundError('vault record');
    const now = this.context.now();
    await this.backend.write(owner, id, (current) => {
      if (!current || current.deleted) throw new NotFoundError('vault record');
      if (expectedVersion !== undefined && current.version !== expectedVersion) {
        throw new VersionConflictError('vault', expectedVersion, current.version);
      }
      return {
        id,
        category: current.category,
        blob: null,
        tags: {},
        version: current.version + 1,
        deleted: true,
        size: 0,
        updatedAt: now,
      };
    });
  }

  async list(owner: VaultOwner, options: VaultListOptions = {}): Promise<Page<VaultRecord>> {
    return this.find(owner, null, options);
  }

  async query(owner: VaultOwner, query: WqlNode, options: VaultListOptions = {}): Promise<Page<VaultRecord>> {
    return this.find(owner, query, options);
  }

  async changes(owner: VaultOwner, since: string | null, limit = 100): Promise<VaultChanges> {
    this.owner(owner);
    if (since !== null && (typeof since !== 'string' || !SINCE.test(since))) {
      throw invalid('invalid sync cursor', '/since', 'not a cursor returned by sync');
    }
    const page = normalizePage({ limit });
    const after = since === null ? 0 : Number(since);
    const rows = await this.backend.changes(owner, after, page.limit + 1);
    // Checked after the read: a purge raises the horizon before it deletes, so a tombstone
    // missing from what was read shows up here. A cursor of 0 has nothing to delete.
    if (after > 0 && after < (await this.backend.horizon(owner))) {
      throw new RefusalError('precondition_failed', 'sync_cursor_expired', 'the sync cursor is older than the kept deletions: sync again from the start', {
        details: { resync: true },
      });
    }
    const hasMore = rows.length > page.limit;
    const changes = rows.slice(0, page.limit).map(toChange);
    const last = changes.at(-1);
    return { changes, cursor: String(last ? last.seq : after), hasMore };
  }

  async purgeTombstones(before: string, limit = 1000): Promise<number> {
    if (typeof before !== 'string' || Number.isNaN(Date.parse(before))) throw invalid('invalid cutoff', '/before', 'must be an ISO 8601 time');
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) throw invalid('invalid limit', '/limit', 'must be 1-10000');
    return this.backend.purgeTombstones(new Date(before).toISOString(), limit);
  }

  async eraseOwner(owner: VaultOwner): Promise<number> {
    this.owner(owner);
    return this.backend.eraseOwner(owner);
  }

  async usage(owner: VaultOwner): Promise<VaultUsage> {
    this.owner(owner);
    return this.backend.usage(owner);
  }

  async *exportRecords(owner: VaultOwner, pageSize = 500): AsyncIterable<VaultRecord> {
    let cursor: string | undefined;
    do {
      const page = await this.list(owner, { limit: pageSize, ...(cursor ? { cursor } : {}) });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  async importRecords(owner: VaultOwner, records: readonly VaultRecordInput[]): Promise<{ imported: number }> {
    this.owner(owner);
    if (!Array.isArray(records)) throw invalid('invalid import', '/records', 'must be an array');
    if (records.length > this.limits.maxRecordsPerUser) {
      throw new LimitExceededError('maxRecordsPerUser', this.limits.maxRecordsPerUser, `a vault holds at most ${this.limits.maxRecordsPerUser} records`);
    }
    const now = this.context.now();
    const ids = new Set<string>();
    let bytes = 0;
    const rows = records.map((input, i) => {
      const draft = this.prepare(input, `/records/${i}`);
      if (ids.has(draft.id)) throw invalid('invalid import', `/records/${i}/id`, 'duplicate id');
      ids.add(draft.id);
      bytes += draft.size;
      return { ...draft, version: 1, updatedAt: now };
    });
    if (bytes > this.limits.maxBytesPerUser) {
      throw new LimitExceededError('maxBytesPerUser', this.limits.maxBytesPerUser, `a vault holds at most ${this.limits.maxBytesPerUser} bytes`);
    }
    if (!(await this.backend.importAll(owner, rows))) {
      throw new PreconditionFailedError('import needs an empty vault: this one has records');
    }
    return { imported: rows.length };
  }

  private async find(owner: VaultOwner, query: WqlNode | null, options: VaultListOptions): Promise<Page<VaultRecord>> {
    this.owner(owner);
    const page = normalizePage(options);
    let category: string | null = null;
    if (options.category !== undefined) {
      category = options.category;
      this.category(category, '/category');
    }
    const rows = await this.backend.find(owner, query, category, { afterId: page.afterId, limit: page.limit + 1 });
    const items = rows.slice(0, page.limit).map(toRecord);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > page.limit && last ? encodeCursor(last.id) : null };
  }

  private owner(owner: VaultOwner): void {
    if (!owner || typeof owner.tenantId !== 'string' || !TENANT_ID_PATTERN.test(owner.tenantId)) {
      throw invalid('invalid vault owner', '/tenantId', 'must be a tenant id');
    }
    if (!isStorableId(owner.userId)) throw invalid('invalid vault owner', '/userId', 'must be a record id');
  }

  private category(category: unknown, path: string): asserts category is string {
    if (typeof category !== 'string' || category.length === 0 || category.length > this.limits.maxCategoryLength) {
      throw invalid('invalid vault record', path, `must be 1-${this.limits.maxCategoryLength} characters`);
    }
  }

  /** Validates a client record and computes its size. */
  private prepare(input: VaultRecordInput, base = ''): Omit<VaultRowDraft, 'version' | 'updatedAt'> {
    if (input === null || typeof input !== 'object') throw invalid('invalid vault record', base || '/', 'must be an object');
    const issues: ValidationIssue[] = [];
    const { id, category, blob, tags } = input;
    if (!isStorableId(id)) issues.push({ path: `${base}/id`, message: 'must be 1-200 printable ASCII characters without spaces' });
    if (typeof category !== 'string' || category.length === 0 || category.length > this.limits.maxCategoryLength) {
      issues.push({ path: `${base}/category`, message: `must be 1-${this.limits.maxCategoryLength} characters` });
    }
    if (typeof blob !== 'string' || !BASE64URL.test(blob) || blob.length % 4 === 1) {
      issues.push({ path: `${base}/blob`, message: 'must be base64url without padding' });
    }
    let tagBytes = 0;
    if (tags === null || typeof tags !== 'object' || Array.isArray(tags)) {
      issues.push({ path: `${base}/tags`, message: 'must be an object of tag name to string value' });
    } else {
      const names = Object.keys(tags);
      if (names.length > this.limits.maxTagsPerRecord) {
        issues.push({ path: `${base}/tags`, message: `at most ${this.limits.maxTagsPerRecord} tags` });
      }
      for (const name of names.slice(0, this.limits.maxTagsPerRecord + 1)) {
        const path = `${base}/tags/${pointerSegment(name.slice(0, 64))}`;
        const value = tags[name];
        if (name.length === 0 || name.length > this.limits.maxTagNameLength || !TAG_NAME.test(name)) {
          issues.push({ path, message: `a tag name is 1-${this.limits.maxTagNameLength} characters and does not start with "$"` });
        } else if (typeof value !== 'string' || value.length > this.limits.maxTagValueLength) {
          issues.push({ path, message: `a tag value is a string of at most ${this.limits.maxTagValueLength} characters` });
        } else if (!isPlaintextTag(name) && !(BASE64URL.test(name) && BASE64URL.test(value))) {
          // Blinded tags are client ciphertexts; anything else would be stored in clear by mistake.
          issues.push({ path, message: 'a tag whose name does not start with "~" must be blinded (base64url name and value)' });
        } else {
          tagBytes += Buffer.byteLength(name) + Buffer.byteLength(value);
        }
      }
    }
    if (issues.length > 0) throw new ValidationError('invalid vault record', issues);
    const blobBytes = Math.floor((blob.length * 3) / 4);
    if (blobBytes > this.limits.maxBlobBytes) {
      throw new LimitExceededError('maxBlobBytes', this.limits.maxBlobBytes, `a record blob is at most ${this.limits.maxBlobBytes} bytes`);
    }
    return {
      id,
      category,
      blob,
      tags: { ...tags },
      deleted: false,
      size: blobBytes + id.length + category.length + tagBytes,
    };
  }

  private checkQuota(usage: VaultUsage, addRecords: number, addBytes: number): void {
    if (usage.records + addRecords > this.limits.maxRecordsPerUser) {
      throw new LimitExceededError('maxRecordsPerUser', this.limits.maxRecordsPerUser, `a vault holds at most ${this.limits.maxRecordsPerUser} records`);
    }
    if (addBytes > 0 && usage.bytes + addBytes > this.limits.maxBytesPerUser) {
      throw new LimitExceededError('maxBytesPerUser', this.limits.maxBytesPerUser, `a vault holds at most ${this.limits.maxBytesPerUser} bytes`);
    }
  }
}

function checkVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 1) throw invalid('invalid version', '/version', 'must be a positive integer');
}

function toRecord(row: VaultRow): VaultRecord {
  return {
    id: row.id,
    category: row.category,
    blob: row.blob ?? '',
    tags: { ...row.tags },
    version: row.version,
    updatedAt: row.updatedAt,
  };
}

function toChange(row: VaultRow): VaultChange {
  if (row.deleted) {
    return { id: row.id, category: row.category, deleted: true, version: row.version, updatedAt: row.updatedAt, seq: row.seq };
  }
  return { ...toRecord(row), deleted: false, seq: row.seq };
}
