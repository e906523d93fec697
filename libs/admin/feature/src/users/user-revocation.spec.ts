import { createCache, type Cache } from '@wallet/cache';
import { loadConfig } from '@wallet/config';
import { UnavailableError, VersionConflictError, type RefreshToken } from '@wallet/domain';
import { Collections, createStore, type Repository, type Store } from '@wallet/persistence';
import { AccessTokenRevocations, createServiceApp, ensureDefaultTenant, type RunningService, type Runtime } from '@wallet/platform';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { AdminFeatureModule } from '../admin-feature.module';
import { adminCaller } from '../admin-call.contract';

const TOKEN = 'admin-token-for-revocation-tests-0123456789';
const TENANT = 'rev-t';

/**
 * The memory cache with a switch: while `fault.when(key)` holds, writing that
 * key fails with `fault.error` (the cache down, or a driver throwing
 * something else).
 */
function faultyCache(inner: Cache) {
  const fault: { when: ((key: string) => boolean) | null; error: () => Error } = { when: null, error: () => new UnavailableError('cache') };
  const cache = new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (property === 'set') {
        return async (key: string, ...rest: unknown[]) => {
          if (fault.when?.(key)) throw fault.error();
          return (value as (...args: unknown[]) => Promise<void>).call(target, key, ...rest);
        };
      }
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
  return { cache, fault };
}

/** The store, with a hook that runs before each refresh-token update (to play a refresh racing with the admin). */
function hookedStore(inner: Store) {
  const hooks: { beforeRefreshUpdate: ((id: string) => Promise<void>) | null } = { beforeRefreshUpdate: null };
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property === 'repository') {
        return (spec: unknown) => {
          const repository = target.repository(spec as typeof Collections.users) as unknown;
          if (spec !== Collections.refreshTokens) return repository;
          const tokens = repository as Repository<RefreshToken>;
          return new Proxy(tokens, {
            get(t, p, r) {
              const member: unknown = Reflect.get(t, p, r);
              if (p === 'update') {
                return async (scope: string, id: string, next: RefreshToken, version: number) => {
                  await hooks.beforeRefreshUpdate?.(id);
                  return t.update(scope, id, next, version);
                };
              }
              return typeof member === 'function' ? (member as (...args: unknown[]) => unknown).bind(t) : member;
            },
          });
        };
      }
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store, hooks };
}

