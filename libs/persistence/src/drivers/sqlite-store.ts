import Database from 'better-sqlite3';
import { Worker } from 'node:worker_threads';
import {
  NotFoundError,
  UnavailableError,
  UniqueViolationError,
  VersionConflictError,
  type WalletErrorOptions,
} from '@wallet/domain';
import { BaseStore } from '../base-store';
import { FIELD_NAME, type CollectionPlan, type NormalizedFilter, type PageRequest, type PreparedValue } from '../collection-plan';
import type { CollectionBackend, RawRecord } from '../generic-repository';
import type { StoreDeps } from '../ports';
import { SqliteVaultBackend } from '../vault/sqlite-vault';
import { SqliteReader } from './sqlite-reader';
import type { VaultBackend } from '../vault/vault-service';

export interface SqliteStoreOptions {
  path: string;
  busyTimeoutMs?: number;
  /** `normal` (default): durable across process crashes and kill -9. `full`: also across power loss (fsync per commit). */
  synchronous?: 'full' | 'normal';
  /**
   * Who copies the WAL into the database file: `background` (default), a
   * worker thread with its own connection, every `checkpointIntervalMs`; or
   * `inline`, SQLite's own automatic checkpoint inside the write that crosses
   * 1000 pages, which stalls the event loop for the copy and its fsyncs.
   */
  checkpoint?: 'background' | 'inline';
  checkpointIntervalMs?: number;
}

/** With background checkpoints the writing connection still checkpoints itself past this many WAL pages (80 MB), should the worker fall behind. */
const BACKSTOP_CHECKPOINT_PAGES = 20_000;

/**
 * The checkpoint worker: its own connection to the file, a PASSIVE checkpoint
 * (never waits for, nor blocks, readers and writers) every interval. The
 * next write after a complete checkpoint starts the WAL over, so it stays small.
 */
