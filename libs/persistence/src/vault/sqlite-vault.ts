import type Database from 'better-sqlite3';
import { WalletError } from '@wallet/domain';
import { likeToGlob, type WqlNode } from '@wallet/wql';
import type { PageRequest } from '../collection-plan';
import type { SqliteReader } from '../drivers/sqlite-reader';
import type { VaultBackend, VaultDecision, VaultRow, VaultRowDraft } from './vault-service';
import type { VaultOwner, VaultUsage } from './vault-ports';

interface Row {
  id: string;
  category: string;
  blob: string | null;
  tags: string;
  version: number;
  seq: number;
  deleted: number;
  size: number;
  updated_at: string;
}

const COLUMNS = 'id, category, blob, tags, version, seq, deleted, size, updated_at';

/** WQL queries one owner may have on the reader thread at once; more are refused (429). */
const MAX_QUERIES_IN_FLIGHT_PER_OWNER = 4;

/** Prepared query statements kept per distinct SQL text; beyond this the cache starts over. */
const MAX_QUERY_SHAPES = 256;

/**
 * The vault on SQLite. Three tables:
 *
 * - `vault_records` (scope, user_id, id) -> record or tombstone, with `seq`;
 * - `vault_tags` (scope, user_id, record_id, name) -> value, indexed by
 *   (scope, user_id, name, value) so that every WQL condition is an index
 *   range, and a query becomes a set expression over it (see `toIdSet`);
 * - `vault_users` (scope, user_id) -> last seq, live records, bytes.
 *
 * Every write is one IMMEDIATE transaction (SQLite allows one writer at a
 * time), which makes it exclusive per owner and commits seqs in order.
 */
export class SqliteVaultBackend implements VaultBackend {
  private readonly get$: Database.Statement<[string, string, string], Row>;
  private readonly user$: Database.Statement<[string, string], { seq: number; records: number; bytes: number }>;
  private readonly upsertUser$: Database.Statement;
  private readonly upsertRecord$: Database.Statement;
  private readonly deleteTags$: Database.Statement;
  private readonly insertTag$: Database.Statement;
  private readonly changes$: Database.Statement<[string, string, number, number], Row>;
  private readonly queries = new Map<string, Database.Statement>();
  private readonly queriesInFlight = new Map<string, number>();
  private readonly horizon$: Database.Statement<[string, string], { purged_seq: number }>;
  private readonly tombstones$: Database.Statement<[string, number], { scope: string; user_id: string; id: string; seq: number }>;
  private readonly purgeRow$: Database.Statement;
  private readonly raiseHorizon$: Database.Statement;
  private readonly eraseRecords$: Database.Statement;
  private readonly eraseTags$: Database.Statement;
  private readonly eraseUser$: Database.Statement;

