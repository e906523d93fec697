/**
 * Foundation benchmarks (results go to docs/benchmarks.md):
 *  - all-in-one: time from spawn to the `ready` log line and to the first
 *    200 from /health/ready, and resident memory after 3 s idle;
 *  - persistence: point reads/s, single-row creates/s and compare-and-set
 *    updates/s per driver, from one process, awaited one at a time.
 *
 * Run: node tools/scripts/run-ts.mjs bench/foundation.bench.ts [--rounds 5]
 * Build first (`npm run build`). MongoDB runs when MONGODB_URI is set or a
 * FerretDB/mongod binary is found.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zRecordId } from '@wallet/domain';
import { createStore, type CollectionSpec, type Store } from '@wallet/persistence';
import { mongoAvailable, startBuiltApp, startMongo } from '@wallet/testing';
import { z } from 'zod';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function startAllInOnce(): Promise<{ readyMs: number; healthyMs: number; rssMb: number }> {
  const proc = await startBuiltApp('all-in-one');
  const started = Date.now() - proc.readyMs;
  const url = proc.servers.get('wallet')!;
  let healthyMs = 0;
  while (!healthyMs) {
    const status = await fetch(`${url}/health/ready`).then((r) => r.status, () => 0);
    if (status === 200) healthyMs = Date.now() - started;
  }
  await new Promise((r) => setTimeout(r, 3000));
  const status = readFileSync(`/proc/${proc.child.pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  await proc.stop('SIGTERM');
  return { readyMs: proc.readyMs, healthyMs, rssMb: rssKb / 1024 };
}

const zItem = z.object({ id: zRecordId, owner: z.string(), payload: z.string(), n: z.number().int() });
type Item = z.infer<typeof zItem>;
const items: CollectionSpec<Item> = { name: 'bench_items', schema: zItem, indexes: [{ fields: ['owner'] }] };

async function measure(label: string, count: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await op(i);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rate = count / seconds;
  console.log(`  ${label}: ${Math.round(rate).toLocaleString('en')}/s (${count} ops in ${seconds.toFixed(2)} s)`);
  return rate;
}

async function benchStore(name: string, store: Store, scale: number) {
  console.log(`persistence ${name}`);
  const repo = store.repository(items);
  const tenant = `bench${Date.now().toString(36)}`;
  const payload = 'x'.repeat(200);
  const n = Math.round(2000 * scale);
  const writes = await measure('create (single row)', n, (i) => repo.create(tenant, { id: `item-${i}`, owner: `o${i % 10}`, payload, n: i }));
  const reads = await measure('point read', n * 10, (i) => repo.get(tenant, `item-${i % n}`));
  const updates = await measure('update (compare-and-set)', n, (i) => repo.update(tenant, `item-${i}`, { id: `item-${i}`, owner: 'o', payload, n: -i }, 1));
  await repo.deleteMany(tenant);
  return { writes, reads, updates };
}

async function main() {
  console.log(`node ${process.version}, ${rounds} all-in-one starts`);
  const starts = [];
  for (let i = 0; i < rounds; i++) starts.push(await startAllInOnce());
  console.log(
    `all-in-one: ready log line ${median(starts.map((s) => s.readyMs)).toFixed(0)} ms, ` +
      `/health/ready 200 after ${median(starts.map((s) => s.healthyMs)).toFixed(0)} ms, ` +
      `idle RSS ${median(starts.map((s) => s.rssMb)).toFixed(0)} MB (medians)`,
  );

  const memory = await createStore({ type: 'memory' });
  await benchStore('memory', memory, 5);
  await memory.close();

  for (const synchronous of ['full', 'normal'] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'wallet-bench-sqlite-'));
    const sqlite = await createStore({ type: 'sqlite', path: join(dir, 'bench.db'), synchronous });
    await benchStore(`sqlite (WAL, synchronous=${synchronous})`, sqlite, 2);
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }

  if (mongoAvailable()) {
    const server = await startMongo();
    const mongo = await createStore({ type: 'mongodb', uri: server.uri });
    await benchStore(`mongodb (${process.env['MONGODB_URI'] ? 'MONGODB_URI' : 'local server'})`, mongo, 0.25);
    await mongo.close();
    await server.stop();
  } else {
    console.log('persistence mongodb: skipped (no MONGODB_URI, FerretDB or mongod)');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
