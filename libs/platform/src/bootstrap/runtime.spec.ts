import { DEFAULT_TENANT_ID, GLOBAL_SCOPE } from '@wallet/domain';
import { Collections, createStore } from '@wallet/persistence';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '@wallet/config';
import { describeIfAvailable, redisTopologiesAvailable, startOwnRedis, uniquePrefix } from '@wallet/testing';
import pino from 'pino';
import { createRuntime, ensureDefaultTenant, redisCacheOptions } from './runtime';

describe('ensureDefaultTenant', () => {
  it('creates the enabled default tenant once, also when two processes start at the same time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wallet-runtime-'));
    const path = join(dir, 'wallet.db');
    const [a, b] = await Promise.all([createStore({ type: 'sqlite', path }), createStore({ type: 'sqlite', path })]);
    try {
      await Promise.all([ensureDefaultTenant(a), ensureDefaultTenant(b), ensureDefaultTenant(a)]);
      const tenants = a.repository(Collections.tenants);
      const page = await tenants.list(GLOBAL_SCOPE);
      expect(page.items.map((t) => t.id)).toEqual([DEFAULT_TENANT_ID]);
      expect(page.items[0]).toMatchObject({ enabled: true, requireInvite: false, version: 1 });
      // An operator's later change is kept on the next start.
      await tenants.update(GLOBAL_SCOPE, DEFAULT_TENANT_ID, { ...page.items[0]!, requireInvite: true }, 1);
      await ensureDefaultTenant(b);
      expect(await tenants.require(GLOBAL_SCOPE, DEFAULT_TENANT_ID)).toMatchObject({ requireInvite: true, version: 2 });
    } finally {
      await Promise.all([a.close(), b.close()]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('createRuntime: the cache.redis settings', () => {
  const silent = pino({ level: 'silent' });

  it('hands the driver the URL or the nodes and only the settings that are set', () => {
    const byUrl = parseConfig({ cache: { type: 'redis', redis: { url: 'redis+sentinel://s1,s2/main', password: 'pw' } } });
    expect(redisCacheOptions(byUrl.cache.redis)).toEqual({
      type: 'redis',
      url: 'redis+sentinel://s1,s2/main',
      password: 'pw',
      keyPrefix: 'wallet:',
      commandTimeoutMs: 2000,
    });
    const byNodes = parseConfig({
      cache: {
        type: 'redis',
        redis: { topology: 'sentinel', nodes: ['s1:26379', 's2'], tls: true, sentinel: { masterName: 'main', password: 'spw' } },
      },
    });
    expect(redisCacheOptions(byNodes.cache.redis)).toEqual({
      type: 'redis',
      topology: 'sentinel',
      nodes: ['s1:26379', 's2'],
      tls: true,
      sentinel: { masterName: 'main', password: 'spw' },
      keyPrefix: 'wallet:',
      commandTimeoutMs: 2000,
    });
  });

  it('a contradiction only the driver sees fails the start as a ConfigError naming the key, without the passwords', async () => {
    const cases: Array<[object, string]> = [
      [{ url: 'redis+cluster://:url-s3cret@127.0.0.1:1', password: 'key-s3cret' }, 'cache.redis.password'],
      [{ url: 'redis+cluster://127.0.0.1:1', sentinel: { password: 'key-s3cret' } }, 'cache.redis.sentinel'],
      [{ url: 'redis+sentinel://:url-s3cret@127.0.0.1:1' }, 'cache.redis.url'],
      [{ url: 'redis+cluster://127.0.0.1:1', keyPrefix: 'w{' }, 'cache.redis.keyPrefix'],
    ];
    for (const [redis, key] of cases) {
      const error: unknown = await createRuntime(parseConfig({ storage: { type: 'memory' }, cache: { type: 'redis', redis } }), silent).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConfigError);
      const { issues, message } = error as ConfigError;
      expect(issues.map((issue) => [issue.path, issue.env])).toContainEqual([key, expect.stringMatching(/^WALLET_CACHE_REDIS_/)]);
      expect(message).toContain(key);
      expect(JSON.stringify({ message, issues })).not.toContain('s3cret');
    }
  });
});

describeIfAvailable('platform:runtime-redis-nodes', redisTopologiesAvailable(), 'redis')('createRuntime: Redis by nodes', () => {
  it('connects to the server named in cache.redis.nodes', async () => {
    const redis = await startOwnRedis();
    try {
      const runtime = await createRuntime(
        parseConfig({
          storage: { type: 'memory' },
          cache: { type: 'redis', redis: { nodes: [`127.0.0.1:${redis.port}`], keyPrefix: uniquePrefix('runtime') } },
        }),
        pino({ level: 'silent' }),
      );
      try {
        await runtime.cache.set('k', 'v');
        expect(await runtime.cache.get('k')).toBe('v');
        await expect(runtime.cache.ping()).resolves.toBeUndefined();
      } finally {
        await Promise.all([runtime.cache.close(), runtime.store.close()]);
      }
    } finally {
      await redis.stop();
    }
  });
});
