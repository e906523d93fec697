import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWql } from '@wallet/wql';
import { createStore } from '../create-store';
import { wqlCondition } from './sqlite-vault';
import { runVaultContract } from './vault.contract';
import { SqliteReader } from '../drivers/sqlite-reader';
import { UnavailableError } from '@wallet/domain';

const dir = mkdtempSync(join(tmpdir(), 'wallet-vault-sqlite-'));
let files = 0;
let lastPath = '';

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

runVaultContract(
  'sqlite',
  (deps) => {
    lastPath = join(dir, `vault-${++files}.db`);
    return createStore({ type: 'sqlite', path: lastPath }, deps);
  },
  { openPeer: (deps) => createStore({ type: 'sqlite', path: lastPath }, deps) },
);

describe('sqlite vault', () => {
  it('runs a WQL query as SQL over the tag index, with names and values bound, not spliced', async () => {
    const path = join(dir, 'plan.db');
    const store = await createStore({ type: 'sqlite', path });
    const vault = store.vault();
    const owner = { tenantId: 'acme', userId: 'u1' };
    const evil = "x' OR 1=1 --";
    await vault.create(owner, { id: 'r1', category: 'c', blob: 'AAAA', tags: { '~name': evil } });
    await vault.create(owner, { id: 'r2', category: 'c', blob: 'AAAA', tags: { '~name': 'other' } });
    expect((await vault.query(owner, parseWql({ '~name': evil }))).items.map((r) => r.id)).toEqual(['r1']);
    expect((await vault.query(owner, parseWql({ '~name': { $like: "x'%" } }))).items.map((r) => r.id)).toEqual(['r1']);
    await store.close();

    const db = new Database(path, { readonly: true });
    try {
      const condition = wqlCondition(parseWql({ a: 'x', b: { $in: ['y', 'z'] }, $not: { '~c': { $like: 'q%' } } }), owner);
      if (!condition) throw new Error('expected a condition');
      const plan = db
        .prepare(`EXPLAIN QUERY PLAN SELECT r.id FROM vault_records r WHERE r.scope = ? AND r.user_id = ? AND ${condition.sql} AND r.id > ? ORDER BY r.id LIMIT ?`)
        .all('acme', 'u1', ...condition.params, '', 10)
        .map((row) => (row as { detail: string }).detail);
      // Every tag condition is an index search, records are only looked up by key, nothing is scanned.
      expect(plan.filter((line) => line.includes('vault_tags'))).toEqual(
        Array.from({ length: 3 }, () => expect.stringMatching(/^SEARCH vault_tags USING COVERING INDEX vault_tags__value/)),
      );
      expect(plan.filter((line) => /^SCAN (vault_records|r|vault_tags)\b/.test(line))).toEqual([]);
      expect(plan.join('\n')).toMatch(/SEARCH r USING PRIMARY KEY \(scope=\? AND user_id=\? AND id=\?\)/);
    } finally {
      db.close();
    }
  });

  it('runs WQL queries on the reader thread: the event loop keeps turning while one runs, and the result is the same', async () => {
    const store = await createStore({ type: 'sqlite', path: join(dir, 'reader.db') });
    const vault = store.vault();
    const owner = { tenantId: 'acme', userId: 'u1' };
    for (let i = 0; i < 600; i++) {
      const tags: Record<string, string> = {};
      for (let k = 0; k < 12; k++) tags[`t${k}`] = `v${(i + k) % 7}`;
      await vault.create(owner, { id: `r${String(i).padStart(4, '0')}`, category: 'c', blob: 'AAAA', tags });
    }
    // Every condition spans all 600 records: the dearest shape per condition.
    const query = parseWql({ $and: Array.from({ length: 12 }, (_, k) => ({ [`t${k}`]: { $neq: 'none' } })) });
    let turns = 0;
    const turn = () => {
      turns += 1;
      turning = setImmediate(turn);
    };
    let turning = setImmediate(turn);
    try {
      const page = await vault.query(owner, query, { limit: 1000 });
      const turnsWhileQuerying = turns;
      expect(page.items).toHaveLength(600);
      // Run inline, the query would finish (and its promise settle) before the loop turned once.
      expect(turnsWhileQuerying).toBeGreaterThan(0);
      const written = await vault.create(owner, { id: 'zz-new', category: 'c', blob: 'AAAA', tags: { t0: 'fresh' } });
      expect(written.id).toBe('zz-new');
      // A write whose promise resolved is seen by the next read on the thread.
      expect((await vault.query(owner, parseWql({ t0: 'fresh' }))).items.map((r) => r.id)).toEqual(['zz-new']);
      // One owner has at most four queries on the thread; the fifth is a 429, another owner is not held back.
      const other = { tenantId: 'acme', userId: 'u2' };
      await vault.create(other, { id: 'o1', category: 'c', blob: 'AAAA', tags: { t0: 'x' } });
      const outcomes = await Promise.allSettled([
        ...Array.from({ length: 5 }, () => vault.query(owner, query, { limit: 10 })),
        vault.query(other, parseWql({ t0: 'x' })),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      expect((outcomes[4] as PromiseRejectedResult).reason).toMatchObject({ code: 'rate_limited', message: 'at most 4 vault queries at a time; wait for one to finish' });
      expect((await vault.query(owner, query, { limit: 10 })).items).toHaveLength(10);
    } finally {
      clearImmediate(turning);
      await store.close();
    }
  });
});

describe('SqliteReader', () => {
  it('answers SQLite errors with their code, refuses reads after close, and starts a new thread after one dies', async () => {
    const path = join(dir, 'reader-errors.db');
    new Database(path).exec('CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2)').close();
    const reader = new SqliteReader({ path, busyTimeoutMs: 100 });
    expect(await reader.all('SELECT x FROM t ORDER BY x', [])).toEqual([{ x: 1 }, { x: 2 }]);
    await expect(reader.all('SELECT nope FROM t', [])).rejects.toMatchObject({ code: 'SQLITE_ERROR', message: 'no such column: nope' });
    // The connection is read-only: a write through it is refused by SQLite.
    await expect(reader.all('DELETE FROM t RETURNING x', [])).rejects.toMatchObject({ code: 'SQLITE_READONLY' });
    const thread = (reader as unknown as { worker: { thread: import('node:worker_threads').Worker } }).worker.thread;
    const pending = reader.all('WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) SELECT count(*) AS c FROM n', []);
    await thread.terminate();
    await expect(pending).rejects.toBeInstanceOf(UnavailableError);
    expect(await reader.all('SELECT count(*) AS c FROM t', [])).toEqual([{ c: 2 }]);
    await reader.close();
    await expect(reader.all('SELECT 1', [])).rejects.toBeInstanceOf(UnavailableError);

    // A bounded queue: past `maxPending` reads waiting, the next is refused at once.
    const small = new SqliteReader({ path, busyTimeoutMs: 100, maxPending: 2 });
    const slow = 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) SELECT count(*) AS c FROM n';
    const queued = [small.all(slow, []), small.all(slow, [])];
    await expect(small.all('SELECT 1 AS one', [])).rejects.toMatchObject({ code: 'unavailable', message: 'sqlite reader (2 reads waiting) is unavailable' });
    expect(await Promise.all(queued)).toEqual([[{ c: 300000 }], [{ c: 300000 }]]);
    expect(await small.all('SELECT 1 AS one', [])).toEqual([{ one: 1 }]);
    await small.close();
  });
});
