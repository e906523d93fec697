import {
  describeIfAvailable,
  redisTopologiesAvailable,
  startRedisCluster,
  uniquePrefix,
  type RedisTestCluster,
} from '@wallet/testing';
import { Redis } from 'ioredis';
import { sleep, waitFor } from '../cache.contract';
import { writeTraffic } from '../failover-traffic';
import type { Lock } from '../ports';
import { hashSlot } from './redis-topology';
import { useRedisTopology } from './redis-topology-suite.contract';

/**
 * The redis driver on a real Redis Cluster: three masters with one replica
 * each, started from the machine's redis-server (see redis-topologies.ts in
 * @wallet/testing). The contract suite, then what only a cluster has: keys on
 * every master, slots of the driver's multi-key operations, pub/sub across
 * nodes, and failovers while the cache is in use.
 */
describeIfAvailable('cache:redis-cluster', redisTopologiesAvailable(), 'redis')('RedisCache on a Redis Cluster', () => {
  const password = 'cluster-secret-7f3a';
  let cluster: RedisTestCluster;
  const { nextPrefix, make } = useRedisTopology('redis cluster', uniquePrefix('cluster'), async () => {
    cluster = await startRedisCluster({ replicas: true, password });
    return cluster;
  });

  /** A plain client on one node, for looking behind the driver. */
  const raw = (port: number) =>
    new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });

  describe('keys across the cluster', () => {
    it('spread over all three masters, and the driver reads and writes them all', async () => {
      const cache = await make();
      const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`);
      await Promise.all(keys.map((key) => cache.set(key, `value-${key}`)));
      const prefix = (cache as unknown as { prefix: string }).prefix;
      const owners = new Set(await Promise.all(keys.map((key) => cluster.masterOf(`${prefix}kv:${key}`))));
      expect(owners.size).toBe(3);
      expect(await cache.getMany(keys)).toEqual(keys.map((key) => `value-${key}`));
      expect(await cache.getMany(['key-3', 'missing', 'key-17', 'key-3'])).toEqual(['value-key-3', null, 'value-key-17', 'value-key-3']);
    });

    it('computes slots as the server does', async () => {
      const samples = ['', 'a', 'wallet:kv:x', 'wallet:lock:{job}', 'wallet:fence:{job}', '{}x', 'a{}b{c}', 'ü{ß}', 'x{y'];
      for (const key of samples) {
        expect(hashSlot(key)).toBe(Number(await cluster.command(cluster.ports[0] as number, 'CLUSTER', 'KEYSLOT', key)));
      }
    });

    it('keeps a lock and its fence counter in one slot, whatever the name', async () => {
      const keyPrefix = nextPrefix();
      const cache = await make({ keyPrefix });
      const names = ['job', 'registry:source-poll', 'type-metadata:https://issuer.example/vct', 'a{b}c', '}x', '{}', ''];
      for (const name of names) {
        const lock = await cache.acquireLock(name, 5000);
        expect(lock?.fence).toBeGreaterThan(0);
        expect(await cache.acquireLock(name, 5000)).toBeNull();
        expect(await lock?.release()).toBe(true);
        expect((await cache.acquireLock(name, 5000))?.fence).toBeGreaterThan(lock?.fence as number);
      }
      // The keys the scripts touched: every lock next to its fence counter.
      const seen: string[] = [];
      for (const port of await cluster.masters()) {
        const client = raw(port);
        await client.connect();
        try {
          seen.push(...(await client.keys(`${keyPrefix}*`)));
        } finally {
          client.disconnect();
        }
      }
      const locks = seen.filter((key) => key.startsWith(`${keyPrefix}lock:`));
      const fences = seen.filter((key) => key.startsWith(`${keyPrefix}fence:`));
      expect(fences).toHaveLength(names.length);
      for (const lockKey of locks) {
        const fenceKey = `${keyPrefix}fence:${lockKey.slice(`${keyPrefix}lock:`.length)}`;
        expect(fences).toContain(fenceKey);
        expect(hashSlot(lockKey)).toBe(hashSlot(fenceKey));
      }
    });

    it('a prefix that is one hash tag puts every key in one slot', async () => {
      const tag = `{${nextPrefix().replace(/[{}]/g, '')}}`;
      const cache = await make({ keyPrefix: `${tag}:` });
      await Promise.all(['a', 'b', 'c'].map((key) => cache.set(key, key)));
      expect(await cache.getMany(['a', 'b', 'c'])).toEqual(['a', 'b', 'c']);
      expect(await cache.acquireLock('job', 5000)).not.toBeNull();
    });

    it('can be given some nodes instead of a URL, and learns the others', async () => {
      const cache = await make({
        url: undefined,
        topology: 'cluster',
        nodes: [cluster.seeds[1] as string],
        password,
      });
      const keys = Array.from({ length: 12 }, (_, i) => `n-${i}`);
      await Promise.all(keys.map((key) => cache.set(key, key)));
      expect(await cache.getMany(keys)).toEqual(keys);
    });

    it('two instances (replicas of a service) share keys, locks and counters', async () => {
      const keyPrefix = nextPrefix();
      const a = await make({ keyPrefix });
      const b = await make({ keyPrefix });
      await a.set('k', 'from-a');
      expect(await b.get('k')).toBe('from-a');
      const locks = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).acquireLock('migration', 5000)));
      expect(locks.filter((lock): lock is Lock => lock !== null)).toHaveLength(1);
      await a.set('code', 'one-time');
      const taken = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).take('code')));
      expect(taken.filter((value) => value === 'one-time')).toHaveLength(1);
      const counts = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).increment('hits', { ttlMs: 5000 })));
      expect([...counts].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });
  });

  describe('pub/sub across the cluster', () => {
    it('a subscriber receives what is published on any node', async () => {
      const keyPrefix = nextPrefix();
      const cache = await make({ keyPrefix });
      const received: string[] = [];
      await cache.subscribe('events', (message) => received.push(message));
      const ports = await cluster.masters();
      for (const port of ports) {
        const client = raw(port);
        await client.connect();
        try {
          await client.publish(`${keyPrefix}events`, `from-${port}`);
        } finally {
          client.disconnect();
        }
      }
      await waitFor(() => received.length === ports.length);
      expect(received.sort()).toEqual(ports.map((port) => `from-${port}`).sort());
    });

    it("one publisher's messages arrive in the order they were published", async () => {
      const keyPrefix = nextPrefix();
      const publisher = await make({ keyPrefix });
      const listeners = await Promise.all(Array.from({ length: 3 }, () => make({ keyPrefix })));
      const inboxes = listeners.map(() => [] as string[]);
      await Promise.all(listeners.map((cache, i) => cache.subscribe('ordered', (message) => inboxes[i]?.push(message))));
      const sent = Array.from({ length: 100 }, (_, i) => `m${i}`);
      for (const message of sent) await publisher.publish('ordered', message);
      await waitFor(() => inboxes.every((inbox) => inbox.length === sent.length));
      for (const inbox of inboxes) expect(inbox).toEqual(sent);
    });

    it('messages reach every instance, whichever node each listens on', async () => {
      const keyPrefix = nextPrefix();
      const caches = await Promise.all(Array.from({ length: 4 }, () => make({ keyPrefix })));
      const inboxes = caches.map(() => [] as string[]);
      await Promise.all(caches.map((cache, i) => cache.subscribe('events', (message) => inboxes[i]?.push(message))));
      for (const [i, cache] of caches.entries()) await cache.publish('events', `m${i}`);
      await waitFor(() => inboxes.every((inbox) => inbox.length === caches.length));
      for (const inbox of inboxes) expect(inbox.sort()).toEqual(['m0', 'm1', 'm2', 'm3']);
    });
  });

  describe('failover', () => {
    /** The port of the node the subscriber connection of `cache` uses (it counts the channel's subscribers). */
    const subscriberNode = async (channel: string): Promise<number> => {
      for (const port of cluster.ports) {
        const client = raw(port);
        try {
          await client.connect();
          const [, subscribers] = (await client.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
          if (Number(subscribers) > 0) return port;
        } catch {
          // A killed node: not this one.
        } finally {
          client.disconnect();
        }
      }
      throw new Error(`nobody subscribes to ${channel}`);
    };

    it('a manual failover of the master in use: writes go on, subscribers keep receiving', async () => {
      const keyPrefix = nextPrefix();
      const cache = await make({ keyPrefix, commandTimeoutMs: 3000 });
      const listener = await make({ keyPrefix });
      const received: string[] = [];
      await listener.subscribe('events', (message) => received.push(message));
      await cache.set('before', 'kept');
      const load = writeTraffic(cache, 'counter');
      await waitFor(() => load.ok >= 5);

      const master = await cluster.masterOf(`${keyPrefix}kv:counter`);
      const promoted = await cluster.failover(master);
      expect(await cluster.masterOf(`${keyPrefix}kv:counter`)).toBe(promoted);

      const okBefore = load.ok;
      await waitFor(() => load.ok >= okBefore + 10, 5000, 'writes did not continue after the failover');
      await load.stop();
      // The old master hands over once its replica caught up; clients follow MOVED: no write fails.
      expect(load.failed).toBe(0);
      expect(load.longestGapMs).toBeLessThan(2000);
      // A manual failover waits for the replica to catch up: nothing written before it is lost.
      expect(await cache.get('before')).toBe('kept');
      expect(Number(await cache.get('counter'))).toBe(load.last);
      await cache.publish('events', 'after the failover');
      await waitFor(() => received.includes('after the failover'), 5000, 'the subscriber missed the message');
    }, 30_000);

    it('kill -9 of a master and of the node the subscriber listens on: the replica takes over, the cache recovers', async () => {
      const keyPrefix = nextPrefix();
      // Long enough to wait out the failover (node timeout 1 s, then the election).
      const cache = await make({ keyPrefix, commandTimeoutMs: 8000 });
      const listener = await make({ keyPrefix });
      const received: string[] = [];
      await listener.subscribe('events', (message) => received.push(message));
      await listener.publish('events', 'before');
      await waitFor(() => received.includes('before'));

      const listening = await subscriberNode(`${keyPrefix}events`);
      // One master goes down (with two of three gone no majority is left to fail them over). If the
      // subscriber listens on a master, that one; else a master other than its replica's (both down
      // would leave those slots unserved), and the replica with it.
      const masters = await cluster.masters();
      let victim = listening;
      if (!masters.includes(listening)) {
        const info = String(await cluster.command(listening, 'INFO', 'replication'));
        const itsMaster = Number(/^master_port:(\d+)/m.exec(info)?.[1] ?? 0);
        victim = masters.find((port) => port !== itsMaster) as number;
      }
      // A key this master serves.
      let key = 'k0';
      for (let i = 0; (await cluster.masterOf(`${keyPrefix}kv:${key}`)) !== victim; i += 1) key = `k${i}`;
      await cache.set(key, 'before');
      const load = writeTraffic(cache, key);
      await waitFor(() => load.ok >= 5);

      await Promise.all([cluster.kill(victim), listening === victim ? undefined : cluster.kill(listening)]);
      await cluster.waitUntilHealthy(20_000);
      const okBefore = load.ok;
      await waitFor(() => load.ok >= okBefore + 10, 10_000, 'writes did not resume after the failover');
      await load.stop();
      // Commands for the dead master's slots wait until its replica is promoted (measured 2.2-2.9 s
      // here); at most the write in flight at the kill fails.
      expect(load.failed).toBeLessThanOrEqual(1);
      expect(load.longestGapMs).toBeLessThan(10_000);
      expect(Number(await cache.get(key))).toBe(load.last);
      expect(await cluster.masterOf(`${keyPrefix}kv:${key}`)).not.toBe(victim);

      // The subscription moved to a live node by itself.
      await waitFor(
        async () => {
          await cache.publish('events', 'after');
          await sleep(50);
          return received.includes('after');
        },
        10_000,
        'the subscriber did not come back',
      );
      await expect(cache.ping()).resolves.toBeUndefined();
      await expect(listener.ping()).resolves.toBeUndefined();
    }, 45_000);
  });
});
