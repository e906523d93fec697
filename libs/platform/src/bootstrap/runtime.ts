import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createCache, type Cache } from '@wallet/cache';
import { resolveSqlitePath, type WalletConfig } from '@wallet/config';
import { DEFAULT_TENANT_ID, GLOBAL_SCOPE, UniqueViolationError } from '@wallet/domain';
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
    cache =
      config.cache.type === 'redis'
        ? await createCache({
            type: 'redis',
            url: requireSet(config.cache.redis.url, 'cache.redis.url'),
            keyPrefix: config.cache.redis.keyPrefix,
            commandTimeoutMs: config.cache.redis.commandTimeoutMs,
          })
        : await createCache({ type: 'memory' });
  } catch (error) {
    await store.close();
    throw error;
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
