import type mongoose from 'mongoose';
import { UnavailableError, VersionConflictError } from '@wallet/domain';
import { isPlaintextTag, likeToRegExp, type WqlNode } from '@wallet/wql';
import { randomUUID } from 'node:crypto';
import type { PageRequest } from '../collection-plan';
import { createIndexesOneByOne } from '../drivers/mongodb-indexes';
import type { VaultBackend, VaultDecision, VaultRow, VaultRowDraft } from './vault-service';
import type { VaultOwner, VaultUsage } from './vault-ports';

type Db = mongoose.mongo.Db;
type Document = mongoose.mongo.Document;

interface RecordDoc {
  /** `<tenant>|<user>|<id>`: tenant ids and user ids never contain `|`. */
  _id: string;
  scope: string;
  user: string;
  id: string;
  category: string;
  blob: string | null;
  /** Tags as pairs: names may contain `.` or start with `~`, which a field name could not. */
  tags: Array<{ n: string; v: string }>;
  /** `JSON.stringify([name, value])` of every tag: equality and `$in` are one multikey index lookup. */
  tagKeys: string[];
  tagNames: string[];
  /** Plaintext (`~`) tags as fields `<hex of name>: value`, for range and `$like` (FerretDB v1 has no `$elemMatch` on fields). */
  plain: Record<string, string>;
  version: number;
  seq: number;
  deleted: boolean;
  size: number;
  updatedAt: string;
  /** Set while an import that wrote this record is not yet complete. */
  importBatch?: string;
}

interface UsageDoc {
  _id: string;
  /** The owner's last seq (authoritative while no lock is stale; recomputed when one is broken). */
  seq: number;
  records: number;
  bytes: number;
  /** The highest seq of a purged tombstone (absent: none). */
  purgedSeq?: number;
}

interface OwnerState extends VaultUsage {
  seq: number;
  purgedSeq: number;
}

interface LockDoc {
  _id: string;
  token: string;
  at: Date;
  importBatch?: string;
}

export interface MongoVaultOptions {
  /**
   * A lock older than this is taken to belong to a crashed writer and may be
   * broken (default 5 s; a write holds it for a few round trips). A writer
   * that stalls longer loses: its record write is conditional and the seq
   * index is unique.
   */
  lockTimeoutMs?: number;
  /** How long a writer waits for the owner's lock before failing with `UnavailableError` (default 10 s). */
  lockWaitMs?: number;
}

/**
 * The vault on a MongoDB wire-protocol server. FerretDB v1 has neither
 * multi-document transactions nor atomic filtered updates (see the claims in
 * `mongodb-store.ts`); inserting a document with a given `_id` is atomic
 * everywhere, so every write takes a per-owner lock by inserting
 * `vault_locks/<tenant>|<user>`. Under the lock the writer reads the record
 * and the owner's state (last seq, records, bytes), decides, writes the
 * record with seq + 1 and then the state, and deletes the lock: writes of one
 * owner are serialised and their seqs become visible in order (a unique index
 * on seq backs this up). A write that fails half-way keeps the lock; a lock
 * older than `lockTimeoutMs` is broken (by one breaker, guarded by another
 * insert), and the breaker recomputes the state from the records and removes
 * the records of an import that did not finish.
 *
 * Queries are MongoDB query documents over `tagKeys` / `tagNames` (indexed,
 * multikey) and, for range and `$like` on `~` tags, on `plain.<hex name>`.
 */
export class MongoVaultBackend implements VaultBackend {
  private readonly records: mongoose.mongo.Collection<RecordDoc>;
  private readonly usageDocs: mongoose.mongo.Collection<UsageDoc>;
  private readonly locks: mongoose.mongo.Collection<LockDoc>;
  private readonly lockTimeoutMs: number;
  private readonly lockWaitMs: number;
  private ready: Promise<void> | null = null;