const CHECKPOINT_WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 0');
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy: the next round */ } };
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => { clearInterval(timer); checkpoint(); db.close(); parentPort.close(); });
`;

/**
 * Embedded store on one SQLite file (better-sqlite3). One table per
 * collection, `(scope, id)` as primary key, the entity as JSON in `data`, and
 * secondary indexes as expression indexes on `json_extract(data, '$.field')`
 * behind the scope. WAL with `synchronous=NORMAL` by default: a write is in the
 * WAL file when its promise resolves, so it survives a crash or kill -9 of the
 * process; `full` also fsyncs every commit to survive power loss. Checkpoints
 * (copying the WAL into the file, with its fsyncs) run on a worker thread, off
 * the event loop. Several stores (processes) may open the same file;
 * SQLite's locking serialises their writes and compare-and-set is a single
 * `UPDATE ... WHERE version = ?`.
 */
export class SqliteStore extends BaseStore {
  readonly driver = 'sqlite' as const;
  private readonly ping$: Database.Statement;

  private constructor(
    private readonly db: Database.Database,
    deps: StoreDeps,
    private readonly checkpointer: Worker | null,
    private readonly reader: SqliteReader | null,
  ) {
    super(deps);
    this.ping$ = db.prepare('SELECT 1');
  }

  static open(options: SqliteStoreOptions, deps: StoreDeps = {}): SqliteStore {
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new Error('busyTimeoutMs must be a non-negative integer');
    let db: Database.Database | undefined;
    try {
      const opened = new Database(options.path);
      db = opened;
      opened.pragma(`busy_timeout = ${busyTimeoutMs}`);
      // Switching a new file to WAL needs an exclusive lock, and SQLite answers
      // SQLITE_BUSY at once, without its busy handler, when another process is
      // opening the same file at that moment: retry within the busy timeout.
      retryWhileBusy(() => opened.pragma('journal_mode = WAL'), busyTimeoutMs);
      opened.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      let checkpointer: Worker | null = null;
      if ((options.checkpoint ?? 'background') === 'background' && opened.pragma('journal_mode', { simple: true }) === 'wal') {
        opened.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
        checkpointer = new Worker(CHECKPOINT_WORKER, {
          eval: true,
          workerData: { module: require.resolve('better-sqlite3'), path: options.path, intervalMs: options.checkpointIntervalMs ?? 50 },
        });
        // A worker that cannot run leaves SQLite's own (backstop) checkpoints; it never holds the process open.
        checkpointer.on('error', () => undefined);
        checkpointer.unref();
      }
      // An in-memory database has no file a second connection could open.
      const reader = opened.memory ? null : new SqliteReader({ path: options.path, busyTimeoutMs });
      return new SqliteStore(opened, deps, checkpointer, reader);
    } catch (error) {
      db?.close();
      throw mapSqliteError(error, 'the sqlite database');
    }
  }

  protected openCollection(plan: CollectionPlan): CollectionBackend {
    return new SqliteCollection(this.db, plan);
  }

  protected openVault(): VaultBackend {
    const map = (error: unknown) => mapSqliteError(error, 'the sqlite vault tables');
    try {
      return new SqliteVaultBackend(this.db, map, this.reader);
    } catch (error) {
      throw map(error);
    }
  }

  async ping(): Promise<void> {
    this.context.assertOpen();
    try {
      this.ping$.get();
    } catch (error) {
      throw new UnavailableError('sqlite store', { cause: error });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.reader?.close();
    if (this.checkpointer) {
      const worker = this.checkpointer;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage('close');
      // A last checkpoint, then the worker ends; it is stopped if it takes longer than a second.
      const timer = setTimeout(() => void worker.terminate(), 1000);
      await exited;
      clearTimeout(timer);
    }
    this.db.close();
  }
}

interface Row {
  version: number;
  created_at: string;
  updated_at: string;
  data: string;
}

interface FilterStatements {
  find: Database.Statement;
  count: Database.Statement;
  deleteMany: Database.Statement;
}

/** Different filter shapes a collection keeps prepared statements for; beyond this the cache starts over. */
const MAX_FILTER_SHAPES = 200;

class SqliteCollection implements CollectionBackend {
  private readonly get$: Database.Statement<[string, string], Row>;
  private readonly version$: Database.Statement<[string, string], { version: number }>;
  private readonly insert$: Database.Statement;
  private readonly update$: Database.Statement<unknown[], { created_at: string }>;
  private readonly delete$: Database.Statement;
  private readonly deleteVersion$: Database.Statement;
  private readonly filters = new Map<string, FilterStatements>();
  /** SQLite index name -> entity fields, to name them in `UniqueViolationError`. */
  private readonly uniqueFields = new Map<string, readonly string[]>();
  private readonly table: string;

  constructor(
    private readonly db: Database.Database,
    private readonly plan: CollectionPlan,
  ) {
    // Names come from `planCollection`, which allows only [a-z0-9_] and [A-Za-z0-9_].
    this.table = `"${plan.name}"`;
    const ddl = [
      `CREATE TABLE IF NOT EXISTS ${this.table} (scope TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, ` +
        'created_at TEXT NOT NULL, updated_at TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (scope, id))',
    ];
    for (const index of plan.indexes) {
      const indexName = `${plan.name}__${index.name}`;
      const columns = index.fields.map((field) => jsonField(field));
      // A plain index ends with the id, so a filtered page (`... AND id > ? ORDER BY id`) is
      // one range scan; without it the planner prefers walking the whole scope by primary key.
      if (!index.unique) columns.push('id');
      ddl.push(
        `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS "${indexName}" ON ${this.table} (scope, ${columns.join(', ')})`,
      );
      if (index.unique) this.uniqueFields.set(indexName, index.fields);
    }
    try {
      db.transaction(() => {
        for (const statement of ddl) db.exec(statement);
      }).immediate();
    } catch (error) {
      throw mapSqliteError(error, `the sqlite table ${plan.name}`);
    }
    const t = this.table;
    this.get$ = db.prepare(`SELECT version, created_at, updated_at, data FROM ${t} WHERE scope = ? AND id = ?`);
    this.version$ = db.prepare(`SELECT version FROM ${t} WHERE scope = ? AND id = ?`);
    this.insert$ = db.prepare(
      `INSERT INTO ${t} (scope, id, version, created_at, updated_at, data) VALUES (?, ?, 1, ?, ?, ?)`,
    );
    this.update$ = db.prepare(
      `UPDATE ${t} SET version = version + 1, updated_at = ?, data = ? WHERE scope = ? AND id = ? AND version = ? ` +
        'RETURNING created_at',
    );
    this.delete$ = db.prepare(`DELETE FROM ${t} WHERE scope = ? AND id = ?`);
    this.deleteVersion$ = db.prepare(`DELETE FROM ${t} WHERE scope = ? AND id = ? AND version = ?`);
  }

  get(scope: string, id: string): RawRecord | null {
    const row = this.run(() => this.get$.get(scope, id));
    return row ? toRaw(row) : null;
  }

  find(scope: string, filter: NormalizedFilter, page: PageRequest): RawRecord[] {
    const statements = this.statements(filter);
    const rows = this.run(() => statements.find.all(scope, ...bindings(filter), page.afterId, page.limit) as Row[]);
    return rows.map(toRaw);
  }

  count(scope: string, filter: NormalizedFilter): number {
    const statements = this.statements(filter);
    const row = this.run(() => statements.count.get(scope, ...bindings(filter)) as { n: number });
    return row.n;
  }

  insert(scope: string, value: PreparedValue, now: string): void {
    this.run(() => this.insert$.run(scope, value.id, now, now, value.json));
  }

  update(scope: string, value: PreparedValue, expectedVersion: number, now: string): string {
    const row = this.run(() => this.update$.get(now, value.json, scope, value.id, expectedVersion));
    if (row) return row.created_at;
    throw this.missOrConflict(scope, value.id, expectedVersion);
  }

  delete(scope: string, id: string, expectedVersion: number | undefined): void {
    const result =
      expectedVersion === undefined
        ? this.run(() => this.delete$.run(scope, id))
        : this.run(() => this.deleteVersion$.run(scope, id, expectedVersion));
    if (result.changes === 0) throw this.missOrConflict(scope, id, expectedVersion ?? 0);
  }

  deleteMany(scope: string, filter: NormalizedFilter): number {
    const statements = this.statements(filter);
    return this.run(() => statements.deleteMany.run(scope, ...bindings(filter))).changes;
  }

  private missOrConflict(scope: string, id: string, expectedVersion: number): Error {
    const current = this.run(() => this.version$.get(scope, id));
    return current
      ? new VersionConflictError(this.plan.name, expectedVersion, current.version)
      : new NotFoundError(`${this.plan.name} record`);
  }

  /** Prepared statements for one filter shape (fields, and which are null), cached. */
  private statements(filter: NormalizedFilter): FilterStatements {
    let key = '';
    for (const [field, value] of filter) key += value === null ? `${field}:null,` : `${field},`;
    let statements = this.filters.get(key);
    if (statements) return statements;
    let where = 'scope = ?';
    for (const [field, value] of filter) {
      const column = field === 'id' ? 'id' : jsonField(field);
      where += value === null ? ` AND ${column} IS NULL` : ` AND ${column} = ?`;
    }
    const t = this.table;
    statements = {
      find: this.db.prepare(`SELECT version, created_at, updated_at, data FROM ${t} WHERE ${where} AND id > ? ORDER BY id LIMIT ?`),
      count: this.db.prepare(`SELECT count(*) AS n FROM ${t} WHERE ${where}`),
      deleteMany: this.db.prepare(`DELETE FROM ${t} WHERE ${where}`),
    };
    if (this.filters.size >= MAX_FILTER_SHAPES) this.filters.clear();
    this.filters.set(key, statements);
    return statements;
  }

  private run<R>(operation: () => R): R {
    try {
      return operation();
    } catch (error) {
      throw this.mapError(error);
    }
  }

  private mapError(error: unknown): unknown {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return new UniqueViolationError(this.plan.name, ['id'], { cause: error });
    if (code === 'SQLITE_CONSTRAINT_UNIQUE') {
      // Not `instanceof Error`: better-sqlite3 is a native addon that keeps the error class of the
      // first realm that loaded it, so in a second realm (another Jest test file) the check fails.
      const raw = (error as { message?: unknown } | null)?.message;
      const message = typeof raw === 'string' ? raw : '';
      const indexName = /index '([^']+)'/.exec(message)?.[1];
      const fields = (indexName && this.uniqueFields.get(indexName)) || (message.includes('.id') ? ['id'] : ['unique index']);
      return new UniqueViolationError(this.plan.name, fields, { cause: error });
    }
    return mapSqliteError(error, `the sqlite table ${this.plan.name}`);
  }
}

/** The SQL for a top-level JSON field; `field` must match `FIELD_NAME` (checked again here). */
function jsonField(field: string): string {
  if (!FIELD_NAME.test(field)) throw new Error(`bad field name ${JSON.stringify(field)}`);
  return `json_extract(data, '$.${field}')`;
}

function bindings(filter: NormalizedFilter): Array<string | number> {
  const values: Array<string | number> = [];
  for (const [, value] of filter) {
    if (value === null) continue;
    // json_extract gives 1/0 for JSON true/false; better-sqlite3 cannot bind booleans.
    values.push(typeof value === 'boolean' ? (value ? 1 : 0) : value);
  }
  return values;
}

function toRaw(row: Row): RawRecord {
  return {
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}

const UNAVAILABLE = new Set([
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CANTOPEN',
  'SQLITE_FULL',
  'SQLITE_READONLY',
  'SQLITE_PROTOCOL',
]);

/** Runs `step` again while it fails with SQLITE_BUSY, for up to `budgetMs` (blocking: only for opening). */
function retryWhileBusy<T>(step: () => T, budgetMs: number): T {
  const deadline = Date.now() + budgetMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 1; ; attempt++) {
    try {
      return step();
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY') || Date.now() >= deadline) throw error;
      Atomics.wait(pause, 0, 0, Math.min(5 * attempt, 50));
    }
  }
}

/** Lock timeouts, full disks and I/O errors become `UnavailableError`; the rest is a bug and stays as it is. */
function mapSqliteError(error: unknown, what: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  const options: WalletErrorOptions = { cause: error };
  if (typeof code === 'string' && (UNAVAILABLE.has(code) || code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_BUSY'))) {
    return new UnavailableError(what, options);
  }
  if (error instanceof TypeError && /not open/i.test(error.message)) return new UnavailableError(what, options);
  return error;
}
