import { runCacheContract } from '../cache.contract';
import type { Cache } from '../ports';
import { createRedisCache, type RedisCacheOptions } from './redis-cache';

/** What a spec of the redis driver on a multi-node topology needs from the topology. */
export interface RedisTopology {
  readonly url: string;
  stop(): Promise<void>;
}

export interface RedisTopologySuite {
  /** A key prefix no other cache of this run uses. */
  nextPrefix(): string;
  /** A cache on the topology (its own prefix unless `options` name one), closed after each test. */
  make(options?: Partial<RedisCacheOptions>, onError?: (error: unknown) => void): Promise<Cache>;
}

/**
 * The set-up the Redis Cluster and Redis Sentinel specs share, called inside
 * their `describe`: starts the topology before all tests (`start`), closes
 * every cache `make` opened after each test, stops the topology after all,
 * and runs the cache contract on it as `contractName`.
 */
export function useRedisTopology(
  contractName: string,
  prefix: string,
  start: () => Promise<RedisTopology>,
): RedisTopologySuite {
  let topology: RedisTopology | undefined;
  let count = 0;
  const nextPrefix = () => `${prefix}${(count += 1)}:`;
  const open: Cache[] = [];
  const url = (): string => {
    if (!topology) throw new Error(`${contractName}: the topology did not start`);
    return topology.url;
  };

  beforeAll(async () => {
    topology = await start();
  }, 30_000);

  afterEach(async () => {
    await Promise.all(open.splice(0).map((cache) => cache.close()));
  });

  afterAll(async () => {
    await topology?.stop();
  });

  runCacheContract(contractName, (deps) => createRedisCache({ url: url(), keyPrefix: nextPrefix() }, deps));

  return {
    nextPrefix,
    async make(options = {}, onError) {
      const cache = await createRedisCache({ url: url(), keyPrefix: nextPrefix(), ...options }, onError ? { onError } : {});
      open.push(cache);
      return cache;
    },
  };
}
