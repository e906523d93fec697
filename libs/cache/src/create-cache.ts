import { MemoryCache } from './drivers/memory-cache';
import { createRedisCache } from './drivers/redis-cache';
import type { Cache, CacheDeps, CacheOptions } from './ports';

/**
 * Creates the configured cache. `memory` keeps state in this instance (one
 * process only); `redis` shares it between replicas. The redis driver loads
 * ioredis on demand and connects in the background: an unreachable Redis does
 * not fail here, but every command and `ping()` rejects with
 * `UnavailableError` until it is back. Throws `ValidationError` for
 * malformed connection settings (URL, nodes, Sentinel or Cluster options), a
 * bad timeout or key prefix.
 */
export async function createCache(options: CacheOptions, deps: CacheDeps = {}): Promise<Cache> {
  switch (options.type) {
    case 'memory':
      return new MemoryCache(deps);
    case 'redis':
      return createRedisCache(options, deps);
  }
}
