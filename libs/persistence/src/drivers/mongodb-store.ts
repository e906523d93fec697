import mongoose from 'mongoose';
import { NotFoundError, UnavailableError, UniqueViolationError, VersionConflictError } from '@wallet/domain';
import { BaseStore } from '../base-store';
import type { CollectionPlan, NormalizedFilter, PageRequest, PreparedValue } from '../collection-plan';
import type { CollectionBackend, RawRecord } from '../generic-repository';
import type { StoreDeps } from '../ports';
import { MongoVaultBackend } from '../vault/mongodb-vault';
import { createIndexesOneByOne } from './mongodb-indexes';
import type { VaultBackend } from '../vault/vault-service';

export interface MongoStoreOptions {
  uri: string;
  database?: string;
  serverSelectionTimeoutMs?: number;
  claimTimeoutMs?: number;
}

type Db = mongoose.mongo.Db;
type Collection<T extends mongoose.mongo.Document> = mongoose.mongo.Collection<T>;
type Document = mongoose.mongo.Document;
type MongoFilter<T> = mongoose.mongo.Filter<T>;

const DEFAULT_CLAIM_TIMEOUT_MS = 30_000;

/**
 * Store on a MongoDB wire-protocol server (MongoDB, or FerretDB in tests and
 * small deployments) through its own mongoose connection. One collection per
 * spec; a record is `{_id: "<scope>|<id>", scope, version, createdAt,
 * updatedAt, data}`. Scopes never contain `|`, so `_id` is unique per
 * (scope, id) and all ids of a scope share the prefix `<scope>|`, which makes
 * pages a range scan on `_id`. Secondary indexes are `{scope, data.<field>}`.
 *
 * Compare-and-set does not rely on a filtered update: see `claim`.
 */
export class MongoStore extends BaseStore {
  readonly driver = 'mongodb' as const;

  private constructor(
    private readonly connection: mongoose.Connection,
    private readonly db: Db,
    private readonly claimTimeoutMs: number,
    deps: StoreDeps,
  ) {
    super(deps);
  }

  /** Connects and checks the server; rejects with `UnavailableError` when it cannot be reached. */
  static async open(options: MongoStoreOptions, deps: StoreDeps = {}): Promise<MongoStore> {
    const claimTimeoutMs = options.claimTimeoutMs ?? DEFAULT_CLAIM_TIMEOUT_MS;
    if (!Number.isInteger(claimTimeoutMs) || claimTimeoutMs < 1) throw new Error('claimTimeoutMs must be a positive integer');
    const connection = mongoose.createConnection(options.uri, {
      ...(options.database === undefined ? {} : { dbName: options.database }),
      // Fail at once instead of queueing while disconnected; readiness checks rely on it.
      bufferCommands: false,
      autoIndex: false,
      autoCreate: false,
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 5000,
    });
    try {
      await connection.asPromise();
      const db = connection.db;
      if (!db) throw new Error('mongoose connection has no database handle');
      await db.command({ ping: 1 });
      return new MongoStore(connection, db, claimTimeoutMs, deps);
    } catch (error) {
      await connection.close().catch(() => undefined);
      // The message must not echo the URI: it may carry credentials.
      throw new UnavailableError('mongodb store', { cause: error });
    }
  }

  protected openCollection(plan: CollectionPlan): CollectionBackend {
    return new MongoCollection(this.db, plan, this.claimTimeoutMs);
  }

  protected openVault(): VaultBackend {
    const call = async <R>(operation: () => Promise<R>): Promise<R> => {
      try {
        return await operation();
      } catch (error) {
        if (isConnectionError(error)) throw new UnavailableError('mongodb store', { cause: error });
        throw error;
      }
    };
    return new MongoVaultBackend(this.db, call, { lockTimeoutMs: Math.min(this.claimTimeoutMs, 5_000) });
  }

  async ping(): Promise<void> {
    this.context.assertOpen();
    try {
      await this.db.admin().command({ ping: 1 });
    } catch (error) {
      throw new UnavailableError('mongodb store', { cause: error });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.connection.close();
  }
}

interface RecordDoc {
  _id: string;
  scope: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  data: Record<string, unknown>;
}

interface ClaimDoc {
  _id: string;
  at: Date;
}

class MongoCollection implements CollectionBackend {
  private readonly records: Collection<RecordDoc>;
  private readonly claims: Collection<ClaimDoc>;
  private readonly uniqueIndexes;
  private ready: Promise<void> | null = null;
  private isReady = false;

  constructor(
    db: Db,
    private readonly plan: CollectionPlan,
    private readonly claimTimeoutMs: number,
  ) {
    this.records = db.collection<RecordDoc>(plan.name);
    this.claims = db.collection<ClaimDoc>(`${plan.name}__claims`);
    // Longest first: `u__a` must not match the message of a violation of `u__a__b`.
    this.uniqueIndexes = plan.indexes.filter((index) => index.unique).sort((a, b) => b.name.length - a.name.length);
  }

