import { UnavailableError } from '@wallet/domain';
import {
  describeIfAvailable,
  findExecutable,
  redisAvailable,
  startOwnRedis,
  startRedis,
  uniquePrefix,
  type OwnRedis,
  type RedisHandle,
} from '@wallet/testing';
import { Redis } from 'ioredis';
import { runCacheContract, sleep, waitFor } from '../cache.contract';
import type { Cache, Lock } from '../ports';
import { createRedisCache, type RedisCacheOptions } from './redis-cache';

const describeRedis = describeIfAvailable(
  'cache:redis',
  redisAvailable(),
  'set REDIS_URL or put redis-server on PATH to run the Redis cache suite',
);

describeRedis('RedisCache', () => {
  let server: RedisHandle;
  // Every cache gets its own prefix below this one: the server may be shared.
  const base = uniquePrefix('cache-spec');
  let count = 0;
  const nextPrefix = () => `${base}${(count += 1)}:`;
  const open: Cache[] = [];

  const make = async (options: Partial<RedisCacheOptions> = {}): Promise<Cache> => {
    const cache = await createRedisCache({ url: server.url, keyPrefix: nextPrefix(), ...options });
    open.push(cache);
    return cache;
  };

  beforeAll(async () => {
    server = await startRedis();
  }, 20_000);

  afterEach(async () => {
    await Promise.all(open.splice(0).map((cache) => cache.close()));
  });

  afterAll(async () => {
    if (!server) return;
    const raw = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await raw.connect();
      let cursor = '0';
      do {
        const [next, keys] = await raw.scan(cursor, 'MATCH', `${base}*`, 'COUNT', 500);
        if (keys.length) await raw.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      raw.disconnect();
      await server.stop();
    }
  });

  runCacheContract('redis', (deps) =>
    createRedisCache({ url: server.url, keyPrefix: nextPrefix(), commandTimeoutMs: 2000 }, deps),
  );

  describe('two instances on one Redis (two replicas)', () => {
    let a: Cache;
    let b: Cache;

    beforeEach(async () => {
      const keyPrefix = nextPrefix();
      a = await make({ keyPrefix });
      b = await make({ keyPrefix });
    });

    it('see each other’s keys', async () => {
      await a.set('k', 'from-a', { ttlMs: 5000 });
      expect(await b.get('k')).toBe('from-a');
      expect(await b.delete('k')).toBe(true);
      expect(await a.get('k')).toBeNull();
    });

    it('deliver a message published on one to subscribers on both', async () => {
      const onA: string[] = [];
      const onB: string[] = [];
      await a.subscribe('events', (message) => onA.push(message));
      await b.subscribe('events', (message) => onB.push(message));
      await a.publish('events', 'hello replicas');
      await waitFor(() => onA.length === 1 && onB.length === 1);
      expect(onA).toEqual(['hello replicas']);
      expect(onB).toEqual(['hello replicas']);
    });

    it('race for one lock and only one wins', async () => {
      const attempts = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).acquireLock('migration', 5000)),
      );
      const winners = attempts.filter((lock): lock is Lock => lock !== null);
      expect(winners).toHaveLength(1);
      const winner = winners[0] as Lock;
      expect(await a.acquireLock('migration', 5000)).toBeNull();
      expect(await b.acquireLock('migration', 5000)).toBeNull();
      expect(await winner.release()).toBe(true);
      const next = await b.acquireLock('migration', 5000);
      expect(next?.fence).toBeGreaterThan(winner.fence);
    });

    it('race to take one value and only one gets it', async () => {
      await a.set('code', 'one-time');
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).take('code')));
      expect(results.filter((value) => value === 'one-time')).toHaveLength(1);
    });

    it('race to compare-and-set and only one wins', async () => {
      await a.set('version', '1');
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).compareAndSet('version', '1', `2-by-${i}`)),
      );
      const winners = results.flatMap((won, i) => (won ? [i] : []));
      expect(winners).toHaveLength(1);
      expect(await b.get('version')).toBe(`2-by-${winners[0]}`);
    });

    it('share one counter', async () => {
      const values = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).increment('hits', { ttlMs: 5000 })),
      );
      expect([...values].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });
  });

  describe('key prefixes', () => {
    it('isolate keys, locks and channels of caches with different prefixes', async () => {
      const one = await make();
      const two = await make();
      await one.set('k', 'one');
      expect(await two.get('k')).toBeNull();
      expect(await one.acquireLock('job', 5000)).not.toBeNull();
      expect(await two.acquireLock('job', 5000)).not.toBeNull();
      const received: string[] = [];
      await two.subscribe('events', (message) => received.push(message));
      await one.publish('events', 'not for two');
      await sleep(100);
      expect(received).toEqual([]);
    });

    it('put keys under <prefix>kv: and channels under <prefix>', async () => {
      const keyPrefix = nextPrefix();
      const cache = await make({ keyPrefix });
      const raw = new Redis(server.url);
      const rawSubscriber = new Redis(server.url);
      try {
        await cache.set('k', 'v');
        expect(await raw.get(`${keyPrefix}kv:k`)).toBe('v');
        await raw.set(`${keyPrefix}kv:from-raw`, 'r');
        expect(await cache.get('from-raw')).toBe('r');

        const seen: string[] = [];
        rawSubscriber.on('message', (channel: string, message: string) => seen.push(`${channel}=${message}`));
        await rawSubscriber.subscribe(`${keyPrefix}events`);
        await cache.publish('events', 'm');
        await waitFor(() => seen.length === 1);
        expect(seen).toEqual([`${keyPrefix}events=m`]);
      } finally {
        raw.disconnect();
        rawSubscriber.disconnect();
      }
    });
  });

  it('reports a failing connection, not a hang, when nothing listens', async () => {
    const errors: unknown[] = [];
    const cache = await createRedisCache(
      { url: 'redis://127.0.0.1:1', commandTimeoutMs: 300 },
      { onError: (error, source) => source === 'connection' && errors.push(error) },
    );
    open.push(cache);
    const started = Date.now();
    const error: unknown = await cache.get('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(errors.length).toBeGreaterThan(0);
    // The cause chain keeps the connection error for the logs.
    expect(String((error as Error & { cause?: { cause?: unknown } }).cause?.cause)).toMatch(/ECONNREFUSED/);
  });
});