  constructor(
    db: Db,
    private readonly call: <R>(operation: () => Promise<R>) => Promise<R>,
    options: MongoVaultOptions = {},
  ) {
    this.records = db.collection<RecordDoc>('vault_records');
    this.usageDocs = db.collection<UsageDoc>('vault_users');
    this.locks = db.collection<LockDoc>('vault_locks');
    this.lockTimeoutMs = options.lockTimeoutMs ?? 5_000;
    this.lockWaitMs = options.lockWaitMs ?? 10_000;
  }

  async get(owner: VaultOwner, id: string): Promise<VaultRow | null> {
    await this.ensureIndexes();
    const doc = await this.call(() => this.records.findOne({ _id: key(owner, id) }));
    return doc ? toRow(doc) : null;
  }

  async write(owner: VaultOwner, id: string, decide: VaultDecision): Promise<VaultRow> {
    await this.ensureIndexes();
    return this.locked(owner, undefined, async (poison) => {
      const [current, state] = await Promise.all([this.get(owner, id), this.state(owner)]);
      const draft = decide(current, { records: state.records, bytes: state.bytes });
      const row: VaultRow = { ...draft, tags: { ...draft.tags }, seq: state.seq + 1 };
      // From here on a failure may leave the record written and the state behind: keep the lock,
      // so that whoever breaks it recomputes the state from the records.
      poison();
      await this.putRecord(owner, current, row);
      await this.saveState(owner, {
        purgedSeq: state.purgedSeq,
        seq: row.seq,
        records: state.records + (row.deleted ? 0 : 1) - (current && !current.deleted ? 1 : 0),
        bytes: state.bytes + row.size - (current?.size ?? 0),
      });
      return row;
    });
  }

  /**
   * Writes the row only over the exact row that was read (an insert when there
   * was none, atomic by `_id`): the lock already excludes other writers; this
   * also stops a writer that stalled past its lock from overwriting a newer row.
   */
  private async putRecord(owner: VaultOwner, current: VaultRow | null, row: VaultRow): Promise<void> {
    const doc = toDoc(owner, row);
    if (!current) {
      try {
        await this.call(() => this.records.insertOne(doc));
        return;
      } catch (error) {
        if (isDuplicateKey(error)) throw new VersionConflictError('vault', row.version - 1, null, { cause: error });
        throw error;
      }
    }
    const result = await this.call(() => this.records.replaceOne({ _id: doc._id, seq: current.seq }, doc));
    if (result.matchedCount !== 1) throw new VersionConflictError('vault', current.version, null);
  }

  async find(owner: VaultOwner, query: WqlNode | null, category: string | null, page: PageRequest): Promise<VaultRow[]> {
    await this.ensureIndexes();
    const filter: Document = {
      scope: owner.tenantId,
      user: owner.userId,
      deleted: false,
      _id: { $gt: key(owner, page.afterId), $lt: `${owner.tenantId}|${owner.userId}}` },
    };
    if (category !== null) filter['category'] = category;
    if (query !== null) filter['$and'] = [toMongo(query)];
    const docs = await this.call(() => this.records.find(filter).sort({ _id: 1 }).limit(page.limit).toArray());
    return docs.map(toRow);
  }

  async changes(owner: VaultOwner, since: number, limit: number): Promise<VaultRow[]> {
    await this.ensureIndexes();
    const docs = await this.call(() =>
      this.records
        .find({ scope: owner.tenantId, user: owner.userId, seq: { $gt: since } })
        .sort({ seq: 1 })
        .limit(limit)
        .toArray(),
    );
    // Writes of one owner are serialised by the lock, so seq n+1 is never visible before seq n.
    return docs.map(toRow);
  }

  async usage(owner: VaultOwner): Promise<VaultUsage> {
    const { records, bytes } = await this.state(owner);
    return { records, bytes };
  }

  private async state(owner: VaultOwner): Promise<OwnerState> {
    const doc = await this.call(() => this.usageDocs.findOne({ _id: ownerKey(owner) }));
    return { seq: doc?.seq ?? 0, records: doc?.records ?? 0, bytes: doc?.bytes ?? 0, purgedSeq: doc?.purgedSeq ?? 0 };
  }

