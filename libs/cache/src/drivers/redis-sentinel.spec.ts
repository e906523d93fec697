import { UnavailableError } from '@wallet/domain';
import {
  describeIfAvailable,
  redisTopologiesAvailable,
  startRedisSentinel,
  uniquePrefix,
  type RedisTestSentinel,
} from '@wallet/testing';
import { sleep, waitFor } from '../cache.contract';
import { writeTraffic } from '../failover-traffic';
import { useRedisTopology } from './redis-topology-suite.contract';

/**
 * The redis driver behind Redis Sentinel: a master, its replica and three
 * sentinels, passwords on both the data nodes and the sentinels, started from
 * the machine's redis-server (see redis-topologies.ts in @wallet/testing). The
 * contract suite, then failovers while the cache is in use: a forced one (the
 * old master stays up and refuses writes) and a kill -9 of the master.
 */
describeIfAvailable('cache:redis-sentinel', redisTopologiesAvailable(), 'redis')('RedisCache behind Redis Sentinel', () => {
  const password = 'data-secret-41c2';
  const sentinelPassword = 'sentinel-secret-9d0e';
  let setup: RedisTestSentinel;
  const { nextPrefix, make } = useRedisTopology('redis sentinel', uniquePrefix('sentinel'), async () => {
    setup = await startRedisSentinel({ password, sentinelPassword });
    return setup;
  });

  it('writes to the master the sentinels name', async () => {
    const keyPrefix = nextPrefix();
    const cache = await make({ keyPrefix });
    await cache.set('k', 'v');
    expect(await setup.command(await setup.master(), 'GET', `${keyPrefix}kv:k`)).toBe('v');
  });

  it('can be configured by settings instead of a URL', async () => {
    const cache = await make({
      url: undefined,
      topology: 'sentinel',
      nodes: [...setup.sentinels],
      password,
      sentinel: { masterName: setup.masterName, password: sentinelPassword },
    });
    await cache.set('k', 'by settings');
    expect(await cache.get('k')).toBe('by settings');
  });

  it('a wrong password fails as unavailable, and no error carries a password', async () => {
    const reported: unknown[] = [];
    const wrongData = await make(
      { url: setup.url.replace(encodeURIComponent(password), 'not-the-data-password'), commandTimeoutMs: 500 },
      (error) => reported.push(error),
    );
    const wrongSentinel = await make(
      { url: setup.url.replace(encodeURIComponent(sentinelPassword), 'not-the-sentinel-password'), commandTimeoutMs: 500 },
      (error) => reported.push(error),
    );
    const errors: unknown[] = [];
    for (const cache of [wrongData, wrongSentinel]) {
      const error: unknown = await cache.set('k', 'v').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnavailableError);
      errors.push(error);
    }
    expect(reported.length).toBeGreaterThan(0);
    const text = inspectAll([...errors, ...reported]);
    for (const secret of [password, sentinelPassword, 'not-the-data-password', 'not-the-sentinel-password']) {
      expect(text).not.toContain(secret);
    }
  });

  describe('failover', () => {
    it('forced failover (SENTINEL FAILOVER): writes move to the new master, subscribers keep receiving', async () => {
      const keyPrefix = nextPrefix();
      const cache = await make({ keyPrefix, commandTimeoutMs: 3000 });
      const listener = await make({ keyPrefix });
      const received: string[] = [];
      await listener.subscribe('events', (message) => received.push(message));
      await cache.set('before', 'kept');
      // Replicated before the failover (replication is asynchronous; WAIT makes sure).
      await setup.command(await setup.master(), 'WAIT', 1, 2000);
      const load = writeTraffic(cache, 'counter');
      await waitFor(() => load.ok >= 5);

      const { from, to } = await setup.failover();
      const okBefore = load.ok;
      await waitFor(() => load.ok >= okBefore + 10, 5000, 'writes did not continue after the failover');
      await load.stop();
      // Writes wait for the switch (READONLY is retried); at most the one in flight when the
      // client reconnects fails. Measured: 60-160 ms without a write, none failed.
      expect(load.failed).toBeLessThanOrEqual(1);
      expect(load.longestGapMs).toBeLessThan(2000);

      // The writes went to the new master, and the old one (now its replica) has them too.
      expect(await setup.command(to, 'GET', `${keyPrefix}kv:counter`)).toBe(String(load.last));
      expect(await cache.get('before')).toBe('kept');
      expect(Number(await cache.get('counter'))).toBe(load.last);
      await setup.command(to, 'WAIT', 1, 2000);
      expect(await setup.command(from, 'GET', `${keyPrefix}kv:counter`)).toBe(String(load.last));

      await cache.publish('events', 'after the failover');
      await waitFor(() => received.includes('after the failover'), 5000, 'the subscriber missed the message');
    }, 30_000);

    it('kill -9 of the master: the sentinels promote the replica, the cache and its subscribers follow', async () => {
      const keyPrefix = nextPrefix();
      // Long enough to wait out the failover (down-after 1 s, then the sentinels agree and promote).
      const cache = await make({ keyPrefix, commandTimeoutMs: 8000 });
      const listener = await make({ keyPrefix });
      const received: string[] = [];
      await listener.subscribe('events', (message) => received.push(message));
      await listener.publish('events', 'before');
      await waitFor(() => received.includes('before'));
      const load = writeTraffic(cache, 'counter');
      await waitFor(() => load.ok >= 5);

      const { from } = await setup.killMaster();
      const okBefore = load.ok;
      await waitFor(() => load.ok >= okBefore + 10, 10_000, 'writes did not resume after the failover');
      await load.stop();
      // Writes wait for the new master (measured 2.8-3.7 s); at most the one in flight at the kill fails.
      expect(load.failed).toBeLessThanOrEqual(1);
      expect(load.longestGapMs).toBeLessThan(10_000);
      expect(Number(await cache.get('counter'))).toBe(load.last);
      const lock = await cache.acquireLock('job', 5000);
      expect(lock).not.toBeNull();
      expect(await lock?.release()).toBe(true);

      await waitFor(
        async () => {
          await cache.publish('events', 'after');
          await sleep(50);
          return received.includes('after');
        },
        10_000,
        'the subscriber did not come back',
      );
      await expect(listener.ping()).resolves.toBeUndefined();

      // The old master back, as a replica: nothing changes for the cache.
      await setup.revive(from);
      await cache.set('after-revive', 'ok');
      expect(await cache.get('after-revive')).toBe('ok');
    }, 45_000);
  });
});

/** Everything an error carries that a log line could show: messages, causes, own properties. */
function inspectAll(values: unknown[]): string {
  const seen = new Set<unknown>();
  const parts: string[] = [];
  const visit = (value: unknown, depth: number) => {
    if (depth > 6 || value === null || value === undefined || seen.has(value)) return;
    if (typeof value !== 'object') {
      parts.push(String(value));
      return;
    }
    seen.add(value);
    if (value instanceof Error) parts.push(value.message, value.stack ?? '');
    for (const key of Object.getOwnPropertyNames(value)) visit((value as Record<string, unknown>)[key], depth + 1);
    if (value instanceof Error) visit((value as { cause?: unknown }).cause, depth + 1);
  };
  for (const value of values) visit(value, 0);
  return parts.join('\n');
}