  /**
   * @param reader where WQL queries run when given (a thread with its own
   * connection): their cost grows with the owner's records times the query's
   * conditions, which must not hold the event loop. Plain lists are one index
   * range and stay here.
   */
  constructor(
    private readonly db: Database.Database,
    private readonly mapError: (error: unknown) => unknown,
    private readonly reader: SqliteReader | null = null,
  ) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS vault_records (
        scope TEXT NOT NULL, user_id TEXT NOT NULL, id TEXT NOT NULL, category TEXT NOT NULL, blob TEXT,
        tags TEXT NOT NULL, version INTEGER NOT NULL, seq INTEGER NOT NULL, deleted INTEGER NOT NULL,
        size INTEGER NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (scope, user_id, id)) WITHOUT ROWID;
      CREATE UNIQUE INDEX IF NOT EXISTS vault_records__seq ON vault_records (scope, user_id, seq);
      CREATE INDEX IF NOT EXISTS vault_records__category ON vault_records (scope, user_id, category, id);
      CREATE INDEX IF NOT EXISTS vault_records__live ON vault_records (scope, user_id, deleted, id);
      CREATE TABLE IF NOT EXISTS vault_tags (
        scope TEXT NOT NULL, user_id TEXT NOT NULL, record_id TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (scope, user_id, record_id, name)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS vault_tags__value ON vault_tags (scope, user_id, name, value, record_id);
      CREATE TABLE IF NOT EXISTS vault_users (
        scope TEXT NOT NULL, user_id TEXT NOT NULL, seq INTEGER NOT NULL, records INTEGER NOT NULL,
        bytes INTEGER NOT NULL, purged_seq INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (scope, user_id)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS vault_records__tombstones ON vault_records (updated_at) WHERE deleted = 1;
    `);
    // Files created before tombstone purging lack the horizon column.
    const columns = db.prepare("SELECT name FROM pragma_table_info('vault_users')").all() as Array<{ name: string }>;
    if (!columns.some((column) => column.name === 'purged_seq')) {
      db.exec('ALTER TABLE vault_users ADD COLUMN purged_seq INTEGER NOT NULL DEFAULT 0');
    }
    this.get$ = db.prepare(`SELECT ${COLUMNS} FROM vault_records WHERE scope = ? AND user_id = ? AND id = ?`);
    this.user$ = db.prepare('SELECT seq, records, bytes FROM vault_users WHERE scope = ? AND user_id = ?');
    this.upsertUser$ = db.prepare(
      'INSERT INTO vault_users (scope, user_id, seq, records, bytes, purged_seq) VALUES (?, ?, ?, ?, ?, 0) ' +
        'ON CONFLICT (scope, user_id) DO UPDATE SET seq = excluded.seq, records = excluded.records, bytes = excluded.bytes',
    );
    this.upsertRecord$ = db.prepare(
      'INSERT OR REPLACE INTO vault_records (scope, user_id, id, category, blob, tags, version, seq, deleted, size, updated_at) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.deleteTags$ = db.prepare('DELETE FROM vault_tags WHERE scope = ? AND user_id = ? AND record_id = ?');
    this.insertTag$ = db.prepare('INSERT INTO vault_tags (scope, user_id, record_id, name, value) VALUES (?, ?, ?, ?, ?)');
    this.horizon$ = db.prepare('SELECT purged_seq FROM vault_users WHERE scope = ? AND user_id = ?');
    this.tombstones$ = db.prepare(
      'SELECT scope, user_id, id, seq FROM vault_records WHERE deleted = 1 AND updated_at < ? ORDER BY updated_at LIMIT ?',
    );
    this.purgeRow$ = db.prepare('DELETE FROM vault_records WHERE scope = ? AND user_id = ? AND id = ? AND seq = ? AND deleted = 1');
    this.raiseHorizon$ = db.prepare('UPDATE vault_users SET purged_seq = max(purged_seq, ?) WHERE scope = ? AND user_id = ?');
    this.eraseRecords$ = db.prepare('DELETE FROM vault_records WHERE scope = ? AND user_id = ?');
    this.eraseTags$ = db.prepare('DELETE FROM vault_tags WHERE scope = ? AND user_id = ?');
    this.eraseUser$ = db.prepare('DELETE FROM vault_users WHERE scope = ? AND user_id = ?');
    this.changes$ = db.prepare(
      `SELECT ${COLUMNS} FROM vault_records WHERE scope = ? AND user_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
    );
  }

  get(owner: VaultOwner, id: string): VaultRow | null {
    const row = this.run(() => this.get$.get(owner.tenantId, owner.userId, id));
    return row ? toRow(row) : null;
  }

  write(owner: VaultOwner, id: string, decide: VaultDecision): VaultRow {
    return this.run(() => this.db
      .transaction(() => {
        const current = this.get(owner, id);
        const usage = this.user$.get(owner.tenantId, owner.userId) ?? { seq: 0, records: 0, bytes: 0 };
        const draft = decide(current, { records: usage.records, bytes: usage.bytes });
        return this.put(owner, usage, current, draft);
      })
      .immediate());
  }

  find(owner: VaultOwner, query: WqlNode | null, category: string | null, page: PageRequest): VaultRow[] | Promise<VaultRow[]> {
    const params: unknown[] = [owner.tenantId, owner.userId];
    let where = 'r.scope = ? AND r.user_id = ? AND r.deleted = 0';
    if (category !== null) {
      where += ' AND r.category = ?';
      params.push(category);
    }
    where += ' AND r.id > ?';
    params.push(page.afterId);
    const condition = query === null ? null : wqlCondition(query, owner);
    if (condition === false) return [];
    if (condition !== null) {
      where += ` AND ${condition.sql}`;
      params.push(...condition.params);
    }
    params.push(page.limit);
    const sql = `SELECT ${COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')} FROM vault_records r WHERE ${where} ORDER BY r.id LIMIT ?`;
    if (query !== null && this.reader) {
      // One owner may not fill the reader's queue: their queries wait for each other, not everyone's.
      const key = `${owner.tenantId}\u0000${owner.userId}`;
      const running = this.queriesInFlight.get(key) ?? 0;
      if (running >= MAX_QUERIES_IN_FLIGHT_PER_OWNER) {
        return Promise.reject(new WalletError('rate_limited', `at most ${MAX_QUERIES_IN_FLIGHT_PER_OWNER} vault queries at a time; wait for one to finish`));
      }
      this.queriesInFlight.set(key, running + 1);
      return this.reader
        .all<Row>(sql, params)
        .then(
          (rows) => rows.map(toRow),
          (error: unknown) => Promise.reject(this.mapError(error)),
        )
        .finally(() => {
          const left = (this.queriesInFlight.get(key) ?? 1) - 1;
          if (left === 0) this.queriesInFlight.delete(key);
          else this.queriesInFlight.set(key, left);
        });
    }
    return this.run(() => this.statement(sql).all(...params) as Row[]).map(toRow);
  }

