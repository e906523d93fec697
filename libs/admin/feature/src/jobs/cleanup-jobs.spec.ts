import { GLOBAL_SCOPE } from '@wallet/domain';
import { Collections, createStore, type Store } from '@wallet/persistence';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupInvites, cleanupRefreshTokens } from './cleanup-jobs';

describe('cleanup jobs (SQLite store)', () => {
  let store: Store;
  let dir: string;
  const now = new Date('2030-01-01T00:00:00Z');
  const signal = new AbortController().signal;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jobs-'));
    store = await createStore({ type: 'sqlite', path: join(dir, 'w.db') });
    const base = { displayName: 'T', enabled: true, requireInvite: false, trustConfig: {}, allowedProtocols: [] };
    await store.repository(Collections.tenants).create(GLOBAL_SCOPE, { id: 't1', ...base });
    await store.repository(Collections.tenants).create(GLOBAL_SCOPE, { id: 't2', ...base });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deletes expired and revoked invites in every tenant, keeps live ones', async () => {
    const invites = store.repository(Collections.invites);
    const invite = (id: string, expiresAt: string | null, revoked = false) => ({ id, codeHash: `h-${id}`, expiresAt, maxUses: 1, uses: 0, revoked });
    await invites.create('t1', invite('expired', '2029-12-31T23:59:59.000Z'));
    await invites.create('t1', invite('live', '2030-01-02T00:00:00.000Z'));
    await invites.create('t2', invite('forever', null));
    await invites.create('t2', invite('revoked', null, true));
    expect(await cleanupInvites(store, { now, signal })).toEqual({ removed: 2 });
    expect((await invites.list('t1')).items.map((i) => i.id)).toEqual(['live']);
    expect((await invites.list('t2')).items.map((i) => i.id)).toEqual(['forever']);
  });

  it('deletes expired refresh tokens, keeps unexpired rotated ones for reuse detection', async () => {
    const tokens = store.repository(Collections.refreshTokens);
    const token = (id: string, expiresAt: string, status: 'active' | 'rotated') => ({ id, userId: 'u', familyId: 'f', expiresAt, status });
    await tokens.create('t1', token('old', '2029-01-01T00:00:00.000Z', 'active'));
    await tokens.create('t1', token('old-rotated', '2029-01-01T00:00:00.000Z', 'rotated'));
    await tokens.create('t1', token('rotated', '2031-01-01T00:00:00.000Z', 'rotated'));
    expect(await cleanupRefreshTokens(store, { now, signal })).toEqual({ removed: 2 });
    expect((await tokens.list('t1')).items.map((t) => t.id)).toEqual(['rotated']);
  });
});
