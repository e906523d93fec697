import { createCache, type Cache } from '@wallet/cache';
import { loadConfig } from '@wallet/config';
import { UnavailableError } from '@wallet/domain';
import { parseWql } from '@wallet/wql';
import { Collections, createStore, userOwnedCollections, type CollectionSpec, type Store, type VaultOwner } from '@wallet/persistence';
import { AccessTokenRevocations, createServiceApp, ensureDefaultTenant, type RunningService, type Runtime } from '@wallet/platform';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { AdminFeatureModule } from '../admin-feature.module';
import { adminCaller } from '../admin-call.contract';

const TOKEN = 'admin-token-for-tenant-erasure-tests-01234';
const DOOMED = 'doomed-t';
const KEPT = 'kept-t';
/** More users than the deletion reads at a time (100), so it has to page. */
const LIGHT_USERS = 101;

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/** One record of each collection with a `userId`, for `userId`. */
function ownedRecord(collection: string, userId: string): { id: string; userId: string } & Record<string, unknown> {
  switch (collection) {
    case 'memberships':
      return { id: userId, userId, role: 'member' };
    case 'passkeys':
      return { id: `pk-${userId}`, userId, publicKey: 'public-key', counter: 0, transports: ['internal'], prfCapable: true, name: 'Laptop', lastUsedAt: null };
    case 'credentials':
      return { id: `cred-${userId}`, userId, credentialIdentifier: 'c1', format: 'vc+sd-jwt', credential: 'opaque credential' };
    case 'presentations':
      return { id: `pres-${userId}`, userId, presentationIdentifier: 'p1', presentation: 'opaque presentation', audience: null };
    case 'refresh_tokens':
      return { id: `rt-${userId}`, userId, familyId: `fam-${userId}`, status: 'active', expiresAt: new Date(Date.now() + 3_600_000).toISOString() };
    default:
      // user-erasure.spec.ts classifies every owner-field collection; a new one needs a fixture here too.
      throw new Error(`no fixture for the user-owned collection ${collection}`);
  }
}

/** The memory cache; while `fault.when(key)` holds, writing that key fails as a cache outage does. */
function faultyCache(inner: Cache) {
  const fault: { when: ((key: string) => boolean) | null } = { when: null };
  const cache = new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (property === 'set') {
        return async (key: string, ...rest: unknown[]) => {
          if (fault.when?.(key)) throw new UnavailableError('cache');
          return (value as (...args: unknown[]) => Promise<void>).call(target, key, ...rest);
        };
      }
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
  return { cache, fault };
}