  async get(scope: string, id: string): Promise<RawRecord | null> {
    await this.ensureIndexes();
    const doc = await this.call(() => this.records.findOne({ _id: key(scope, id) }));
    return doc ? toRaw(doc) : null;
  }

  async find(scope: string, filter: NormalizedFilter, page: PageRequest): Promise<RawRecord[]> {
    await this.ensureIndexes();
    const query = this.query(scope, filter);
    // `|` (0x7c) < `}` (0x7d): every `_id` of the scope lies in [scope|, scope}).
    query._id = { $gt: key(scope, page.afterId), $lt: `${scope}}` };
    const docs = await this.call(() => this.records.find(query).sort({ _id: 1 }).limit(page.limit).toArray());
    return docs.map(toRaw);
  }

  async count(scope: string, filter: NormalizedFilter): Promise<number> {
    await this.ensureIndexes();
    return this.call(() => this.records.countDocuments(this.query(scope, filter)));
  }

  async insert(scope: string, value: PreparedValue, now: string): Promise<void> {
    await this.ensureIndexes();
    const doc: RecordDoc = {
      _id: key(scope, value.id),
      scope,
      version: 1,
      createdAt: now,
      updatedAt: now,
      data: JSON.parse(value.json) as Record<string, unknown>,
    };
    try {
      await this.call(() => this.records.insertOne(doc));
    } catch (error) {
      if (isDuplicateKey(error)) throw await this.uniqueViolation(error, doc);
      throw error;
    }
  }

  async update(scope: string, value: PreparedValue, expectedVersion: number, now: string): Promise<string> {
    await this.ensureIndexes();
    const id = key(scope, value.id);
    const data = JSON.parse(value.json) as Record<string, unknown>;
    const claim = await this.claim(id, expectedVersion);
    try {
      const doc = await this.call(() =>
        this.records.findOneAndUpdate(
          { _id: id, version: expectedVersion },
          { $set: { version: expectedVersion + 1, updatedAt: now, data } },
          // No projection: FerretDB v1's findAndModify does not implement `fields`.
          { returnDocument: 'after' },
        ),
      );
      if (doc) return doc.createdAt;
      throw await this.missOrConflict(id, expectedVersion);
    } catch (error) {
      if (isDuplicateKey(error)) {
        throw await this.uniqueViolation(error, { _id: id, scope, version: expectedVersion, createdAt: now, updatedAt: now, data });
      }
      throw error;
    } finally {
      await this.release(claim);
    }
  }

  async delete(scope: string, id: string, expectedVersion: number | undefined): Promise<void> {
    await this.ensureIndexes();
    const _id = key(scope, id);
    if (expectedVersion === undefined) {
      const result = await this.call(() => this.records.deleteOne({ _id }));
      if (result.deletedCount === 0) throw new NotFoundError(`${this.plan.name} record`);
      return;
    }
    const claim = await this.claim(_id, expectedVersion);
    try {
      const result = await this.call(() => this.records.deleteOne({ _id, version: expectedVersion }));
      if (result.deletedCount === 0) throw await this.missOrConflict(_id, expectedVersion);
    } finally {
      await this.release(claim);
    }
  }

  async deleteMany(scope: string, filter: NormalizedFilter): Promise<number> {
    await this.ensureIndexes();
    const result = await this.call(() => this.records.deleteMany(this.query(scope, filter)));
    return result.deletedCount;
  }

  /**
   * Compare-and-set on FerretDB v1 cannot use a filtered update alone: there,
   * `updateOne`/`findOneAndUpdate` with `{version: n}` read and write in two
   * steps, and two racers with the same expected version both succeed (a lost
   * update). Inserting a document with a given `_id` *is* atomic everywhere,
   * so a writer first inserts the claim `<scope>|<id>|<next version>`: only
   * one writer per (record, expected version) gets past this point, and the
   * filtered update that follows cannot race with another one that could
   * match. A writer that finds the claim taken has lost (version conflict).
   *
   * A writer that dies holding a claim would block that version for good, so
   * a claim older than `claimTimeoutMs` may be broken while the record still
   * sits at the expected version. Breaking is itself guarded by an insert:
   * `<claim>|break|<claim time>` — of several writers that find the same stale
   * claim only one may delete it (a conditional delete is not atomic there
   * either). The timeout must exceed the longest possible update; a writer
   * stalled longer than that may lose its exclusivity.
   */
  private async claim(recordId: string, expectedVersion: number): Promise<string> {
    const claimId = `${recordId}|${expectedVersion + 1}`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.call(() => this.claims.insertOne({ _id: claimId, at: new Date() }));
        return claimId;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      const [current, held] = await Promise.all([
        this.call(() => this.records.findOne({ _id: recordId }, { projection: { version: 1 } })),
        this.call(() => this.claims.findOne({ _id: claimId })),
      ]);
      if (!current) throw new NotFoundError(`${this.plan.name} record`);
      if (current.version !== expectedVersion) throw new VersionConflictError(this.plan.name, expectedVersion, current.version);
      // Released in the meantime: try again.
      if (!held) continue;
      if (Date.now() - held.at.getTime() <= this.claimTimeoutMs) break;
      try {
        await this.call(() => this.claims.insertOne({ _id: `${claimId}|break|${held.at.getTime()}`, at: new Date() }));
      } catch (error) {
        if (isDuplicateKey(error)) break;
        throw error;
      }
      await this.call(() => this.claims.deleteOne({ _id: claimId, at: held.at }));
    }
    // Another writer holds the claim for this version and is about to win.
    throw new VersionConflictError(this.plan.name, expectedVersion, null);
  }

