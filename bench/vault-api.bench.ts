/**
 * Vault REST benchmark (results go to docs/benchmarks.md): the built storage
 * service (`dist/apps/storage/main.js`, its own process) on SQLite or MongoDB,
 * driven over HTTP from this one process with a real access token on every
 * request (verified by the service's guard), records of 1 KB plaintext
 * encrypted on the client:
 *  - creates, reads by id and 3-clause WQL queries over N records of one user
 *    (default 10,000);
 *  - throughput with `--concurrency` requests in flight (default 4: the service
 *    is saturated there; more in flight only queues and adds latency) and the
 *    p50/p99 latency of a request, plus a sequential run of the query.
 *
 * Build first (`node tools/build/bundle.mjs`). Run:
 *   node tools/scripts/run-ts.mjs bench/vault-api.bench.ts [--records 10000] [--concurrency 4] [--drivers sqlite,mongodb] [--mongo-records 2000]
 */
import { generateVaultKeySet, VaultRecordCipher } from '@wallet/wallet-client';
import { createStore, type Store, type StoreOptions, type VaultRecordInput } from '@wallet/persistence';
import { loadConfig } from '@wallet/config';
import { ACCESS_TOKEN_KEY_PURPOSE, openServiceKeyRing } from '@wallet/platform';
import { mongoAvailable, startBuiltApp, startMongo } from '@wallet/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'undici';

function arg(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const TYPES = ['pid', 'mdl', 'diploma', 'ehic', 'iban'];
const ISSUERS = Array.from({ length: 20 }, (_, i) => `https://issuer-${i}.example`);

interface Stats {
  opsPerSecond: number;
  p50: number;
  p99: number;
}

async function measure(label: string, count: number, concurrency: number, op: (i: number) => Promise<void>): Promise<Stats> {
  const latencies = new Float64Array(count);
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        const t0 = process.hrtime.bigint();
        await op(i);
        latencies[i] = Number(process.hrtime.bigint() - t0) / 1e6;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort();
  const stats = {
    opsPerSecond: count / seconds,
    p50: latencies[Math.floor(count * 0.5)] ?? 0,
    p99: latencies[Math.min(count - 1, Math.floor(count * 0.99))] ?? 0,
  };
  console.log(
    `  ${label} (${concurrency} in flight): ${Math.round(stats.opsPerSecond).toLocaleString('en')}/s, ` +
      `p50 ${stats.p50.toFixed(2)} ms, p99 ${stats.p99.toFixed(2)} ms (${count} requests)`,
  );
  return stats;
}

async function benchApi(name: string, storeOptions: StoreOptions, env: Record<string, string>, records: number, concurrency: number) {
  console.log(`vault API on ${name}: ${records} records of one user, 1 KB plaintext each`);
  // The bench signs access tokens with the auth key ring in the service's own database, as auth
  // would; the key exists before the service starts, so its first key load finds it.
  const store: Store = await createStore(storeOptions);
  const config = loadConfig({ argv: [], env: { WALLET_AUTH_ISSUER: 'urn:bench:auth', WALLET_AUTH_AUDIENCE: 'urn:bench:api' } }).config;
  const ring = await openServiceKeyRing(store, config, ACCESS_TOKEN_KEY_PURPOSE);
  const token = await ring.sign(
    { iss: 'urn:bench:auth', aud: 'urn:bench:api', sub: `bench-${randomUUID().slice(0, 8)}`, tenant: 'default', jti: randomUUID() },
    { typ: 'at+jwt', expiresInSeconds: 3600 },
  );
  const app = await startBuiltApp('storage', {
    WALLET_VAULT_MAX_RECORDS_PER_USER: String(records + 10),
    WALLET_AUTH_ISSUER: 'urn:bench:auth',
    WALLET_AUTH_AUDIENCE: 'urn:bench:api',
    ...env,
  });
  const url = app.servers.get('storage') ?? [...app.servers.values()][0]!;
  const pool = new Pool(url, { connections: concurrency });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  async function request(method: 'GET' | 'POST', path: string, body: unknown, expected: number): Promise<string> {
    const response = await pool.request({ method, path, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.body.text();
    if (response.statusCode !== expected) throw new Error(`${method} ${path}: ${response.statusCode} ${text.slice(0, 300)}`);
    return text;
  }
  try {
    // One request first: concurrent first requests race the service's initial key load (CachedJwks
    // answers "unknown key" to misses while a reload is in flight).
    await request('GET', '/storage/vault/usage', undefined, 200);
    const cipher = new VaultRecordCipher(generateVaultKeySet());
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
    await measure('create', records, concurrency, async (i) => {
      await request('POST', '/storage/vault/records', inputs[i], 201);
    });
    await measure('read by id', Math.min(records * 2, 20_000), concurrency, async () => {
      await request('GET', `/storage/vault/records/${inputs[Math.floor(Math.random() * records)]!.id}`, undefined, 200);
    });
    const queries = Array.from({ length: 100 }, (_, i) => ({
      query: cipher.blindQuery({ type: TYPES[i % TYPES.length]!, issuer: ISSUERS[i % ISSUERS.length]!, '~status': 'active' }),
      limit: 100,
    }));
    await measure('WQL query, 3 clauses', 500, concurrency, async (i) => {
      await request('POST', '/storage/vault/query', queries[i % queries.length], 200);
    });
    await measure('WQL query, 3 clauses', 300, 1, async (i) => {
      await request('POST', '/storage/vault/query', queries[i % queries.length], 200);
    });
  } finally {
    await pool.close();
    await store.close();
    await app.stop('SIGTERM');
  }
}

async function main(): Promise<void> {
  const records = Number(arg('--records', '10000'));
  const concurrency = Number(arg('--concurrency', '4'));
  const drivers = arg('--drivers', 'sqlite,mongodb').split(',');
  console.log(`node ${process.version}`);
  if (drivers.includes('sqlite')) {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'wallet-bench-vault-api-'));
    const path = join(dir, 'wallet.db');
    await benchApi('SQLite (WAL, synchronous=normal)', { type: 'sqlite', path }, { WALLET_STORAGE_TYPE: 'sqlite', WALLET_STORAGE_SQLITE_PATH: path }, records, concurrency);
    rmSync(dir, { recursive: true, force: true });
  }
  if (drivers.includes('mongodb')) {
    if (!mongoAvailable()) {
      console.log('vault API on mongodb: skipped (no MONGODB_URI, FerretDB or mongod)');
      return;
    }
    const server = await startMongo();
    try {
      await benchApi(
        `MongoDB wire protocol (${process.env['MONGODB_URI'] ? 'MONGODB_URI' : 'local FerretDB/mongod'})`,
        { type: 'mongodb', uri: server.uri },
        { WALLET_STORAGE_TYPE: 'mongodb', WALLET_STORAGE_MONGODB_URI: server.uri },
        Number(arg('--mongo-records', '2000')),
        concurrency,
      );
    } finally {
      await server.stop();
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
