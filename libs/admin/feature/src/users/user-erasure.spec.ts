import { createCache } from '@wallet/cache';
import { loadConfig } from '@wallet/config';
import { parseWql } from '@wallet/wql';
import { Collections, createStore, userDataErasers, type CollectionSpec, type Store, type VaultOwner, type VaultRecordInput } from '@wallet/persistence';
import { createServiceApp, ensureDefaultTenant, type RunningService, type Runtime } from '@wallet/platform';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { AdminFeatureModule } from '../admin-feature.module';
import { adminCaller } from '../admin-call.contract';

const TOKEN = 'admin-token-for-erasure-tests-0123456789ab';
const TENANT = 'erase-t';
const OTHER_TENANT = 'erase-o';

/** Fields that make a record someone's: a collection whose entity has one holds per-user data. */
const OWNER_FIELDS = ['userId', 'ownerId', 'owner', 'user', 'holderId', 'subjectId'];

/**
 * One record of each collection that holds per-user data, for `userId`. A new
 * collection with an owner field fails the classification test below until
 * it has a fixture here (and so is checked to be erased with the user).
 */
const OWNED_FIXTURES: Record<string, (userId: string) => { id: string; userId: string } & Record<string, unknown>> = {
  memberships: (userId) => ({ id: userId, userId, role: 'member' }),
  passkeys: (userId) => ({
    id: `pk-${userId}`,
    userId,
    publicKey: 'public-key',
    counter: 0,
    transports: ['internal'],
    prfCapable: true,
    name: 'Laptop',
    lastUsedAt: null,
  }),
  credentials: (userId) => ({ id: `cred-${userId}`, userId, credentialIdentifier: 'c1', format: 'vc+sd-jwt', credential: 'opaque credential' }),
  presentations: (userId) => ({ id: `pres-${userId}`, userId, presentationIdentifier: 'p1', presentation: 'opaque presentation', audience: null }),
  refresh_tokens: (userId) => ({
    id: `rt-${userId}`,
    userId,
    familyId: `fam-${userId}`,
    status: 'active',
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  }),
};

/** Collections that hold no user's data, and why (each must be named here or above). */
const NOT_A_USERS: Record<string, string> = {
  tenants: 'tenant configuration, global',
  issuers: "the tenant's issuers",
  verifiers: "the tenant's verifiers",
  invites: 'codes an admin hands out; they name no user',
  service_keys: 'service signing keys, global',
  key_rings: 'service key rings, global',
  audit_events: "the tenant's record of who did what; kept (writers never put blobs, keystores or tag values in it)",
  type_metadata: 'registry type metadata, global',
  verifier_services: 'verifier relying parties, global',
};

type AnySpec = CollectionSpec<{ id: string }>;
const allCollections = () => Object.values(Collections) as unknown as AnySpec[];
const fieldsOf = (spec: AnySpec) => Object.keys((spec.schema as unknown as { shape?: Record<string, unknown> }).shape ?? {});
const ownedCollections = () => allCollections().filter((spec) => fieldsOf(spec).some((field) => OWNER_FIELDS.includes(field)));

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

describe('the collections a user owns', () => {
  it('are every collection with an owner field; each one is erased with the user below, every other one is named as holding no user data', () => {
    const owned = ownedCollections().map((spec) => spec.name);
    expect(owned.sort()).toEqual(Object.keys(OWNED_FIXTURES).sort());
    for (const spec of allCollections()) {
      if (spec === (Collections.users as unknown as AnySpec) || owned.includes(spec.name)) continue;
      expect({ collection: spec.name, whyNotAUsers: NOT_A_USERS[spec.name] }).toEqual({ collection: spec.name, whyNotAUsers: expect.any(String) });
    }
  });

  it('are all on the erasure list admin and auth share (@wallet/persistence), with the vault, which comes after them', () => {
    const names = userDataErasers().map((eraser) => eraser.name);
    expect(names).toEqual([...ownedCollections().map((spec) => spec.name), 'vault']);
    // The user record (with the keystore) is not on it: each caller deletes it last, so a failed removal can be repeated.
    expect(names).not.toContain(Collections.users.name);
  });
});