describeIfAvailable(
  'cache:redis-restart',
  findExecutable('redis-server') !== null,
  'put redis-server on PATH to run the Redis restart test',
)('RedisCache across a Redis restart', () => {
  let server: OwnRedis;
  const caches: Cache[] = [];

  beforeAll(async () => {
    server = await startOwnRedis();
  }, 20_000);

  afterAll(async () => {
    await Promise.all(caches.map((cache) => cache.close()));
    await server?.stop();
  });

  it('fails fast while Redis is down and recovers, subscriptions included, when it is back', async () => {
    const cache = await createRedisCache({
      url: server.url,
      keyPrefix: uniquePrefix('restart'),
      commandTimeoutMs: 500,
    });
    caches.push(cache);
    await cache.set('k', 'v');
    expect(await cache.get('k')).toBe('v');
    const received: string[] = [];
    await cache.subscribe('events', (message) => received.push(message));
    await cache.publish('events', 'before');
    await waitFor(() => received.includes('before'));
    const lockBefore = await cache.acquireLock('job', 60_000);
    expect(lockBefore).not.toBeNull();

    await server.stop();

    let started = Date.now();
    await expect(cache.ping()).rejects.toBeInstanceOf(UnavailableError);
    expect(Date.now() - started).toBeLessThan(1500);
    started = Date.now();
    await expect(cache.get('k')).rejects.toMatchObject({ code: 'unavailable' });
    expect(Date.now() - started).toBeLessThan(1500);
    await expect(cache.acquireLock('job', 1000)).rejects.toMatchObject({ code: 'unavailable' });

    await server.start();

    await waitFor(
      async () => cache.ping().then(() => true, () => false),
      5000,
      'ping did not recover after the restart',
    );
    // The server kept nothing (no persistence); the cache works again.
    expect(await cache.get('k')).toBeNull();
    await cache.set('k', 'again');
    expect(await cache.get('k')).toBe('again');
    // Scripts are loaded again after the restart emptied the script cache.
    expect(await cache.compareAndSet('k', 'again', 'swapped')).toBe(true);
    // The server forgot the lock and its fence counter, yet the new fence is larger.
    const lockAfter = await cache.acquireLock('job', 1000);
    expect(lockAfter?.fence).toBeGreaterThan(lockBefore?.fence ?? Number.POSITIVE_INFINITY);
    expect(await lockBefore?.release()).toBe(false);

    // The subscription made before the restart is restored by the reconnect.
    await waitFor(
      async () => {
        await cache.publish('events', 'after');
        await sleep(50);
        return received.includes('after');
      },
      5000,
      'the subscription did not survive the restart',
    );
    expect(received[0]).toBe('before');
  }, 30_000);

  it('a command issued during a short outage waits for the reconnect within its timeout', async () => {
    const cache = await createRedisCache({
      url: server.url,
      keyPrefix: uniquePrefix('outage'),
      commandTimeoutMs: 8000,
    });
    caches.push(cache);
    await cache.ping();
    await server.stop();
    // Let the client see the closed socket, so the command is issued while disconnected.
    await sleep(200);
    const pending = cache.set('k', 'written during the outage');
    await sleep(300);
    await server.start();
    await expect(pending).resolves.toBeUndefined();
    expect(await cache.get('k')).toBe('written during the outage');
  }, 30_000);
});