  async importAll(owner: VaultOwner, drafts: readonly VaultRowDraft[]): Promise<boolean> {
    await this.ensureIndexes();
    const batch = randomUUID();
    return this.locked(owner, batch, async (poison) => {
      const state = await this.state(owner);
      if (state.records > 0) return false;
      let seq = state.seq;
      const existing = new Map<string, number>();
      for (const doc of await this.call(() =>
        this.records.find({ scope: owner.tenantId, user: owner.userId }, { projection: { id: 1, version: 1 } }).toArray(),
      )) {
        existing.set(doc.id, doc.version);
      }
      poison();
      try {
        const operations = drafts.map((draft) => {
          const row: VaultRow = { ...draft, version: (existing.get(draft.id) ?? 0) + 1, seq: ++seq };
          return {
            replaceOne: { filter: { _id: key(owner, draft.id) }, replacement: { ...toDoc(owner, row), importBatch: batch }, upsert: true },
          };
        });
        for (let i = 0; i < operations.length; i += 500) {
          const chunk = operations.slice(i, i + 500);
          await this.call(() => this.records.bulkWrite(chunk, { ordered: true }));
        }
        await this.saveState(owner, {
          seq,
          records: drafts.length,
          bytes: drafts.reduce((sum, d) => sum + d.size, 0),
          purgedSeq: state.purgedSeq,
        });
        await this.call(() =>
          this.records.updateMany({ scope: owner.tenantId, user: owner.userId, importBatch: batch }, { $unset: { importBatch: '' } }),
        );
      } catch (error) {
        // Undo what was written; if even that fails, the lock stays and its breaker undoes it.
        await this.rollbackImport(owner, batch);
        poison(false);
        throw error;
      }
      return true;
    });
  }

  private async rollbackImport(owner: VaultOwner, batch: string): Promise<void> {
    await this.call(() => this.records.deleteMany({ scope: owner.tenantId, user: owner.userId, importBatch: batch }));
    await this.recomputeState(owner);
  }

  async horizon(owner: VaultOwner): Promise<number> {
    return (await this.state(owner)).purgedSeq;
  }

  async purgeTombstones(before: string, limit: number): Promise<number> {
    await this.ensureIndexes();
    const docs = await this.call(() =>
      this.records
        .find({ deleted: true, updatedAt: { $lt: before } }, { projection: { scope: 1, user: 1, seq: 1 } })
        .limit(limit)
        .toArray(),
    );
    const byOwner = new Map<string, { owner: VaultOwner; ids: string[]; maxSeq: number }>();
    for (const doc of docs) {
      const ownerKeyText = `${doc.scope}|${doc.user}`;
      const entry = byOwner.get(ownerKeyText) ?? { owner: { tenantId: doc.scope, userId: doc.user }, ids: [], maxSeq: 0 };
      entry.ids.push(doc._id);
      entry.maxSeq = Math.max(entry.maxSeq, doc.seq);
      byOwner.set(ownerKeyText, entry);
    }
    let removed = 0;
    for (const { owner, ids, maxSeq } of byOwner.values()) {
      removed += await this.locked(owner, undefined, async () => {
        // The horizon goes up before the tombstones go (see VaultService.changes).
        const state = await this.state(owner);
        await this.saveState(owner, { ...state, purgedSeq: Math.max(state.purgedSeq, maxSeq) });
        // Only rows still tombstones at that seq: a record re-created meanwhile stays.
        const result = await this.call(() => this.records.deleteMany({ _id: { $in: ids }, deleted: true, seq: { $lte: maxSeq } }));
        return result.deletedCount;
      });
    }
    return removed;
  }