describe.each(['memory', 'sqlite'] as const)('removing a user through the admin API erases everything they own (%s store)', (driver) => {
  let server: RunningService;
  let runtime: Runtime;
  let store: Store;
  let dir: string;
  const sqlitePath = () => join(dir, 'wallet.db');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'admin-erasure-'));
    const config = loadConfig({ argv: [], env: { WALLET_SERVER_HOST: '127.0.0.1', WALLET_SERVER_ADMIN_TOKEN: TOKEN, WALLET_DATA_DIR: dir } }).config;
    store = driver === 'memory' ? await createStore({ type: 'memory' }) : await createStore({ type: 'sqlite', path: sqlitePath() });
    await ensureDefaultTenant(store);
    runtime = { config, store, cache: await createCache({ type: 'memory' }), logger: pino({ level: 'silent' }) };
    server = await createServiceApp({ info: { name: 'admin', services: ['admin'] }, imports: [AdminFeatureModule], runtime, port: 0 });
    for (const id of [TENANT, OTHER_TENANT]) expect((await call('POST', '/admin/tenants', { id, display_name: id })).status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await store?.close();
    await runtime?.cache.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = adminCaller(() => server.url, TOKEN);

  /** Vault records with blinded and `~` plaintext tags, one of them deleted (a tombstone), and a keystore blob. */
  async function seed(tenantId: string, userId: string): Promise<void> {
    await store.repository(Collections.users).create(tenantId, {
      id: userId,
      handle: b64(`handle-${userId}`),
      displayName: `Name of ${userId}`,
      status: 'active',
      privateData: b64(`keystore of ${userId} in ${tenantId}`),
      privateDataEtag: `etag-${userId}`,
    });
    for (const spec of ownedCollections()) {
      await store.repository(spec as unknown as CollectionSpec<{ id: string; userId: string }>).create(tenantId, OWNED_FIXTURES[spec.name]!(userId));
    }
    const vault = store.vault();
    const owner: VaultOwner = { tenantId, userId };
    const records: VaultRecordInput[] = ['a', 'b', 'c'].map((n) => ({
      id: `rec-${n}`,
      category: b64('credential'),
      blob: b64(`ciphertext ${n} of ${userId} in ${tenantId}`),
      tags: { '~label': `plain label ${n} of ${userId} in ${tenantId}`, [b64('type')]: b64(`pid-${n}`) },
    }));
    for (const record of records) await vault.create(owner, record);
    await vault.delete(owner, 'rec-c');
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

  /** Per table of the SQLite file: how many rows mention every one of `needles` (compared as JSON text). */
  function sqliteRowsMentioning(...needles: string[]): Record<string, number> {
    const db = new Database(sqlitePath(), { readonly: true, fileMustExist: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>;
      const found: Record<string, number> = {};
      for (const { name } of tables) {
        const rows = db.prepare(`SELECT * FROM "${name}"`).all() as unknown[];
        found[name] = rows.filter((row) => needles.every((needle) => JSON.stringify(row).includes(needle))).length;
      }
      return found;
    } finally {
      db.close();
    }
  }

  /** The tables with a row of `userId` in the tenant, and how many (the audit log left out: it keeps who did what). */
  const sqliteRowsOf = (userId: string) => {
    const found = sqliteRowsMentioning(`"${TENANT}"`, userId);
    delete found['audit_events'];
    return Object.fromEntries(Object.entries(found).filter(([, count]) => count > 0));
  };

  it('the vault (records, tombstones, tags, sync state), the keystore and every owned collection; another user of the tenant and the same id in another tenant keep theirs', async () => {
    const gone = `erase-me-${driver}-7f3a`;
    const kept = `keep-me-${driver}-91c2`;
    await seed(TENANT, gone);
    await seed(TENANT, kept);
    await seed(OTHER_TENANT, gone);
    const keptBefore = await vaultState({ tenantId: TENANT, userId: kept });
    const elsewhereBefore = await vaultState({ tenantId: OTHER_TENANT, userId: gone });
    const goneBefore = await vaultState({ tenantId: TENANT, userId: gone });
    expect(goneBefore.records).toHaveLength(2);
    expect(goneBefore.changes).toHaveLength(3);
    const keptInFile = driver === 'sqlite' ? sqliteRowsOf(kept) : {};
    if (driver === 'sqlite') {
      // The scan below sees every kind of row the user has (2 live records with 2 tags each, a tombstone, the sync state).
      expect(sqliteRowsOf(gone)).toEqual({
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

    expect((await call('DELETE', `/admin/tenants/${TENANT}/users/${gone}`)).status).toBe(204);

    expect(await store.repository(Collections.users).get(TENANT, gone)).toBeNull();
    const left: Record<string, number> = {};
    for (const spec of ownedCollections()) {
      const repository = store.repository(spec as unknown as CollectionSpec<{ id: string; userId: string }>);
      left[`${spec.name} of the removed user`] = await repository.count(TENANT, { userId: gone });
      left[`${spec.name} of the other user`] = await repository.count(TENANT, { userId: kept });
      left[`${spec.name} of the same id in another tenant`] = await repository.count(OTHER_TENANT, { userId: gone });
    }
    const expected = Object.fromEntries(Object.keys(left).map((key) => [key, key.endsWith('removed user') ? 0 : 1]));
    expect(left).toEqual(expected);

    // Nothing of the vault is left: no record, no tombstone in the sync feed, no tag a query could find, no usage.
    expect(await vaultState({ tenantId: TENANT, userId: gone })).toEqual({ records: [], byPlainTag: [], changes: [], usage: { records: 0, bytes: 0 } });
    expect(await vaultState({ tenantId: TENANT, userId: kept })).toEqual(keptBefore);
    expect(await vaultState({ tenantId: OTHER_TENANT, userId: gone })).toEqual(elsewhereBefore);
    expect(await store.repository(Collections.users).get(TENANT, kept)).toMatchObject({ privateData: b64(`keystore of ${kept} in ${TENANT}`) });
    expect(await store.repository(Collections.users).get(OTHER_TENANT, gone)).toMatchObject({ privateData: b64(`keystore of ${gone} in ${OTHER_TENANT}`) });

    if (driver === 'sqlite') {
      // Straight from the file, every table: nothing of the removed user in the tenant but the audit log.
      expect(sqliteRowsOf(gone)).toEqual({});
      expect(sqliteRowsOf(kept)).toEqual(keptInFile);
      // Nor do the removed user's tag values, ciphertexts or keystore appear anywhere, the audit log included.
      for (const secret of [`plain label a of ${gone} in ${TENANT}`, b64(`ciphertext a of ${gone} in ${TENANT}`), b64(`keystore of ${gone} in ${TENANT}`)]) {
        const found = sqliteRowsMentioning(secret);
        expect({ secret, found }).toEqual({ secret, found: Object.fromEntries(Object.keys(found).map((table) => [table, 0])) });
      }
    }

    // Repeating the removal: the user is gone.
    expect((await call('DELETE', `/admin/tenants/${TENANT}/users/${gone}`)).status).toBe(404);
  });
});
