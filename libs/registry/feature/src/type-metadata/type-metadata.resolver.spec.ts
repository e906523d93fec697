import { createCache, type Cache } from '@wallet/cache';
import { OutboundClient } from '@wallet/platform';
import { describeIfAvailable, redisAvailable, startRedis, uniquePrefix, type RedisHandle } from '@wallet/testing';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freshnessMs, mergeTypeMetadata, metadataUrls, TypeMetadataResolver } from './type-metadata.resolver';

let server: Server;
let base: string;
let hits = 0;
let failing = false;
const conditional: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    if (failing) return void res.writeHead(500).end();
    if (req.url === '/vct/dated') {
      const since = req.headers['if-modified-since'];
      if (since) conditional.push(since);
      if (since === 'Wed, 01 Jan 2025 00:00:00 GMT') return void res.writeHead(304, { 'cache-control': 'max-age=1' }).end();
      return void res
        .writeHead(200, { 'content-type': 'application/json', 'last-modified': 'Wed, 01 Jan 2025 00:00:00 GMT', 'cache-control': 'max-age=1' })
        .end(JSON.stringify({ vct: `${base}/vct/dated` }));
    }
    setTimeout(() => {
      res
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=1' })
        .end(JSON.stringify({ vct: `${base}${req.url}`, name: 'Slow' }));
    }, 150);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const http = new OutboundClient({ allowHttp: true, allowCidrs: ['127.0.0.1/32'] });
afterAll(() => http.close());

function replica(cache: Cache, keyPrefix: string): TypeMetadataResolver {
  return new TypeMetadataResolver(
    {
      defaultTtlMs: 60_000,
      minTtlMs: 0,
      maxTtlMs: 60_000,
      staleMaxMs: 60_000,
      maxExtendsDepth: 5,
      maxDocumentBytes: 65_536,
      maxImageBytes: 65_536,
      imageTypes: ['image/png'],
      keyPrefix,
    },
    { http, cache, local: async () => null },
  );
}

function replicaSuite(driver: string, open: () => Promise<Cache>) {
  describe(`TypeMetadataResolver replicas (${driver} cache)`, () => {
    let cache: Cache;
    beforeAll(async () => {
      cache = await open();
    });
    afterAll(() => cache.close());

    it('fetches a cold vct once for concurrent requests on several replicas', async () => {
      const prefix = uniquePrefix('registry');
      const replicas = [replica(cache, prefix), replica(cache, prefix), replica(cache, prefix)];
      hits = 0;
      const vct = `${base}/vct/${driver}-cold`;
      const results = await Promise.all(replicas.flatMap((r) => [r.resolve(vct), r.resolve(vct), r.resolve(vct)]));
      expect(results.every((r) => r.metadata['name'] === 'Slow')).toBe(true);
      expect(hits).toBe(1);
      expect((await replicas[2]!.resolve(vct)).cache).toBe('hit');
    });

    it('serves a stale copy on another replica when the upstream fails', async () => {
      const prefix = uniquePrefix('registry');
      const vct = `${base}/vct/${driver}-stale`;
      failing = false;
      await replica(cache, prefix).resolve(vct);
      await new Promise((r) => setTimeout(r, 1_100));
      failing = true;
      try {
        const stale = await replica(cache, prefix).resolve(vct);
        expect(stale.cache).toBe('stale');
        expect(stale.maxAgeSeconds).toBe(0);
        await expect(replica(cache, uniquePrefix('registry')).resolve(vct)).rejects.toMatchObject({ code: 'bad_gateway' });
      } finally {
        failing = false;
      }
    });
  });
}

replicaSuite('memory', () => createCache({ type: 'memory' }));

let redis: RedisHandle | undefined;
describeIfAvailable('registry replicas on redis', redisAvailable(), 'no REDIS_URL and no redis-server')('with redis', () => {
  afterAll(() => redis?.stop());
  replicaSuite('redis', async () => {
    redis = await startRedis();
    return createCache({ type: 'redis', url: redis.url });
  });
});

describe('revalidation with Last-Modified', () => {
  it('sends If-Modified-Since and keeps the copy on 304', async () => {
    const cache = await createCache({ type: 'memory' });
    const resolver = replica(cache, uniquePrefix('registry'));
    expect((await resolver.resolve(`${base}/vct/dated`)).cache).toBe('miss');
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await resolver.resolve(`${base}/vct/dated`)).cache).toBe('revalidated');
    expect(conditional).toEqual(['Wed, 01 Jan 2025 00:00:00 GMT']);
    await cache.close();
  });
});

describe('type metadata helpers', () => {
  it('bounds Cache-Control freshness', () => {
    const bounds = { defaultTtlMs: 3_600_000, minTtlMs: 60_000, maxTtlMs: 86_400_000 };
    expect(freshnessMs(undefined, bounds)).toBe(3_600_000);
    expect(freshnessMs('public, max-age=10', bounds)).toBe(60_000);
    expect(freshnessMs('max-age=600', bounds)).toBe(600_000);
    expect(freshnessMs('s-maxage=999999999', bounds)).toBe(86_400_000);
    expect(freshnessMs('no-store', bounds)).toBe(60_000);
  });

  it('derives the well-known location and merges extends', () => {
    expect(metadataUrls('https://example.com/types/pid?v=1')).toEqual([
      'https://example.com/types/pid?v=1',
      'https://example.com/.well-known/vct/types/pid?v=1',
    ]);
    expect(
      mergeTypeMetadata(
        { vct: 'p', name: 'Parent', display: [{ lang: 'en' }], claims: [{ path: ['a'], sd: 'never' }] },
        { vct: 'c', claims: [{ path: ['a'], sd: 'always' }, { path: ['b'] }] },
      ),
    ).toEqual({ vct: 'c', name: 'Parent', display: [{ lang: 'en' }], claims: [{ path: ['a'], sd: 'always' }, { path: ['b'] }] });
  });
});
