/**
 * Vault query cost benchmark (results go to docs/benchmarks.md, "Vault query
 * cost"): the dearest WQL shapes the parser lets through, against one user's
 * full vault (default 10,000 records, 32 tags each, the default limits), per
 * driver:
 *  - wall time of the query (best of three);
 *  - the longest gap between consecutive `setImmediate` turns while it ran,
 *    what any other request of the process would have waited (on a loaded
 *    machine it also holds time the OS did not schedule the thread). The
 *    probe keeps a core busy, so these runs are apart from the timed ones.
 * The budget for one request's event-loop hold is 50 ms (issue 14).
 *
 * Run: node tools/scripts/run-ts.mjs bench/vault-query-cost.bench.ts [--records 10000] [--drivers sqlite,memory]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore, type StoreOptions } from '@wallet/persistence';
import { parseWql } from '@wallet/wql';

const records = Number(process.argv[process.argv.indexOf('--records') + 1]) || 10_000;
const driversArg = process.argv.includes('--drivers') ? process.argv[process.argv.indexOf('--drivers') + 1] : undefined;
const drivers = (driversArg ?? 'sqlite,memory').split(',');

const tag = (k: number) => (k < 16 ? `t${k}` : `~t${k}`);
const tagsOf = (i: number) => Object.fromEntries(Array.from({ length: 32 }, (_, k) => [tag(k), `v${(i + k) % 10}`]));
const many = (n: number, make: (i: number) => unknown) => Array.from({ length: n }, (_, i) => make(i));

/** Each at the parser's limits (64 conditions, 128 parts, depth 8), each condition spanning every record. */
const SHAPES: Record<string, unknown> = {
  'no condition': {},
  'AND of 40 $neq (all match)': { $and: many(40, (i) => ({ [tag(i % 16)]: { $neq: 'none' } })) },
  'OR of 40 $neq (all match)': { $or: many(40, (i) => ({ [tag(i % 16)]: { $neq: 'none' } })) },
  'AND of 39 $neq, last fails': { $and: [...many(39, (i) => ({ [tag(i % 16)]: { $neq: 'none' } })), { t0: 'none' }] },
  'OR of 30 NOT (complements)': { $or: many(30, (i) => ({ $not: { [tag(i % 16)]: `v${i % 10}` } })) },
  'AND of 30 NOT (nothing excluded)': { $and: many(30, (i) => ({ $not: { [tag(i % 16)]: 'none' } })) },
  'OR of 40 $like % on plaintext tags': { $or: many(40, (i) => ({ [tag(16 + (i % 16))]: { $like: '%' } })) },
  '$exist of 32 names': { $exist: many(32, (i) => tag(i)) },
  '$in of 64 values': { t0: { $in: many(64, (i) => `v${i}`) } },
  'OR of 120 empty clauses': { $or: many(120, () => ({})) },
};

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; wallMs: number }> {
  const started = process.hrtime.bigint();
  const result = await work();
  return { result, wallMs: Number(process.hrtime.bigint() - started) / 1e6 };
}

/** The longest gap between event-loop turns while `work` runs (the probe keeps one core busy, so wall time is measured apart). */
async function longestGap(work: () => Promise<unknown>): Promise<number> {
  let last = process.hrtime.bigint();
  let held = 0n;
  let running = true;
  const probe = () => {
    const now = process.hrtime.bigint();
    if (now - last > held) held = now - last;
    last = now;
    if (running) setImmediate(probe);
  };
  setImmediate(probe);
  await work();
  running = false;
  // The gap that ends when the query's own callback returns counts too.
  const tail = process.hrtime.bigint() - last;
  if (tail > held) held = tail;
  return Number(held) / 1e6;
}

async function main(): Promise<void> {
  console.log(`vault query cost: ${records.toLocaleString('en')} records of 32 tags, one user`);
  for (const driver of drivers) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-vault-query-'));
    const options: StoreOptions = driver === 'memory' ? { type: 'memory' } : { type: 'sqlite', path: join(dir, 'vault.db') };
    const store = await createStore(options);
    try {
      const vault = store.vault({ maxRecordsPerUser: records });
      const owner = { tenantId: 'bench', userId: 'u1' };
      for (let i = 0; i < records; i++) {
        await vault.create(owner, { id: `r${String(i).padStart(6, '0')}`, category: 'c', blob: 'AAAA', tags: tagsOf(i) });
      }
      console.log(`\n  ${driver}: shape | matches (page of 100) | wall ms (best of 3) | longest event-loop gap ms (worst of 3)`);
      for (const [label, shape] of Object.entries(SHAPES)) {
        const node = parseWql(shape);
        let wall = Infinity;
        let held = 0;
        let matches = 0;
        for (let run = 0; run < 3; run++) {
          const measured = await timed(() => vault.query(owner, node, { limit: 100 }));
          wall = Math.min(wall, measured.wallMs);
          matches = measured.result.items.length;
        }
        for (let run = 0; run < 3; run++) held = Math.max(held, await longestGap(() => vault.query(owner, node, { limit: 100 })));
        console.log(`  ${label.padEnd(36)} | ${String(matches).padStart(3)} | ${wall.toFixed(1).padStart(6)} | ${held.toFixed(1).padStart(6)}`);
      }
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

void main();
