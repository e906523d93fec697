import { UnavailableError } from '@wallet/domain';
import { getJson, setJson } from './json';
import type { Cache, CacheDeps, CacheErrorSource, Lock } from './ports';

/**
 * The behaviour every driver must have. `makeCache` returns a fresh cache
 * that shares no keys, locks or channels with any earlier one. Expiry is
 * tested with short real TTLs so that the same tests run against Redis.
 */
export function runCacheContract(name: string, makeCache: (deps?: CacheDeps) => Promise<Cache>): void {
  describe(`Cache contract: ${name}`, () => {
    let cache: Cache;

    beforeEach(async () => {
      cache = await makeCache();
    });

    afterEach(async () => {
      await cache.close();
    });

    describe('get / set / delete', () => {
      it('returns null for a missing key and the stored value otherwise', async () => {
        expect(await cache.get('missing')).toBeNull();
        await cache.set('greeting', 'hello');
        expect(await cache.get('greeting')).toBe('hello');
      });

      it('overwrites, keeps empty strings and unicode as they are', async () => {
        await cache.set('k', 'one');
        await cache.set('k', 'two');
        expect(await cache.get('k')).toBe('two');
        await cache.set('empty', '');
        expect(await cache.get('empty')).toBe('');
        await cache.set('unicode', 'grüße ✓ 🗝');
        expect(await cache.get('unicode')).toBe('grüße ✓ 🗝');
      });

      it('getMany answers several keys at once, in order, null for missing and expired ones', async () => {
        expect(await cache.getMany([])).toEqual([]);
        await cache.set('a', '1');
        await cache.set('c', '');
        await cache.set('gone', 'x', { ttlMs: 30 });
        await new Promise((r) => setTimeout(r, 80));
        expect(await cache.getMany(['a', 'b', 'c', 'gone', 'a'])).toEqual(['1', null, '', null, '1']);
      });

      it('delete reports whether a key was removed', async () => {
        await cache.set('k', 'v');
        expect(await cache.delete('k')).toBe(true);
        expect(await cache.get('k')).toBeNull();
        expect(await cache.delete('k')).toBe(false);
      });

      it('rejects TTLs that are not whole positive milliseconds', async () => {
        for (const ttlMs of [0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
          await expect(cache.set('k', 'v', { ttlMs })).rejects.toMatchObject({ code: 'validation_failed' });
        }
        await expect(cache.acquireLock('lock', 0)).rejects.toMatchObject({ code: 'validation_failed' });
        expect(await cache.get('k')).toBeNull();
      });
    });

    describe('expiry', () => {
      it('a key with a TTL disappears after it, one without stays', async () => {
        await cache.set('short', 'v', { ttlMs: 100 });
        await cache.set('forever', 'v');
        expect(await cache.get('short')).toBe('v');
        await sleep(250);
        expect(await cache.get('short')).toBeNull();
        expect(await cache.get('forever')).toBe('v');
        expect(await cache.delete('short')).toBe(false);
      });

      it('set without a TTL removes an earlier TTL', async () => {
        await cache.set('k', 'first', { ttlMs: 100 });
        await cache.set('k', 'second');
        await sleep(250);
        expect(await cache.get('k')).toBe('second');
      });

      it('an expired key can be taken by nobody', async () => {
        await cache.set('code', 'secret', { ttlMs: 50 });
        await sleep(200);
        expect(await cache.take('code')).toBeNull();
      });
    });

    describe('setIfAbsent', () => {
      it('sets only a missing key', async () => {
        expect(await cache.setIfAbsent('k', 'first')).toBe(true);
        expect(await cache.setIfAbsent('k', 'second')).toBe(false);
        expect(await cache.get('k')).toBe('first');
      });

      it('treats an expired key as missing and applies its own TTL', async () => {
        expect(await cache.setIfAbsent('k', 'first', { ttlMs: 50 })).toBe(true);
        await sleep(200);
        expect(await cache.setIfAbsent('k', 'second', { ttlMs: 100 })).toBe(true);
        expect(await cache.get('k')).toBe('second');
        await sleep(250);
        expect(await cache.get('k')).toBeNull();
      });

      it('of 20 concurrent writers exactly one wins', async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => cache.setIfAbsent('race', `writer-${i}`)),
        );
        const winners = results.flatMap((won, i) => (won ? [i] : []));
        expect(winners).toHaveLength(1);
        expect(await cache.get('race')).toBe(`writer-${winners[0]}`);
      });
    });

    describe('take', () => {
      it('returns the value once and deletes the key', async () => {
        await cache.set('code', 'abc');
        expect(await cache.take('code')).toBe('abc');
        expect(await cache.take('code')).toBeNull();
        expect(await cache.get('code')).toBeNull();
      });

      it('of 20 concurrent takers exactly one gets the value', async () => {
        await cache.set('code', 'one-time');
        const results = await Promise.all(Array.from({ length: 20 }, () => cache.take('code')));
        expect(results.filter((value) => value === 'one-time')).toHaveLength(1);
        expect(results.filter((value) => value === null)).toHaveLength(19);
      });
    });

    describe('compareAndSet', () => {
      it('replaces the value only when it equals the expected one', async () => {
        await cache.set('k', 'v1');
        expect(await cache.compareAndSet('k', 'other', 'v2')).toBe(false);
        expect(await cache.get('k')).toBe('v1');
        expect(await cache.compareAndSet('k', 'v1', 'v2')).toBe(true);
        expect(await cache.get('k')).toBe('v2');
      });

      it('expected null means the key must not exist', async () => {
        expect(await cache.compareAndSet('k', null, 'created')).toBe(true);
        expect(await cache.get('k')).toBe('created');
        expect(await cache.compareAndSet('k', null, 'again')).toBe(false);
        expect(await cache.get('k')).toBe('created');
        expect(await cache.compareAndSet('missing', 'anything', 'v')).toBe(false);
        expect(await cache.get('missing')).toBeNull();
      });

      it('does not confuse an empty string with a missing key', async () => {
        await cache.set('empty', '');
        expect(await cache.compareAndSet('empty', null, 'x')).toBe(false);
        expect(await cache.compareAndSet('empty', '', 'x')).toBe(true);
        expect(await cache.compareAndSet('missing', '', 'x')).toBe(false);
      });

      it('sets the TTL it is given and treats an expired key as missing', async () => {
        expect(await cache.compareAndSet('k', null, 'v', { ttlMs: 100 })).toBe(true);
        await sleep(250);
        expect(await cache.get('k')).toBeNull();
        expect(await cache.compareAndSet('k', 'v', 'late')).toBe(false);
        expect(await cache.compareAndSet('k', null, 'fresh')).toBe(true);
        expect(await cache.get('k')).toBe('fresh');
      });

      it('of 20 racing writers with the same expected value exactly one wins', async () => {
        await cache.set('version', '7');
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => cache.compareAndSet('version', '7', `8-by-${i}`)),
        );
        const winners = results.flatMap((won, i) => (won ? [i] : []));
        expect(winners).toHaveLength(1);
        expect(await cache.get('version')).toBe(`8-by-${winners[0]}`);
      });
    });

    describe('increment', () => {
      it('counts from 1', async () => {
        expect(await cache.increment('n')).toBe(1);
        expect(await cache.increment('n')).toBe(2);
        expect(await cache.increment('n')).toBe(3);
        expect(await cache.get('n')).toBe('3');
      });

      it('continues from a stored integer', async () => {
        await cache.set('n', '41');
        expect(await cache.increment('n')).toBe(42);
      });

      it('sets the TTL when it creates the key and does not extend it later', async () => {
        expect(await cache.increment('window', { ttlMs: 400 })).toBe(1);
        await sleep(200);
        expect(await cache.increment('window', { ttlMs: 400 })).toBe(2);
        await sleep(300);
        // Expired 400 ms after creation, not 400 ms after the second increment.
        expect(await cache.get('window')).toBeNull();
        expect(await cache.increment('window', { ttlMs: 400 })).toBe(1);
      });

      it('20 concurrent increments produce 1..20 each once', async () => {
        const values = await Promise.all(Array.from({ length: 20 }, () => cache.increment('n')));
        expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      });

      it('rejects a value that is not an integer', async () => {
        await cache.set('n', 'not a number');
        await expect(cache.increment('n')).rejects.toMatchObject({ code: 'internal' });
        expect(await cache.get('n')).toBe('not a number');
      });
    });

    describe('locks', () => {
      it('is exclusive while held', async () => {
        const lock = await cache.acquireLock('job', 5000);
        expect(lock).not.toBeNull();
        expect(lock?.name).toBe('job');
        expect(lock?.token).toMatch(/^[A-Za-z0-9_-]{16,}$/);
        expect(lock?.fence).toBeGreaterThan(0);
        expect(await cache.acquireLock('job', 5000)).toBeNull();
        expect(await cache.acquireLock('other-job', 5000)).not.toBeNull();
      });

      it('of 20 concurrent acquirers exactly one wins', async () => {
        const locks = await Promise.all(Array.from({ length: 20 }, () => cache.acquireLock('job', 5000)));
        expect(locks.filter((lock) => lock !== null)).toHaveLength(1);
      });

      it('is released by its holder only, once, and then taken with a larger fence', async () => {
        const first = must(await cache.acquireLock('job', 5000));
        expect(await first.release()).toBe(true);
        expect(await first.release()).toBe(false);
        const second = must(await cache.acquireLock('job', 5000));
        expect(second.fence).toBeGreaterThan(first.fence);
        expect(second.token).not.toBe(first.token);
        // The earlier holder cannot release or extend someone else's lock.
        expect(await first.release()).toBe(false);
        expect(await first.extend(5000)).toBe(false);
        expect(await cache.acquireLock('job', 5000)).toBeNull();
        expect(await second.release()).toBe(true);
      });

      it('extend keeps the lock beyond its first TTL', async () => {
        const lock = must(await cache.acquireLock('job', 300));
        await sleep(50);
        expect(await lock.extend(1500)).toBe(true);
        await sleep(450);
        expect(await cache.acquireLock('job', 1000)).toBeNull();
        expect(await lock.release()).toBe(true);
      });

      it('expires, and the next holder gets a strictly larger fence', async () => {
        const first = must(await cache.acquireLock('job', 100));
        await sleep(250);
        const second = must(await cache.acquireLock('job', 5000));
        expect(second.fence).toBeGreaterThan(first.fence);
        expect(await first.extend(5000)).toBe(false);
        expect(await first.release()).toBe(false);
        expect(await cache.acquireLock('job', 5000)).toBeNull();
      });

      it('fences keep growing over many acquisitions', async () => {
        const fences: number[] = [];
        for (let i = 0; i < 5; i += 1) {
          const lock = must(await cache.acquireLock('job', 5000));
          fences.push(lock.fence);
          await lock.release();
        }
        for (let i = 1; i < fences.length; i += 1) expect(fences[i]).toBeGreaterThan(fences[i - 1] as number);
      });

      it('rejects a bad TTL on extend', async () => {
        const lock = must(await cache.acquireLock('job', 5000));
        await expect(lock.extend(-1)).rejects.toMatchObject({ code: 'validation_failed' });
      });
    });

    describe('pub/sub', () => {
      it('delivers to every subscriber of the channel, in order, and to no other channel', async () => {
        const a: string[] = [];
        const b: string[] = [];
        const other: string[] = [];
        await cache.subscribe('events', (message) => a.push(message));
        await cache.subscribe('events', (message) => b.push(message));
        await cache.subscribe('other', (message) => other.push(message));
        await cache.publish('events', 'one');
        await cache.publish('events', 'two');
        await waitFor(() => a.length === 2 && b.length === 2);
        expect(a).toEqual(['one', 'two']);
        expect(b).toEqual(['one', 'two']);
        await sleep(50);
        expect(other).toEqual([]);
      });

      it('delivers asynchronously, never inside publish()', async () => {
        const received: string[] = [];
        await cache.subscribe('events', (message) => received.push(message));
        const published = cache.publish('events', 'hello');
        // Nothing runs synchronously inside the publish call.
        expect(received).toEqual([]);
        await published;
        await waitFor(() => received.length === 1);
        expect(received).toEqual(['hello']);
      });

      it('unsubscribe stops delivery to that subscriber only', async () => {
        const kept: string[] = [];
        const dropped: string[] = [];
        await cache.subscribe('events', (message) => kept.push(message));
        const unsubscribe = await cache.subscribe('events', (message) => dropped.push(message));
        await cache.publish('events', 'before');
        await waitFor(() => kept.length === 1 && dropped.length === 1);
        await unsubscribe();
        await unsubscribe();
        await cache.publish('events', 'after');
        await waitFor(() => kept.length === 2);
        await sleep(50);
        expect(kept).toEqual(['before', 'after']);
        expect(dropped).toEqual(['before']);
      });

      it('can subscribe again after the last subscriber left', async () => {
        const received: string[] = [];
        const unsubscribe = await cache.subscribe('events', (message) => received.push(`first:${message}`));
        await unsubscribe();
        await cache.subscribe('events', (message) => received.push(`second:${message}`));
        await cache.publish('events', 'm');
        await waitFor(() => received.length === 1);
        await sleep(50);
        expect(received).toEqual(['second:m']);
      });

      it('publishing to a channel nobody listens to succeeds', async () => {
        await expect(cache.publish('nobody', 'message')).resolves.toBeUndefined();
      });

      it('a failing handler is reported and does not stop delivery to the others', async () => {
        const reported: Array<[string, CacheErrorSource]> = [];
        const own = await makeCache({
          onError: (error, source) =>
            reported.push([error instanceof Error ? error.message : String(error), source]),
        });
        try {
          const received: string[] = [];
          await own.subscribe('events', () => {
            throw new Error('handler bug');
          });
          // A handler that returns a rejected promise although the port asks for a void one: drivers
          // must report it like a throw (invokeHandler), so the misuse is the point here.
          // eslint-disable-next-line @typescript-eslint/no-misused-promises
          await own.subscribe('events', async () => {
            throw new Error('async handler bug');
          });
          await own.subscribe('events', (message) => received.push(message));
          await own.publish('events', 'm');
          const fromHandlers = () => reported.filter(([, source]) => source === 'subscriber');
          await waitFor(() => received.length === 1 && fromHandlers().length === 2);
          expect(received).toEqual(['m']);
          expect(fromHandlers().sort()).toEqual([
            ['async handler bug', 'subscriber'],
            ['handler bug', 'subscriber'],
          ]);
        } finally {
          await own.close();
        }
      });
    });

    describe('JSON helpers', () => {
      it('round-trip a value through the parse function', async () => {
        await setJson(cache, 'doc', { id: 'a', count: 2 }, { ttlMs: 5000 });
        const parse = (value: unknown) => {
          const doc = value as { id: unknown; count: unknown };
          if (typeof doc.id !== 'string' || typeof doc.count !== 'number') throw new Error('bad shape');
          return { id: doc.id, count: doc.count };
        };
        expect(await getJson(cache, 'doc', parse)).toEqual({ id: 'a', count: 2 });
        expect(await getJson(cache, 'missing', parse)).toBeNull();
        await cache.set('broken', '{not json');
        await expect(getJson(cache, 'broken', parse)).rejects.toMatchObject({ code: 'internal' });
      });
    });

    describe('health and lifecycle', () => {
      it('ping resolves while the cache is open', async () => {
        await expect(cache.ping()).resolves.toBeUndefined();
      });

      it('after close every operation rejects with UnavailableError', async () => {
        await cache.set('k', 'v');
        await cache.close();
        await expect(cache.ping()).rejects.toBeInstanceOf(UnavailableError);
        await expect(cache.get('k')).rejects.toBeInstanceOf(UnavailableError);
        await expect(cache.set('k', 'v')).rejects.toMatchObject({ code: 'unavailable' });
        await expect(cache.subscribe('events', () => undefined)).rejects.toMatchObject({
          code: 'unavailable',
        });
        await expect(cache.close()).resolves.toBeUndefined();
      });
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` until it holds; fails with `message` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 2000,
  message = 'condition not met',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`${message} within ${timeoutMs} ms`);
    await sleep(10);
  }
}

function must(lock: Lock | null): Lock {
  if (!lock) throw new Error('expected the lock to be acquired');
  return lock;
}
