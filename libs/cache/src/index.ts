export * from './ports';
export { createCache } from './create-cache';
export { getJson, setJson } from './json';
export { MemoryCache, type MemoryCacheOptions } from './drivers/memory-cache';
export {
  hashSlot,
  type RedisConnectionOptions,
  type RedisEndpoint,
  type RedisTopologyKind,
} from './drivers/redis-topology';