describe.each(['memory', 'sqlite'] as const)('force-deleting a tenant erases everything its users own (%s store)', (driver) => {
  let server: RunningService;
  let runtime: Runtime;
  let store: Store;
  let dir: string;
  let fault: ReturnType<typeof faultyCache>['fault'];
  let revocations: AccessTokenRevocations;
  const sqlitePath = () => join(dir, 'wallet.db');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'admin-tenant-erasure-'));
    const config = loadConfig({ argv: [], env: { WALLET_SERVER_HOST: '127.0.0.1', WALLET_SERVER_ADMIN_TOKEN: TOKEN, WALLET_DATA_DIR: dir } }).config;
    store = driver === 'memory' ? await createStore({ type: 'memory' }) : await createStore({ type: 'sqlite', path: sqlitePath() });
    await ensureDefaultTenant(store);
    const memory = await createCache({ type: 'memory' });
    const faulty = faultyCache(memory);
    fault = faulty.fault;
    revocations = new AccessTokenRevocations(memory, { maxTokenLifetimeMs: 900_000 });
    runtime = { config, store, cache: faulty.cache, logger: pino({ level: 'silent' }) };
    server = await createServiceApp({ info: { name: 'admin', services: ['admin'] }, imports: [AdminFeatureModule], runtime, port: 0 });
    for (const id of [DOOMED, KEPT]) expect((await call('POST', '/admin/tenants', { id, display_name: id })).status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await store?.close();
    await runtime?.cache.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = adminCaller(() => server.url, TOKEN);

  /** A user with a keystore, a record in every owned collection and a vault (blinded and `~` plaintext tags, a tombstone). */
  async function seed(tenantId: string, userId: string, full = true): Promise<void> {
    await store.repository(Collections.users).create(tenantId, {
      id: userId,
      handle: b64(`handle-${userId}`),
      displayName: `Name of ${userId}`,
      status: 'active',
      privateData: b64(`keystore of ${userId} in ${tenantId}`),
      privateDataEtag: `etag-${userId}`,
    });
    for (const spec of full ? userOwnedCollections() : [Collections.memberships as unknown as CollectionSpec<{ id: string; userId: string }>]) {
      await store.repository(spec).create(tenantId, ownedRecord(spec.name, userId));
    }
    const owner: VaultOwner = { tenantId, userId };
    for (const n of full ? ['a', 'b', 'c'] : ['a']) {
      await store.vault().create(owner, {
        id: `rec-${n}`,
        category: b64('credential'),
        blob: b64(`ciphertext ${n} of ${userId} in ${tenantId}`),
        tags: { '~label': `plain label ${n} of ${userId} in ${tenantId}`, [b64('type')]: b64(`pid-${n}`) },
      });
    }
    if (full) await store.vault().delete(owner, 'rec-c');
  }

  async function vaultState(owner: VaultOwner) {
    const vault = store.vault();
    return {
      records: (await vault.list(owner)).items,
      byPlainTag: (await vault.query(owner, parseWql({ '~label': { $like: 'plain label%' } }))).items.map((r) => r.id),
      changes: (await vault.changes(owner, null, 1000)).changes,
      usage: await vault.usage(owner),
    };
  }

  /** Everything the store holds of the user in the tenant, through the ports. */
  async function heldOf(tenantId: string, userId: string) {
    const held: Record<string, unknown> = { user: await store.repository(Collections.users).get(tenantId, userId) };
    for (const spec of userOwnedCollections()) held[spec.name] = await store.repository(spec).count(tenantId, { userId });
    return { ...held, vault: await vaultState({ tenantId, userId }) };
  }

  const nothing = () => ({
    user: null,
    ...Object.fromEntries(userOwnedCollections().map((spec) => [spec.name, 0])),
    vault: { records: [], byPlainTag: [], changes: [], usage: { records: 0, bytes: 0 } },
  });

  /** Per table of the SQLite file: rows mentioning every one of `needles` (as JSON text); the audit log left out. */
  function sqliteRowsMentioning(...needles: string[]): Record<string, number> {
    const db = new Database(sqlitePath(), { readonly: true, fileMustExist: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>;
      const found: Record<string, number> = {};
      for (const { name } of tables) {
        if (name === 'audit_events') continue;
        const rows = db.prepare(`SELECT * FROM "${name}"`).all() as unknown[];
        const count = rows.filter((row) => needles.every((needle) => JSON.stringify(row).includes(needle))).length;
        if (count > 0) found[name] = count;
      }
      return found;
    } finally {
      db.close();
    }
  }

  const revokedIn = (tenantId: string, userId: string) =>
    revocations.isRevoked({ jti: `jti-${Math.random()}`, tenantId, userId, iat: Math.floor(Date.now() / 1000) - 5 });

  it('every user of the tenant (paged), with their vault, keystore and owned records, tokens revoked; a failure half-way is a 503 and a repeat finishes; another tenant untouched', async () => {
    const alice = `alice-${driver}-5d1e`;
    const bob = `bob-${driver}-a07c`;
    const light = Array.from({ length: LIGHT_USERS }, (_, i) => `light-${driver}-${String(i).padStart(3, '0')}`);
    for (const user of [alice, bob]) {
      await seed(DOOMED, user);
      await seed(KEPT, user);
    }
    for (const user of light) await seed(DOOMED, user, false);
    expect(await store.repository(Collections.verifiers).count(DOOMED)).toBe(0);
    const keptBefore = { alice: await heldOf(KEPT, alice), bob: await heldOf(KEPT, bob) };
    const keptRows = driver === 'sqlite' ? sqliteRowsMentioning(`"${KEPT}"`) : {};
    expect((await heldOf(DOOMED, bob)).vault.changes).toHaveLength(3);
    if (driver === 'sqlite') {
      expect(sqliteRowsMentioning(`"${DOOMED}"`, bob)).toEqual({
        users: 1,
        memberships: 1,
        passkeys: 1,
        credentials: 1,
        presentations: 1,
        refresh_tokens: 1,
        vault_records: 3,
        vault_tags: 4,
        vault_users: 1,
      });
    }

    // Without force: refused, nothing erased.
    expect(await call('DELETE', `/admin/tenants/${DOOMED}`)).toMatchObject({ status: 412 });
    expect((await heldOf(DOOMED, alice)).vault.records).toHaveLength(2);

    // The cache refuses bob's revocation: a 503 (not a 500), the tenant disabled but still there, bob untouched, a repeat finishes.
    fault.when = (key) => key.includes(`:${DOOMED}:${bob}`);
    const failed = await call('DELETE', `/admin/tenants/${DOOMED}?force=true`);
    expect(failed).toMatchObject({ status: 503, body: { code: 'unavailable' } });
    expect(await call('GET', `/admin/tenants/${DOOMED}`)).toMatchObject({ status: 200, body: { enabled: false } });
    expect(await heldOf(DOOMED, alice)).toEqual(nothing());
    expect((await heldOf(DOOMED, bob)).vault.records).toHaveLength(2);
    fault.when = null;

    const done = await call('DELETE', `/admin/tenants/${DOOMED}?force=true`);
    expect(done).toMatchObject({ status: 200, body: { deleted: expect.objectContaining({ users: LIGHT_USERS + 1, vault: LIGHT_USERS + 2 }) } });
    expect(await call('GET', `/admin/tenants/${DOOMED}`)).toMatchObject({ status: 404 });

    for (const user of [alice, bob, ...light]) {
      expect({ user, held: await heldOf(DOOMED, user) }).toEqual({ user, held: nothing() });
      expect({ user, revoked: await revokedIn(DOOMED, user) }).toEqual({ user, revoked: true });
    }
    expect(await store.repository(Collections.users).count(DOOMED)).toBe(0);

    // The other tenant's users, with the same ids: every record, change, tag and the keystore as before, not revoked.
    expect({ alice: await heldOf(KEPT, alice), bob: await heldOf(KEPT, bob) }).toEqual(keptBefore);
    expect(await revokedIn(KEPT, alice)).toBe(false);

    if (driver === 'sqlite') {
      // Straight from the file, every table but the audit log: nothing of the deleted tenant.
      expect(sqliteRowsMentioning(`"${DOOMED}"`)).toEqual({});
      expect(sqliteRowsMentioning(`"${KEPT}"`)).toEqual(keptRows);
      // Nor do its users' tag values, ciphertexts or keystores appear anywhere, the audit log included.
      const db = new Database(sqlitePath(), { readonly: true, fileMustExist: true });
      try {
        const audit = JSON.stringify(db.prepare('SELECT * FROM audit_events').all());
        for (const secret of [`plain label a of ${bob} in ${DOOMED}`, b64(`ciphertext a of ${bob} in ${DOOMED}`), b64(`keystore of ${bob} in ${DOOMED}`)]) {
          expect({ secret, inAudit: audit.includes(secret) }).toEqual({ secret, inAudit: false });
        }
      } finally {
        db.close();
      }
    }
  }, 120_000);
});