  async eraseOwner(owner: VaultOwner): Promise<number> {
    await this.ensureIndexes();
    return this.locked(owner, undefined, async (poison) => {
      const state = await this.state(owner);
      // A failure half-way keeps the lock: its breaker recomputes the state from what is left, and a repeat erases that.
      poison();
      await this.call(() => this.records.deleteMany({ scope: owner.tenantId, user: owner.userId }));
      await this.call(() => this.usageDocs.deleteOne({ _id: ownerKey(owner) }));
      // The markers of locks broken in the past (`<owner>|break|<token>`) name the owner too.
      const broken = `${ownerKey(owner)}|break|`;
      await this.call(() => this.locks.deleteMany({ _id: { $gte: broken, $lt: `${broken}~` } }));
      return state.records;
    });
  }

  /** The highest seq of the owner's records (a scan: only when a lock is broken). */
  private async lastSeq(owner: VaultOwner): Promise<number> {
    const [last] = await this.call(() =>
      this.records
        .find({ scope: owner.tenantId, user: owner.userId }, { projection: { seq: 1 } })
        .sort({ seq: -1 })
        .limit(1)
        .toArray(),
    );
    return last?.seq ?? 0;
  }

  private async saveState(owner: VaultOwner, state: OwnerState): Promise<void> {
    await this.call(() => this.usageDocs.replaceOne({ _id: ownerKey(owner) }, { ...state }, { upsert: true }));
  }

  /** Recounts seq, records and bytes from the records themselves (after a broken lock or a rolled-back import). */
  private async recomputeState(owner: VaultOwner): Promise<void> {
    const docs = await this.call(() =>
      this.records.find({ scope: owner.tenantId, user: owner.userId, deleted: false }, { projection: { size: 1 } }).toArray(),
    );
    const [seq, previous] = await Promise.all([this.lastSeq(owner), this.state(owner)]);
    await this.saveState(owner, {
      seq: Math.max(seq, previous.seq),
      records: docs.length,
      bytes: docs.reduce((sum, doc) => sum + doc.size, 0),
      purgedSeq: previous.purgedSeq,
    });
  }

  /** Runs `work` holding the owner's lock (see the class comment). */
  private async locked<R>(
    owner: VaultOwner,
    importBatch: string | undefined,
    work: (dirty: (isDirty?: boolean) => void) => Promise<R>,
  ): Promise<R> {
    const _id = ownerKey(owner);
    const token = randomUUID();
    const deadline = Date.now() + this.lockWaitMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.call(() => this.locks.insertOne({ _id, token, at: new Date(), ...(importBatch ? { importBatch } : {}) }));
        break;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      const held = await this.call(() => this.locks.findOne({ _id }));
      if (held && Date.now() - held.at.getTime() > this.lockTimeoutMs) {
        await this.breakLock(owner, held);
        continue;
      }
      if (Date.now() > deadline) throw new UnavailableError('the vault (another write of this user is stuck)');
      await new Promise((resolve) => setTimeout(resolve, Math.min(2 + attempt * 2, 25)));
    }
    let poisoned = false;
    let failed = false;
    try {
      return await work((isDirty = true) => {
        poisoned = isDirty;
      });
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // A write that failed half-way keeps the lock: its breaker repairs the owner's state.
      if (!(failed && poisoned)) await this.locks.deleteOne({ _id, token }).catch(() => undefined);
    }
  }

  private async breakLock(owner: VaultOwner, held: LockDoc): Promise<void> {
    try {
      await this.call(() => this.locks.insertOne({ _id: `${held._id}|break|${held.token}`, token: held.token, at: new Date() }));
    } catch (error) {
      if (isDuplicateKey(error)) return;
      throw error;
    }
    if (held.importBatch) await this.rollbackImport(owner, held.importBatch);
    else await this.recomputeState(owner);
    await this.call(() => this.locks.deleteOne({ _id: held._id, token: held.token }));
  }

  private ensureIndexes(): Promise<void> {
    this.ready ??= this.createIndexes().catch((error: unknown) => {
      this.ready = null;
      throw error;
    });
    return this.ready;
  }

  private async createIndexes(): Promise<void> {
    // One index per command (FerretDB v1, see mongodb-store.ts).
    const specs: Array<{ key: Record<string, 1>; name: string; unique?: true }> = [
      // Unique: two writes can never share a seq (a stalled writer past its lock loses instead).
      { key: { scope: 1, user: 1, seq: 1 }, name: 'vault_seq', unique: true },
      { key: { scope: 1, user: 1, category: 1, _id: 1 }, name: 'vault_category' },
      { key: { scope: 1, user: 1, tagKeys: 1 }, name: 'vault_tag_keys' },
      { key: { scope: 1, user: 1, tagNames: 1 }, name: 'vault_tag_names' },
      { key: { deleted: 1, updatedAt: 1 }, name: 'vault_tombstones' },
    ];
    await createIndexesOneByOne(specs, (spec) => this.call(() => this.records.createIndexes([spec])));
  }
}