  changes(owner: VaultOwner, since: number, limit: number): VaultRow[] {
    return this.run(() => this.changes$.all(owner.tenantId, owner.userId, since, limit)).map(toRow);
  }

  usage(owner: VaultOwner): VaultUsage {
    const usage = this.run(() => this.user$.get(owner.tenantId, owner.userId));
    return { records: usage?.records ?? 0, bytes: usage?.bytes ?? 0 };
  }

  importAll(owner: VaultOwner, drafts: readonly VaultRowDraft[]): boolean {
    return this.run(() => this.db
      .transaction(() => {
        let usage = this.user$.get(owner.tenantId, owner.userId) ?? { seq: 0, records: 0, bytes: 0 };
        if (usage.records > 0) return false;
        for (const draft of drafts) {
          const current = this.get(owner, draft.id);
          this.put(owner, usage, current, { ...draft, version: (current?.version ?? 0) + 1 });
          usage = this.user$.get(owner.tenantId, owner.userId) as typeof usage;
        }
        return true;
      })
      .immediate());
  }

  horizon(owner: VaultOwner): number {
    return this.run(() => this.horizon$.get(owner.tenantId, owner.userId))?.purged_seq ?? 0;
  }

  purgeTombstones(before: string, limit: number): number {
    return this.run(() =>
      this.db
        .transaction(() => {
          let removed = 0;
          for (const row of this.tombstones$.all(before, limit)) {
            this.raiseHorizon$.run(row.seq, row.scope, row.user_id);
            removed += this.purgeRow$.run(row.scope, row.user_id, row.id, row.seq).changes;
          }
          return removed;
        })
        .immediate(),
    );
  }

  eraseOwner(owner: VaultOwner): number {
    return this.run(() =>
      this.db
        .transaction(() => {
          const records = this.user$.get(owner.tenantId, owner.userId)?.records ?? 0;
          this.eraseTags$.run(owner.tenantId, owner.userId);
          this.eraseRecords$.run(owner.tenantId, owner.userId);
          this.eraseUser$.run(owner.tenantId, owner.userId);
          return records;
        })
        .immediate(),
    );
  }

  private put(
    owner: VaultOwner,
    usage: { seq: number; records: number; bytes: number },
    current: VaultRow | null,
    draft: VaultRowDraft,
  ): VaultRow {
    const { tenantId: scope, userId } = owner;
    const seq = usage.seq + 1;
    const records = usage.records + (draft.deleted ? 0 : 1) - (current && !current.deleted ? 1 : 0);
    const bytes = usage.bytes + draft.size - (current?.size ?? 0);
    this.upsertRecord$.run(
      scope,
      userId,
      draft.id,
      draft.category,
      draft.blob,
      JSON.stringify(draft.tags),
      draft.version,
      seq,
      draft.deleted ? 1 : 0,
      draft.size,
      draft.updatedAt,
    );
    this.deleteTags$.run(scope, userId, draft.id);
    for (const [name, value] of Object.entries(draft.tags)) this.insertTag$.run(scope, userId, draft.id, name, value);
    this.upsertUser$.run(scope, userId, seq, records, bytes);
    return { ...draft, tags: { ...draft.tags }, seq };
  }

  /** SQLite errors (busy, I/O) mapped the way the rest of the driver maps them; decisions' own errors pass through. */
  private run<R>(operation: () => R): R {
    try {
      return operation();
    } catch (error) {
      throw this.mapError(error);
    }
  }

  private statement(sql: string): Database.Statement {
    let statement = this.queries.get(sql);
    if (!statement) {
      if (this.queries.size >= MAX_QUERY_SHAPES) this.queries.clear();
      statement = this.db.prepare(sql);
      this.queries.set(sql, statement);
    }
    return statement;
  }
}

/**
 * A set of record ids as SQL: `sql` selects `record_id` (null for the empty
 * set), `params` are its bound values in text order. `complement` means the
 * owner's live records *except* that set, which lets NOT, and an AND or OR
 * over negations, stay set operations over the tag index without ever
 * listing every record.
 */
interface IdSet {
  readonly sql: string | null;
  readonly params: readonly unknown[];
  readonly complement: boolean;
}

