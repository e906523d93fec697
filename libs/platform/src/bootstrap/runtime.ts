import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createCache, type Cache, type CacheOptions } from '@wallet/cache';
import { ConfigError, resolveSqlitePath, toEnvName, type WalletConfig } from '@wallet/config';
import { DEFAULT_TENANT_ID, GLOBAL_SCOPE, UniqueViolationError, ValidationError } from '@wallet/domain';
import { Collections, createStore, type Store } from '@wallet/persistence';
import type { Logger as Pino } from 'pino';
import { createLogger } from '../logging/logger';

/** The process-wide resources services share: one store, one cache, one root logger. */
export interface Runtime {
  config: WalletConfig;
  store: Store;
  cache: Cache;
  logger: Pino;
}

/** Opens the configured store and cache. The caller closes them (see `installGracefulShutdown`). */
export async function createRuntime(config: WalletConfig, logger?: Pino): Promise<Runtime> {
  const log = logger ?? createLogger({ level: config.logging.level });
  let store: Store;
  switch (config.storage.type) {
    case 'memory':
      store = await createStore({ type: 'memory' });
      break;
    case 'sqlite': {
      const path = resolve(resolveSqlitePath(config));
      mkdirSync(dirname(path), { recursive: true });
      store = await createStore({
        type: 'sqlite',
        path,
        busyTimeoutMs: config.storage.sqlite.busyTimeoutMs,
        synchronous: config.storage.sqlite.synchronous,
      });
      break;
    }
    case 'mongodb':
      store = await createStore({
        type: 'mongodb',
        uri: requireSet(config.storage.mongodb.uri, 'storage.mongodb.uri'),
        ...(config.storage.mongodb.database ? { database: config.storage.mongodb.database } : {}),
        serverSelectionTimeoutMs: config.storage.mongodb.serverSelectionTimeoutMs,
      });
      break;
  }
  let cache: Cache;
  try {
    cache = await createCache(config.cache.type === 'redis' ? redisCacheOptions(config.cache.redis) : { type: 'memory' });
  } catch (error) {
    await store.close();
    throw asConfigError(error);
  }
  try {
    await ensureDefaultTenant(store);
  } catch (error) {
    await Promise.allSettled([store.close(), cache.close()]);
    throw error;
  }
  log.info({ store: store.driver, cache: cache.driver }, 'store and cache ready');
  return { config, store, cache, logger: log };
}

/**
 * The redis driver's options from `cache.redis`: the URL or the nodes, and
 * only the settings that are set (the driver refuses contradictions, such as
 * a password both in the URL and beside it).
 */
export function redisCacheOptions(redis: WalletConfig['cache']['redis']): CacheOptions {
  const { sentinel } = redis;
  const defined = <T extends object>(entries: T): Partial<T> =>
    Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined)) as Partial<T>;
  const sentinelOptions = defined({ masterName: sentinel.masterName, username: sentinel.username, password: sentinel.password });
  return {
    type: 'redis',
    keyPrefix: redis.keyPrefix,
    commandTimeoutMs: redis.commandTimeoutMs,
    ...(redis.nodes && redis.nodes.length > 0 ? { nodes: redis.nodes } : { url: requireSet(redis.url, 'cache.redis.url') }),
    ...defined({
      topology: redis.topology,
      username: redis.username,
      password: redis.password,
      tls: redis.tls,
      database: redis.database,
    }),
    ...(Object.keys(sentinelOptions).length > 0 ? { sentinel: sentinelOptions } : {}),
  };
}

/**
 * The cache driver checks the connection settings more closely than the
 * schema can (a URL's parts, contradictions between the URL and the other
 * settings): its `ValidationError` becomes a `ConfigError` naming the
 * `cache.redis.*` keys, so a bad setting fails the start like any other.
 * Its messages never contain a setting's value.
 */
function asConfigError(error: unknown): unknown {
  if (!(error instanceof ValidationError)) return error;
  return new ConfigError(
    error.issues.map((issue) => {
      // `/nodes/2` -> `cache.redis.nodes`: the list is one setting.
      const segments = issue.path.split('/').filter((segment) => segment !== '' && !/^\d+$/.test(segment));
      const path = ['cache', 'redis', ...segments].join('.');
      return { path, env: toEnvName(path), message: issue.message };
    }),
    { cause: error },
  );
}

/**
 * The tenant `default` exists out of the box and serves requests that name no
 * tenant. Created on first start; several processes starting at once are fine.
 */
export async function ensureDefaultTenant(store: Store): Promise<void> {
  const tenants = store.repository(Collections.tenants);
  if (await tenants.get(GLOBAL_SCOPE, DEFAULT_TENANT_ID)) return;
  try {
    await tenants.create(GLOBAL_SCOPE, {
      id: DEFAULT_TENANT_ID,
      displayName: 'Default',
      enabled: true,
      requireInvite: false,
      trustConfig: {},
      allowedProtocols: [],
    });
  } catch (error) {
    if (!(error instanceof UniqueViolationError)) throw error;
  }
}

function requireSet(value: string | undefined, key: string): string {
  if (!value) throw new Error(`${key} is required`);
  return value;
}