/** A WQL node as a MongoDB query document (values are always data, never operators). */
function toMongo(node: WqlNode): Document {
  const pair = (name: string, value: string) => JSON.stringify([name, value]);
  switch (node.op) {
    case 'and':
      return node.clauses.length === 0 ? {} : { $and: node.clauses.map(toMongo) };
    case 'or':
      return node.clauses.length === 0 ? { _id: { $in: [] } } : { $or: node.clauses.map(toMongo) };
    case 'not':
      return { $nor: [toMongo(node.clause)] };
    case 'exist':
      return { $and: node.names.map((name) => ({ tagNames: name })) };
    case 'in':
      return { tagKeys: { $in: node.values.map((value) => pair(node.name, value)) } };
    case 'eq':
      return { tagKeys: pair(node.name, node.value) };
    case 'neq':
      // One value per name: "has the name and not this pair".
      return { $and: [{ tagNames: node.name }, { tagKeys: { $ne: pair(node.name, node.value) } }] };
    case 'like':
      return { [`plain.${plainField(node.name)}`]: { $regex: likeToRegExp(node.value).source } };
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return { [`plain.${plainField(node.name)}`]: { [`$${node.op}`]: node.value } };
  }
}

/** A `~` tag name as a field name: hex never contains `.` or starts with `$`. */
function plainField(name: string): string {
  return `h${Buffer.from(name, 'utf8').toString('hex')}`;
}

function ownerKey(owner: VaultOwner): string {
  return `${owner.tenantId}|${owner.userId}`;
}

function key(owner: VaultOwner, id: string): string {
  return `${owner.tenantId}|${owner.userId}|${id}`;
}

function toDoc(owner: VaultOwner, row: VaultRow): RecordDoc {
  const entries = Object.entries(row.tags);
  return {
    _id: key(owner, row.id),
    scope: owner.tenantId,
    user: owner.userId,
    id: row.id,
    category: row.category,
    blob: row.blob,
    tags: entries.map(([n, v]) => ({ n, v })),
    tagKeys: entries.map(([n, v]) => JSON.stringify([n, v])),
    tagNames: entries.map(([n]) => n),
    plain: Object.fromEntries(entries.filter(([n]) => isPlaintextTag(n)).map(([n, v]) => [plainField(n), v])),
    version: row.version,
    seq: row.seq,
    deleted: row.deleted,
    size: row.size,
    updatedAt: row.updatedAt,
  };
}

function toRow(doc: RecordDoc): VaultRow {
  return {
    id: doc.id,
    category: doc.category,
    blob: doc.blob,
    tags: Object.fromEntries(doc.tags.map(({ n, v }) => [n, v])),
    version: doc.version,
    seq: doc.seq,
    deleted: doc.deleted,
    size: doc.size,
    updatedAt: doc.updatedAt,
  };
}

function isDuplicateKey(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  if ((error as { code?: unknown }).code === 11000) return true;
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && /UNIQUE constraint failed|duplicate key/i.test(message);
}