const EMPTY: IdSet = { sql: null, params: [], complement: false };
const ALL: IdSet = { sql: null, params: [], complement: true };

function combine(sets: readonly IdSet[], operator: 'INTERSECT' | 'UNION'): IdSet {
  const operands = sets.filter((set) => set.sql !== null);
  if (operands.length === 0) return { sql: null, params: [], complement: false };
  return {
    sql: operands.map((set) => (operands.length === 1 ? set.sql : `SELECT record_id FROM (${set.sql})`)).join(` ${operator} `),
    params: operands.flatMap((set) => set.params),
    complement: false,
  };
}

function except(from: IdSet, minus: IdSet): IdSet {
  if (from.sql === null || minus.sql === null) return from;
  return { sql: `SELECT record_id FROM (${from.sql}) EXCEPT SELECT record_id FROM (${minus.sql})`, params: [...from.params, ...minus.params], complement: false };
}

/**
 * A WQL node as a set of the owner's record ids. Conditions are index ranges
 * on `vault_tags__value`; AND and OR become INTERSECT and UNION, and NOT
 * flips `complement`: `a AND NOT b` is `a EXCEPT b`, `NOT a OR NOT b` is the
 * complement of `a INTERSECT b`. So the database reads only the index ranges
 * the conditions name, never the owner's whole record list, and the work is
 * bounded by the number of conditions (which `parseWql` limits) times the
 * tags matching each. Names and values are always bound parameters; the SQL
 * text depends on the query's shape alone.
 */
export function toIdSet(node: WqlNode, owner: VaultOwner): IdSet {
  const tagged = (condition: string, ...values: unknown[]): IdSet => ({
    sql: `SELECT record_id FROM vault_tags WHERE scope = ? AND user_id = ? AND ${condition}`,
    params: [owner.tenantId, owner.userId, ...values],
    complement: false,
  });
  switch (node.op) {
    case 'and': {
      const sets = node.clauses.map((clause) => toIdSet(clause, owner));
      const positive = sets.filter((set) => !set.complement);
      const negated = combine(sets.filter((set) => set.complement), 'UNION');
      if (positive.length === 0) return { ...negated, complement: true };
      if (positive.some((set) => set.sql === null)) return EMPTY;
      return except(combine(positive, 'INTERSECT'), negated);
    }
    case 'or': {
      const sets = node.clauses.map((clause) => toIdSet(clause, owner));
      const positive = combine(sets.filter((set) => !set.complement), 'UNION');
      const negated = sets.filter((set) => set.complement);
      if (negated.length === 0) return positive;
      if (negated.some((set) => set.sql === null)) return ALL;
      return { ...except(combine(negated, 'INTERSECT'), positive), complement: true };
    }
    case 'not': {
      const set = toIdSet(node.clause, owner);
      return { ...set, complement: !set.complement };
    }
    case 'exist':
      return combine(
        node.names.map((name) => tagged('name = ?', name)),
        'INTERSECT',
      );
    case 'in':
      return tagged(`name = ? AND value IN (${node.values.map(() => '?').join(', ')})`, node.name, ...node.values);
    case 'eq':
      return tagged('name = ? AND value = ?', node.name, node.value);
    case 'neq':
      return tagged('name = ? AND value <> ?', node.name, node.value);
    case 'gt':
      return tagged('name = ? AND value > ?', node.name, node.value);
    case 'gte':
      return tagged('name = ? AND value >= ?', node.name, node.value);
    case 'lt':
      return tagged('name = ? AND value < ?', node.name, node.value);
    case 'lte':
      return tagged('name = ? AND value <= ?', node.name, node.value);
    case 'like':
      // GLOB is case-sensitive, as `$like` is on every driver.
      return tagged('name = ? AND value GLOB ?', node.name, likeToGlob(node.value));
  }
}

/**
 * The condition on `r.id` (records aliased `r`) that a WQL query adds to a
 * record query: `null` when it matches every live record, `false` when it
 * matches none.
 */
export function wqlCondition(node: WqlNode, owner: VaultOwner): { sql: string; params: readonly unknown[] } | null | false {
  const set = toIdSet(node, owner);
  if (set.sql === null) return set.complement ? null : false;
  return { sql: `r.id ${set.complement ? 'NOT IN' : 'IN'} (${set.sql})`, params: set.params };
}

function toRow(row: Row): VaultRow {
  return {
    id: row.id,
    category: row.category,
    blob: row.blob,
    tags: JSON.parse(row.tags) as Record<string, string>,
    version: row.version,
    seq: row.seq,
    deleted: row.deleted === 1,
    size: row.size,
    updatedAt: row.updated_at,
  };
}