  private async release(claimId: string): Promise<void> {
    try {
      await this.claims.deleteOne({ _id: claimId });
    } catch {
      // The write itself is settled; a claim left behind only makes a later
      // writer at this exact version wait for the claim timeout.
    }
  }

  private async missOrConflict(recordId: string, expectedVersion: number): Promise<Error> {
    const current = await this.call(() => this.records.findOne({ _id: recordId }, { projection: { version: 1 } }));
    return current
      ? new VersionConflictError(this.plan.name, expectedVersion, current.version)
      : new NotFoundError(`${this.plan.name} record`);
  }

  /**
   * Names the fields of a duplicate-key error. MongoDB names the index in the
   * message; FerretDB does not always, so fall back to looking for the holder.
   */
  private async uniqueViolation(error: unknown, doc: RecordDoc): Promise<UniqueViolationError> {
    const message = error instanceof Error ? error.message : '';
    const named = this.uniqueIndexes.find((index) => new RegExp(`\\b${index.name}\\b`).test(message));
    if (named) return new UniqueViolationError(this.plan.name, named.fields, { cause: error });
    if (/\b_id_\b/.test(message)) return new UniqueViolationError(this.plan.name, ['id'], { cause: error });
    const fields = await this.findViolatedFields(doc).catch(() => null);
    return new UniqueViolationError(this.plan.name, fields ?? ['id'], { cause: error });
  }

  private async findViolatedFields(doc: RecordDoc): Promise<readonly string[] | null> {
    for (const index of this.uniqueIndexes) {
      const query: MongoFilter<RecordDoc> = { scope: doc.scope, _id: { $ne: doc._id } };
      for (const field of index.fields) (query as Document)[`data.${field}`] = doc.data[field] ?? null;
      if (await this.records.findOne(query, { projection: { _id: 1 } })) return index.fields;
    }
    if (doc.version === 1 && (await this.records.findOne({ _id: doc._id }, { projection: { _id: 1 } }))) return ['id'];
    return null;
  }

  private query(scope: string, filter: NormalizedFilter): MongoFilter<RecordDoc> {
    const query: Document = { scope };
    for (const [field, value] of filter) query[`data.${field}`] = value;
    return query as MongoFilter<RecordDoc>;
  }

  /**
   * Creates the indexes on first use. `createIndexes` with identical
   * definitions is idempotent, so two processes starting together are fine;
   * a failure is retried on the next call instead of being remembered.
   */
  private ensureIndexes(): Promise<void> | void {
    if (this.isReady) return;
    this.ready ??= this.createIndexes().then(
      () => {
        this.isReady = true;
      },
      (error: unknown) => {
        this.ready = null;
        throw error;
      },
    );
    return this.ready;
  }

  private async createIndexes(): Promise<void> {
    if (this.plan.indexes.length === 0) return;
    const specs = this.plan.indexes.map((index) => ({
      key: Object.fromEntries([['scope', 1], ...index.fields.map((field) => [`data.${field}`, 1])]) as Record<string, 1>,
      name: index.name,
      // FerretDB v1 drops the connection when an existing index is re-declared with `unique: false`.
      ...(index.unique ? { unique: true } : {}),
    }));
    // One index per command: FerretDB v1 drops the connection when a single
    // createIndexes re-declares two or more existing indexes.
    await createIndexesOneByOne(specs, (spec) => this.call(() => this.records.createIndexes([spec])));
  }

  private async call<R>(operation: () => Promise<R>): Promise<R> {
    try {
      return await operation();
    } catch (error) {
      if (isConnectionError(error)) throw new UnavailableError('mongodb store', { cause: error });
      throw error;
    }
  }
}

function key(scope: string, id: string): string {
  return `${scope}|${id}`;
}

function toRaw(doc: RecordDoc): RawRecord {
  return { version: doc.version, createdAt: doc.createdAt, updatedAt: doc.updatedAt, data: doc.data };
}

function isDuplicateKey(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  if ((error as { code?: unknown }).code === 11000) return true;
  // FerretDB v1 reports a unique violation during an update as an internal error.
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && /UNIQUE constraint failed|duplicate key/i.test(message);
}

const CONNECTION_ERRORS = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
  'MongoServerClosedError',
  'MongooseServerSelectionError',
]);

function isConnectionError(error: unknown): boolean {
  return error instanceof Error && CONNECTION_ERRORS.has(error.name);
}
