import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWql } from '@wallet/wql';
import { createStore } from '../create-store';
import { toIdSet } from './sqlite-vault';
import { runVaultContract } from './vault.contract';

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
      const params: unknown[] = ['acme', 'u1'];
      const set = toIdSet(parseWql({ a: 'x', b: { $in: ['y', 'z'] }, $not: { '~c': { $like: 'q%' } } }), owner, params);
      params.push('', 10);
      const plan = db
        .prepare(`EXPLAIN QUERY PLAN SELECT r.id FROM vault_records r WHERE r.scope = ? AND r.user_id = ? AND r.id IN (${set}) AND r.id > ? ORDER BY r.id LIMIT ?`)
        .all(...params)
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
});
