/**
 * Registry benchmarks (results go to docs/benchmarks.md):
 *  - cached type-metadata lookups/s: `TypeMetadataResolver.resolve` on a warm
 *    cache (in-process, memory and Redis cache), and `GET /registry/type-metadata`
 *    against the built registry bundle over HTTP;
 *  - warm trust decisions/s: `TrustEvaluator.evaluate` with the decision cached
 *    (memory and Redis cache).
 * Target: at least 10,000/s each from one process.
 *
 * Run: node tools/scripts/run-ts.mjs bench/registry.bench.ts
 * Build first (`node tools/build/bundle.mjs registry`). Redis rows run when
 * REDIS_URL is set or redis-server is found.
 */
import { createCache, type Cache } from '@wallet/cache';
import { OutboundClient } from '@wallet/platform';
import { TypeMetadataResolver } from '@wallet/registry-feature';
import { redisAvailable, startBuiltApp, startRedis, uniquePrefix } from '@wallet/testing';
import { TrustEvaluator } from '@wallet/trust';
import { exportJWK, generateKeyPair } from 'jose';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const DURATION_MS = Number(process.argv[process.argv.indexOf('--ms') + 1]) || 3_000;

/** Runs `op` with `concurrency` loops for DURATION_MS; returns operations per second. */
async function measure(label: string, concurrency: number, op: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await op(i); // warm-up
  let count = 0;
  const started = process.hrtime.bigint();
  const deadline = Date.now() + DURATION_MS;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) await op(count++);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rate = count / seconds;
  console.log(`  ${label}: ${Math.round(rate).toLocaleString('en')}/s (${count} ops, concurrency ${concurrency}, ${seconds.toFixed(1)} s)`);
  return rate;
}

async function main() {
  console.log(`node ${process.version}`);
  const upstream = createServer((req, res) => {
    if (req.url === '/evaluation') {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"decision":true}'));
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=3600' })
      .end(JSON.stringify({ vct: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}${req.url}`, name: 'Bench', claims: [{ path: ['a'] }] }));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const http = new OutboundClient({ allowHttp: true, allowCidrs: ['127.0.0.1/32'] });
  const jwk = { ...(await exportJWK((await generateKeyPair('ES256')).publicKey)) };

  const caches: Array<[string, () => Promise<Cache>, number]> = [['memory', () => createCache({ type: 'memory' }), 1]];
  let stopRedis: (() => Promise<void>) | null = null;
  if (redisAvailable()) {
    const redis = await startRedis();
    stopRedis = () => redis.stop();
    caches.push(['redis', () => createCache({ type: 'redis', url: redis.url, keyPrefix: uniquePrefix('bench') }), 32]);
  }

  for (const [name, open, concurrency] of caches) {
    for (const localCacheMs of [undefined, 0]) {
      const cache = await open();
      console.log(`cache: ${name}${localCacheMs === 0 ? ', in-process reuse off (every read goes to the cache)' : ', default in-process reuse'}`);
      const resolver = new TypeMetadataResolver(
        {
          defaultTtlMs: 3_600_000,
          minTtlMs: 60_000,
          maxTtlMs: 86_400_000,
          staleMaxMs: 86_400_000,
          maxExtendsDepth: 5,
          maxDocumentBytes: 262_144,
          maxImageBytes: 524_288,
          imageTypes: ['image/png'],
          keyPrefix: uniquePrefix('bench-registry'),
          ...(localCacheMs === undefined ? {} : { localCacheMs }),
        },
        { http, cache, local: async () => null },
      );
      const vcts = Array.from({ length: 100 }, (_, i) => `${base}/vct/t${i}`);
      for (const vct of vcts) await resolver.resolve(vct);
      await measure('cached type-metadata lookups (resolver)', concurrency, (i) => resolver.resolve(vcts[i % vcts.length]!));

      const evaluator = new TrustEvaluator(
        {
          policy: 'pdp',
          pdpUrl: base,
          cacheTtlMs: 3_600_000,
          keyPrefix: uniquePrefix('bench-trust'),
          ...(localCacheMs === undefined ? {} : { localCacheMs }),
        },
        { cache, http, tenantPdpUrl: async () => undefined },
      );
      const entities = Array.from({ length: 100 }, (_, i) => `https://issuer${i}.example`);
      const query = (i: number) => ({
        tenantId: `t${i % 5}`,
        entityId: entities[i % entities.length]!,
        role: 'credential-issuer' as const,
        key: { type: 'jwk' as const, jwk },
        credentialTypes: ['urn:eudi:pid:1'],
      });
      for (let i = 0; i < 500; i++) await evaluator.evaluate(query(i));
      await measure('warm trust decisions (evaluator)', concurrency, (i) => evaluator.evaluate(query(i)));
      await cache.close();
    }
  }

  console.log('HTTP: built registry bundle (SQLite, memory cache)');
  const proc = await startBuiltApp('registry', {
    WALLET_LOGGING_LEVEL: 'info',
    WALLET_OUTBOUND_ALLOW_HTTP: 'true',
    WALLET_OUTBOUND_ALLOW_CIDRS: '127.0.0.1/32',
  });
  const url = proc.servers.get('registry')!;
  const headers = {};
  const pool = new Pool(url, { connections: 16, pipelining: 1 });
  const path = (i: number) => `/registry/type-metadata?vct=${encodeURIComponent(`${base}/vct/h${i % 50}`)}`;
  for (let i = 0; i < 50; i++) await (await pool.request({ path: path(i), method: 'GET', headers })).body.text();
  await measure('cached GET /registry/type-metadata (HTTP, keep-alive)', 32, async (i) => {
    const response = await pool.request({ path: path(i), method: 'GET', headers });
    await response.body.text();
    if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`);
  });
  await pool.close();
  await proc.stop('SIGTERM');

  await http.close();
  await stopRedis?.();
  upstream.close();
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
