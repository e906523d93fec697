/**
 * Vault store benchmark (results go to docs/benchmarks.md): one user, records
 * of 1 KB plaintext encrypted on the client (@wallet/wallet-client, real key set,
 * blinded tags), through the `VaultStore` port from one process, one awaited
 * call at a time:
 *  - create N records (default 10,000), then random reads, then WQL queries
 *    of three clauses (two blinded equalities and one plaintext `~` tag) over
 *    all N records of the user;
 *  - throughput and p50/p99 latency per operation.
 * The REST-level numbers (with auth) are in bench/vault-api.bench.ts once the
 * API lands.
 *
 * Run: node tools/scripts/run-ts.mjs bench/vault-store.bench.ts [--records 10000] [--mongo-records 2000]
 *      [--drivers sqlite-normal,sqlite-full,mongodb]
 * MongoDB runs when MONGODB_URI is set or a FerretDB/mongod binary is found.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { generateVaultKeySet, VaultRecordCipher } from '@wallet/wallet-client';
import { createStore, type Store, type VaultRecordInput } from '@wallet/persistence';
import { mongoAvailable, startMongo } from '@wallet/testing';
import { parseWql } from '@wallet/wql';

function arg(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) || fallback : fallback;
}

const TYPES = ['pid', 'mdl', 'diploma', 'ehic', 'iban'];
const ISSUERS = Array.from({ length: 20 }, (_, i) => `https://issuer-${i}.example`);

interface Stats {
  opsPerSecond: number;
  p50: number;
  p99: number;
}

async function measure(label: string, count: number, op: (i: number) => Promise<unknown>): Promise<Stats> {
  const latencies = new Float64Array(count);
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await op(i);
    latencies[i] = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort();
  const stats = {
    opsPerSecond: count / seconds,
    p50: latencies[Math.floor(count * 0.5)] ?? 0,
    p99: latencies[Math.min(count - 1, Math.floor(count * 0.99))] ?? 0,
  };
  console.log(
    `  ${label}: ${Math.round(stats.opsPerSecond).toLocaleString('en')}/s, p50 ${stats.p50.toFixed(2)} ms, p99 ${stats.p99.toFixed(2)} ms (${count} ops)`,
  );
  return stats;
}

async function benchVault(name: string, store: Store, records: number): Promise<void> {
  console.log(`vault ${name}: ${records} records of one user, 1 KB plaintext each`);
  const vault = store.vault({ maxRecordsPerUser: records + 10 });
  const cipher = new VaultRecordCipher(generateVaultKeySet());
  const owner = { tenantId: 'bench', userId: `u${Date.now().toString(36)}` };
  // Encrypt ahead of time: the store is what is measured here.
  const inputs: VaultRecordInput[] = Array.from({ length: records }, (_, i) =>
    cipher.encryptRecord({
      id: `cred-${i}`,
      category: 'credential',
      value: randomBytes(1024),
      tags: {
        type: TYPES[i % TYPES.length] as string,
        issuer: ISSUERS[Math.floor(i / TYPES.length) % ISSUERS.length] as string,
        '~status': i % 3 === 0 ? 'revoked' : 'active',
        '~added': new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
      },
    }),
  );
  const ids = inputs.map((input) => input.id);
  await measure('create', records, (i) => vault.create(owner, inputs[i]!));
  await measure('read (random id)', Math.min(records * 2, 20_000), () => vault.get(owner, ids[Math.floor(Math.random() * records)]!));
  const queries = Array.from({ length: 100 }, (_, i) =>
    parseWql(cipher.blindQuery({ type: TYPES[i % TYPES.length]!, issuer: ISSUERS[i % ISSUERS.length]!, '~status': 'active' })),
  );
  let matched = 0;
  await measure('WQL query, 3 clauses', 300, async (i) => {
    const page = await vault.query(owner, queries[i % queries.length]!, { limit: 100 });
    matched += page.items.length;
  });
  console.log(`    (${(matched / 300).toFixed(1)} records per answer on average)`);
  const range = parseWql(cipher.blindQuery({ type: 'pid', '~added': { $gte: '2026-01-03' } }));
  await measure('WQL query, equality + range, first page of 100', 100, () => vault.query(owner, range, { limit: 100 }));
  await measure('sync from the start, pages of 500', 5, async () => {
    let cursor: string | null = null;
    for (;;) {
      const page = await vault.changes(owner, cursor, 500);
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
  });
}

async function main(): Promise<void> {
  const records = arg('--records', 10_000);
  const mongoRecords = arg('--mongo-records', 2_000);
  const driversIndex = process.argv.indexOf('--drivers');
  const drivers = (driversIndex >= 0 ? (process.argv[driversIndex + 1] ?? '') : 'sqlite-normal,sqlite-full,mongodb').split(',');
  console.log(`node ${process.version}`);
  for (const synchronous of ['normal', 'full'] as const) {
    if (!drivers.includes(`sqlite-${synchronous}`)) continue;
    const dir = mkdtempSync(join(tmpdir(), 'wallet-bench-vault-'));
    const sqlite = await createStore({ type: 'sqlite', path: join(dir, 'vault.db'), synchronous });
    await benchVault(`sqlite (WAL, synchronous=${synchronous})`, sqlite, records);
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (!drivers.includes('mongodb')) return;
  if (mongoAvailable()) {
    const server = await startMongo();
    const mongo = await createStore({ type: 'mongodb', uri: server.uri });
    await benchVault(`mongodb (${process.env['MONGODB_URI'] ? 'MONGODB_URI' : 'local FerretDB/mongod'})`, mongo, mongoRecords);
    await mongo.close();
    await server.stop();
  } else {
    console.log('vault mongodb: skipped (no MONGODB_URI, FerretDB or mongod)');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
