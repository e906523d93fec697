import { createCache, type Cache } from '@wallet/cache';
import { describeIfAvailable, redisAvailable, startRedis, uniquePrefix, type RedisHandle } from '@wallet/testing';
import { RateLimiter } from './rate-limiter';

describe('RateLimiter (memory cache)', () => {
  it('allows the limit per window and subject, then refuses until the window ends', async () => {
    const cache = await createCache({ type: 'memory' });
    let now = 1_000_000;
    const limiter = new RateLimiter(cache, () => now);
    const rule = { limit: 3, windowMs: 10_000 };
    const results = [];
    for (let i = 0; i < 4; i++) results.push((await limiter.hit('b', 'ip:1', rule)).allowed);
    expect(results).toEqual([true, true, true, false]);
    expect((await limiter.hit('b', 'ip:2', rule)).allowed).toBe(true);
    expect((await limiter.hit('other', 'ip:1', rule)).allowed).toBe(true);
    const refused = await limiter.hit('b', 'ip:1', rule);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, resetMs: 10_000 });
    now += 10_000;
    expect((await limiter.hit('b', 'ip:1', rule)).allowed).toBe(true);
    await cache.close();
  });
});

describeIfAvailable('platform:rate-limit-redis', redisAvailable(), 'no Redis server (set REDIS_URL or put redis-server on PATH)')(
  'RateLimiter shared by replicas through Redis',
  () => {
    let redis: RedisHandle;
    let caches: Cache[];

    beforeAll(async () => {
      redis = await startRedis();
      const keyPrefix = uniquePrefix('rl');
      caches = await Promise.all([createCache({ type: 'redis', url: redis.url, keyPrefix }), createCache({ type: 'redis', url: redis.url, keyPrefix })]);
    });
    afterAll(async () => {
      await Promise.all(caches.map((c) => c.close()));
      await redis.stop();
    });

    it('counts requests from two processes against one budget', async () => {
      const [a, b] = caches.map((cache) => new RateLimiter(cache));
      const rule = { limit: 10, windowMs: 3_600_000 };
      const decisions = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? a! : b!).hit('shared', 'ip:9', rule)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
    });
  },
);