describe('suspending and removing a user revoke their tokens, in an order that survives failures (in process)', () => {
  let server: RunningService;
  let runtime: Runtime;
  let dir: string;
  let inner: Store;
  let fault: ReturnType<typeof faultyCache>['fault'];
  let hooks: ReturnType<typeof hookedStore>['hooks'];
  /** Reads the same revocation list the services check. */
  let revocations: AccessTokenRevocations;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'admin-revocation-'));
    const config = loadConfig({ argv: [], env: { WALLET_SERVER_HOST: '127.0.0.1', WALLET_SERVER_ADMIN_TOKEN: TOKEN, WALLET_DATA_DIR: dir } }).config;
    inner = await createStore({ type: 'memory' });
    await ensureDefaultTenant(inner);
    const memory = await createCache({ type: 'memory' });
    const faulty = faultyCache(memory);
    const hooked = hookedStore(inner);
    fault = faulty.fault;
    hooks = hooked.hooks;
    revocations = new AccessTokenRevocations(memory, { maxTokenLifetimeMs: 900_000 });
    runtime = { config, store: hooked.store, cache: faulty.cache, logger: pino({ level: 'silent' }) };
    server = await createServiceApp({ info: { name: 'admin', services: ['admin'] }, imports: [AdminFeatureModule], runtime, port: 0 });
    expect((await call('POST', '/admin/tenants', { id: TENANT, display_name: 'Revocations' })).status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await inner?.close();
    await runtime?.cache.close();
    rmSync(dir, { recursive: true, force: true });
  });

  afterEach(() => {
    fault.when = null;
    fault.error = () => new UnavailableError('cache');
    hooks.beforeRefreshUpdate = null;
  });

  const call = adminCaller(() => server.url, TOKEN);

  const users = (path = '') => `/admin/tenants/${TENANT}/users${path}`;
  const tokens = () => inner.repository(Collections.refreshTokens);
  const refreshToken = (id: string, userId: string, familyId: string, status: RefreshToken['status'] = 'active') =>
    tokens().create(TENANT, { id, userId, familyId, status, expiresAt: new Date(Date.now() + 3600_000).toISOString() });
  const statusOf = async (id: string) => (await tokens().get(TENANT, id))?.status ?? null;
  const nowSec = () => Math.floor(Date.now() / 1000);
  /** Whether an access token of the user would be refused: one issued before the request, or (with its session) one issued later. */
  const revoked = (userId: string, token: { iat?: number; sid?: string } = {}) =>
    revocations.isRevoked({ jti: `jti-${Math.random()}`, tenantId: TENANT, userId, iat: token.iat ?? nowSec() - 5, ...(token.sid ? { sid: token.sid } : {}) });
  const auditActions = async (userId: string) =>
    ((await call('GET', `/admin/audit?tenant=${TENANT}&resource=user&resource_id=${userId}`)).body['items'] as Array<{ action: string }>).map((e) => e.action);
  const revocationKeys = (key: string) => key.includes('auth:revoked:');

  async function addUser(id: string): Promise<void> {
    expect((await call('POST', users(), { id, display_name: id })).status).toBe(201);
  }

  it('with the cache down, a suspension answers 503 and changes nothing; repeated once it is back, it suspends and revokes every token and session', async () => {
    await addUser('u1');
    await refreshToken('rt-u1-a', 'u1', 'f-u1-a');
    await refreshToken('rt-u1-b', 'u1', 'f-u1-b');
    await refreshToken('rt-u1-old', 'u1', 'f-u1-a', 'rotated');

    fault.when = revocationKeys;
    const refused = await call('PATCH', users('/u1'), { status: 'suspended' });
    expect(refused.status).toBe(503);
    expect(refused.type).toContain('application/problem+json');
    expect(refused.body).toMatchObject({ code: 'unavailable', detail: expect.stringContaining('nothing was changed') });
    expect((await call('GET', users('/u1'))).body['status']).toBe('active');
    expect(await auditActions('u1')).toEqual(['user.create']);
    expect([await statusOf('rt-u1-a'), await statusOf('rt-u1-b')]).toEqual(['active', 'active']);
    expect(await revoked('u1')).toBe(false);

    fault.when = null;
    const suspended = await call('PATCH', users('/u1'), { status: 'suspended' });
    expect(suspended).toMatchObject({ status: 200, body: { id: 'u1', status: 'suspended' } });
    expect(await revoked('u1')).toBe(true);
    // Each session too: an access token a racing refresh issued after the cut-off is refused by its `sid`.
    expect(await revoked('u1', { iat: nowSec() + 60, sid: 'f-u1-a' })).toBe(true);
    expect(await revoked('u1', { iat: nowSec() + 60, sid: 'f-u1-b' })).toBe(true);
    expect(await revoked('u1', { iat: nowSec() + 60, sid: 'f-other' })).toBe(false);
    expect([await statusOf('rt-u1-a'), await statusOf('rt-u1-b'), await statusOf('rt-u1-old')]).toEqual(['revoked', 'revoked', 'rotated']);
    expect(await auditActions('u1')).toEqual(['user.create', 'user.suspend']);
  });

  it('answers 503, not 500, whatever the cache throws', async () => {
    await addUser('u2');
    fault.when = revocationKeys;
    fault.error = () => new Error('ECONNRESET');
    const refused = await call('PATCH', users('/u2'), { status: 'suspended' });
    expect(refused).toMatchObject({ status: 503, body: { code: 'unavailable' } });
    expect((await call('GET', users('/u2'))).body['status']).toBe('active');
    expect((await call('DELETE', users('/u2'))).status).toBe(503);
    expect((await call('GET', users('/u2'))).status).toBe(200);
  });

  it('when the cache fails after the status is stored, answers 503 saying so, and a repeated suspension of the suspended user revokes again', async () => {
    await addUser('u3');
    await refreshToken('rt-u3', 'u3', 'f-u3');
    // The user-wide cut-off is written, the sessions are not.
    fault.when = (key) => key.includes('auth:revoked:sid:');
    const refused = await call('PATCH', users('/u3'), { status: 'suspended' });
    expect(refused).toMatchObject({ status: 503, body: { code: 'unavailable', detail: expect.stringContaining('repeat the suspension') } });
    expect((await call('GET', users('/u3'))).body['status']).toBe('suspended');
    expect(await revoked('u3', { iat: nowSec() + 60, sid: 'f-u3' })).toBe(false);

    fault.when = null;
    expect(await call('PATCH', users('/u3'), { status: 'suspended' })).toMatchObject({ status: 200, body: { status: 'suspended' } });
    expect(await revoked('u3', { iat: nowSec() + 60, sid: 'f-u3' })).toBe(true);
    expect(await statusOf('rt-u3')).toBe('revoked');
    expect(await auditActions('u3')).toEqual(['user.create', 'user.suspend', 'user.suspend']);
  });

  it('revokes again on a repeated suspension even when the revocation list lost the first one', async () => {
    await addUser('u4');
    expect((await call('PATCH', users('/u4'), { status: 'suspended' })).status).toBe(200);
    expect(await revoked('u4')).toBe(true);
    await runtime.cache.delete(`auth:revoked:user:${TENANT}:u4`);
    expect(await revoked('u4')).toBe(false);
    expect((await call('PATCH', users('/u4'), { status: 'suspended' })).status).toBe(200);
    expect(await revoked('u4')).toBe(true);
  });

  it('unsuspends and renames without the cache: nothing to revoke', async () => {
    await addUser('u5');
    expect((await call('PATCH', users('/u5'), { status: 'suspended' })).status).toBe(200);
    fault.when = () => true;
    expect(await call('PATCH', users('/u5'), { display_name: 'Renamed' })).toMatchObject({ status: 200, body: { status: 'suspended', display_name: 'Renamed' } });
    expect(await call('PATCH', users('/u5'), { status: 'active' })).toMatchObject({ status: 200, body: { status: 'active' } });
    fault.when = null;
    expect(await auditActions('u5')).toEqual(['user.create', 'user.suspend', 'user.update', 'user.unsuspend']);
  });

  it('also revokes the token a refresh racing with the suspension rotated into, and that session', async () => {
    await addUser('u6');
    await refreshToken('rt-u6', 'u6', 'f-u6');
    let raced = false;
    hooks.beforeRefreshUpdate = async (id) => {
      if (id !== 'rt-u6' || raced) return;
      raced = true;
      // Auth rotates the token first (compare-and-set to `rotated`, a new active one in the same family).
      const current = await tokens().require(TENANT, 'rt-u6');
      const { tenantId: _t, version, createdAt: _c, updatedAt: _u, ...value } = current;
      await tokens().update(TENANT, 'rt-u6', { ...value, status: 'rotated' }, version);
      await refreshToken('rt-u6-next', 'u6', 'f-u6');
    };
    expect((await call('PATCH', users('/u6'), { status: 'suspended' })).status).toBe(200);
    expect(raced).toBe(true);
    expect([await statusOf('rt-u6'), await statusOf('rt-u6-next')]).toEqual(['rotated', 'revoked']);
    expect(await revoked('u6', { iat: nowSec() + 60, sid: 'f-u6' })).toBe(true);
  });

  it('does not swallow a store failure while revoking refresh tokens', async () => {
    await addUser('u7');
    await refreshToken('rt-u7', 'u7', 'f-u7');
    hooks.beforeRefreshUpdate = async () => {
      throw new UnavailableError('store');
    };
    expect(await call('PATCH', users('/u7'), { status: 'suspended' })).toMatchObject({ status: 503, body: { code: 'unavailable' } });
    hooks.beforeRefreshUpdate = async () => {
      throw new VersionConflictError('refresh_tokens', 1, 2);
    };
    // A conflict is a race: swept again, and a token that keeps changing is not reported as revoked.
    expect(await call('PATCH', users('/u7'), { status: 'suspended' })).toMatchObject({
      status: 503,
      body: { code: 'unavailable', detail: expect.stringContaining('kept changing') },
    });
    hooks.beforeRefreshUpdate = null;
    expect((await call('PATCH', users('/u7'), { status: 'suspended' })).status).toBe(200);
    expect(await statusOf('rt-u7')).toBe('revoked');
  });

  it('with the cache down, a removal answers 503 and deletes nothing; repeated once it is back, it removes the user and revokes every token and session', async () => {
    await addUser('u8');
    await refreshToken('rt-u8', 'u8', 'f-u8');
    await inner.repository(Collections.passkeys).create(TENANT, {
      id: 'pk-u8',
      userId: 'u8',
      publicKey: 'pk',
      counter: 0,
      transports: [],
      prfCapable: false,
      name: '',
      lastUsedAt: null,
    });

    fault.when = revocationKeys;
    const refused = await call('DELETE', users('/u8'));
    expect(refused).toMatchObject({ status: 503, body: { code: 'unavailable', detail: expect.stringContaining('nothing was deleted') } });
    expect((await call('GET', users('/u8'))).status).toBe(200);
    expect(await inner.repository(Collections.passkeys).get(TENANT, 'pk-u8')).not.toBeNull();
    expect(await statusOf('rt-u8')).toBe('active');
    expect(await auditActions('u8')).toEqual(['user.create']);
    expect(await revoked('u8')).toBe(false);

    // Failing half-way (sessions revoked, the last cut-off not): the user stays, so the removal can be repeated.
    let writes = 0;
    fault.when = (key) => key.startsWith('auth:revoked:user:') && ++writes > 2;
    expect((await call('DELETE', users('/u8'))).status).toBe(503);
    expect((await call('GET', users('/u8'))).status).toBe(200);
    expect(await inner.repository(Collections.passkeys).get(TENANT, 'pk-u8')).toBeNull();

    fault.when = null;
    expect((await call('DELETE', users('/u8'))).status).toBe(204);
    expect((await call('GET', users('/u8'))).status).toBe(404);
    expect(await revoked('u8')).toBe(true);
    expect(await revoked('u8', { iat: nowSec() + 60, sid: 'f-u8' })).toBe(true);
    expect(await statusOf('rt-u8')).toBeNull();
    expect(await auditActions('u8')).toEqual(['user.create', 'user.delete']);
  });
});
