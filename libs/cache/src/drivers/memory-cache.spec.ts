import { runCacheContract, sleep, waitFor } from '../cache.contract';
import type { Cache } from '../ports';
import { MemoryCache } from './memory-cache';

runCacheContract('memory', async (deps) => new MemoryCache(deps));

describe('MemoryCache with a frozen clock', () => {
  let now: number;
  let cache: MemoryCache;

  beforeEach(() => {
    now = 1_700_000_000_000;
    cache = new MemoryCache({ now: () => now });
  });

  afterEach(async () => {
    await cache.close();
  });

  it('expires a key exactly when its TTL has passed', async () => {
    await cache.set('k', 'v', { ttlMs: 1000 });
    now += 999;
    expect(await cache.get('k')).toBe('v');
    now += 1;
    expect(await cache.get('k')).toBeNull();
  });

  it('setIfAbsent, take and compareAndSet see an expired key as missing', async () => {
    await cache.set('a', 'old', { ttlMs: 10 });
    await cache.set('b', 'old', { ttlMs: 10 });
    await cache.set('c', 'old', { ttlMs: 10 });
    now += 10;
    expect(await cache.setIfAbsent('a', 'new')).toBe(true);
    expect(await cache.take('b')).toBeNull();
    expect(await cache.compareAndSet('c', 'old', 'new')).toBe(false);
    expect(await cache.compareAndSet('c', null, 'new')).toBe(true);
  });

  it('increment keeps the TTL of the window it started', async () => {
    expect(await cache.increment('hits', { ttlMs: 60_000 })).toBe(1);
    now += 59_000;
    expect(await cache.increment('hits', { ttlMs: 60_000 })).toBe(2);
    now += 1_000;
    expect(await cache.increment('hits', { ttlMs: 60_000 })).toBe(1);
  });

  it('a lock expires on the clock, extend moves the expiry, the next fence is larger', async () => {
    const first = await cache.acquireLock('job', 30_000);
    if (!first) throw new Error('expected the lock');
    now += 20_000;
    expect(await first.extend(30_000)).toBe(true);
    now += 29_999;
    expect(await cache.acquireLock('job', 1000)).toBeNull();
    now += 1;
    const second = await cache.acquireLock('job', 1000);
    expect(second?.fence).toBe(first.fence + 1);
    expect(await first.extend(30_000)).toBe(false);
    expect(await first.release()).toBe(false);
  });

  it('the sweep removes expired entries nobody reads', async () => {
    await cache.set('short', 'v', { ttlMs: 100 });
    await cache.set('long', 'v', { ttlMs: 10_000 });
    await cache.set('forever', 'v');
    expect(cache.size).toBe(3);
    now += 100;
    expect(cache.sweepExpired()).toBe(1);
    expect(cache.size).toBe(2);
    now += 10_000;
    expect(cache.sweepExpired()).toBe(1);
    expect(await cache.get('forever')).toBe('v');
  });
});

describe('MemoryCache sweep timer', () => {
  it('runs on its own without keeping the process alive', async () => {
    let now = 0;
    const cache = new MemoryCache({ now: () => now }, { sweepIntervalMs: 20 });
    try {
      await cache.set('k', 'v', { ttlMs: 5 });
      now = 10;
      await waitFor(() => cache.size === 0, 1000, 'sweep did not run');
      expect(cache.size).toBe(0);
    } finally {
      await cache.close();
    }
  });
});

describe('MemoryCache instances', () => {
  it('share nothing with each other', async () => {
    const a: Cache = new MemoryCache();
    const b: Cache = new MemoryCache();
    try {
      await a.set('k', 'v');
      const received: string[] = [];
      await b.subscribe('events', (message) => received.push(message));
      await a.publish('events', 'm');
      await sleep(20);
      expect(await b.get('k')).toBeNull();
      expect(received).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
