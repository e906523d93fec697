import {
  generateVaultKeySet,
  masterKeyFor,
  passphraseMasterKey,
  unwrapVaultKeySet,
  VaultRecordCipher,
  wrapVaultKeySet,
  type EncryptedVaultRecord,
  type WrappedVaultKeySet,
} from '@wallet/wallet-client';
import { GLOBAL_SCOPE } from '@wallet/domain';
import { Collections, createStore, type Store } from '@wallet/persistence';
import {
  describeIfAvailable,
  mongoAvailable,
  newAuthenticator,
  PasskeyTestClient,
  startBuiltApp,
  startMongo,
  type AuthSession,
  type MongoHandle,
  type ServiceProcess,
} from '@wallet/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The vault end to end, through the built auth and storage services sharing
 * one database: a wallet registers with a passkey (software authenticator),
 * keeps its vault key set wrapped by a passphrase in the keystore blob,
 * stores encrypted credentials with tags, finds them with WQL, syncs a second
 * device, resolves a concurrent edit, exports, imports into a fresh account
 * on another tenant and reads everything back; another user is refused on
 * every route. Runs on SQLite and on MongoDB (FerretDB).
 */

const PASSPHRASE = 'correct horse battery staple';
const KDF = { t: 1, m: 1024, p: 1 };

interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

class StorageClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${this.token}`, ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${this.baseUrl}${path}`, init);
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }
}

function keystoreBlob(wrapped: WrappedVaultKeySet): { $b64u: string } {
  return { $b64u: Buffer.from(JSON.stringify(wrapped)).toString('base64url') };
}

function keySetFrom(privateData: { $b64u: string } | string | null): VaultRecordCipher {
  if (!privateData) throw new Error('no keystore');
  const b64 = typeof privateData === 'string' ? privateData : privateData.$b64u;
  const wrapped = JSON.parse(Buffer.from(b64, 'base64url').toString('utf8')) as WrappedVaultKeySet;
  return new VaultRecordCipher(unwrapVaultKeySet(wrapped, masterKeyFor(wrapped, { passphrase: PASSPHRASE })));
}

const credential = (cipher: VaultRecordCipher, id: string, type: string, issuer: string, value: string, added: string) =>
  cipher.encryptRecord({ id, category: 'credential', value: Buffer.from(value), tags: { type, issuer, '~added': added } });

function runVaultE2e(name: string, env: () => Record<string, string>, openStore: () => Promise<Store>) {
  describe(`vault end to end on ${name}`, () => {
    let auth: ServiceProcess;
    let storage: ServiceProcess;
    let authUrl: string;
    let storageUrl: string;

    beforeAll(async () => {
      const shared = { ...env(), WALLET_LOGGING_LEVEL: 'info' };
      auth = await startBuiltApp('auth', shared);
      const store = await openStore();
      try {
        await store.repository(Collections.tenants).create(GLOBAL_SCOPE, {
          id: 'beta',
          displayName: 'Beta',
          enabled: true,
          requireInvite: false,
          trustConfig: {},
          allowedProtocols: [],
        });
      } finally {
        await store.close();
      }
      storage = await startBuiltApp('storage', shared);
      authUrl = auth.servers.get('auth')!;
      storageUrl = storage.servers.get('storage')!;
    }, 90_000);

    afterAll(async () => {
      await storage?.stop('SIGTERM');
      await auth?.stop('SIGTERM');
    }, 60_000);

    it('logs in with a passkey, stores, finds, syncs, resolves a conflict, exports, imports elsewhere and reads back', async () => {
      // Device 1 registers; the key set travels wrapped in the keystore blob.
      const authenticator = newAuthenticator();
      const keys = generateVaultKeySet();
      const wrapped = wrapVaultKeySet(keys, passphraseMasterKey(PASSPHRASE, { params: KDF }));
      const device1 = new PasskeyTestClient({ baseUrl: authUrl, authenticator });
      const session: AuthSession = await device1.registered({ displayName: 'Ann', privateData: keystoreBlob(wrapped) });
      const api1 = new StorageClient(storageUrl, session.appToken);
      const cipher1 = new VaultRecordCipher(keys);

      const records = [
        credential(cipher1, 'pid-1', 'pid', 'gov', '{"given_name":"Ann"}', '2026-01-05'),
        credential(cipher1, 'mdl-1', 'mdl', 'dmv', '{"category":"B"}', '2026-02-10'),
        credential(cipher1, 'dip-1', 'diploma', 'uni', '{"degree":"MSc"}', '2025-06-30'),
      ];
      for (const record of records) expect((await api1.call('POST', '/storage/vault/records', record)).status).toBe(201);

      const found = await api1.call<{ items: EncryptedVaultRecord[] }>('POST', '/storage/vault/query', {
        query: cipher1.blindQuery({ $or: [{ type: 'pid' }, { issuer: 'dmv' }], '~added': { $gte: '2026-01-01' } }),
      });
      expect(found.status).toBe(200);
      expect(found.body.items.map((r) => cipher1.decryptRecord(r).id).sort()).toEqual(['mdl-1', 'pid-1']);

      // Device 2 logs in with the same passkey, unwraps the key set and syncs everything.
      const device2 = new PasskeyTestClient({ baseUrl: authUrl, authenticator });
      const login = await device2.login();
      expect(login.status).toBe(200);
      const cipher2 = keySetFrom(login.body.privateData);
      const api2 = new StorageClient(storageUrl, login.body.appToken);
      const synced = await api2.call<{ changes: Array<EncryptedVaultRecord & { deleted: boolean }>; cursor: string }>('GET', '/storage/vault/sync');
      expect(synced.body.changes.map((c) => cipher2.decryptRecord(c).id)).toEqual(['pid-1', 'mdl-1', 'dip-1']);
      let cursor2 = synced.body.cursor;

      // Both devices edit pid-1 from version 1: one wins, the other gets 412, merges and retries.
      const pidId = records[0]!.id;
      const edit1 = cipher1.encryptRecord({ id: 'pid-1', category: 'credential', value: Buffer.from('{"given_name":"Ann","note":"d1"}'), tags: { type: 'pid', issuer: 'gov', '~added': '2026-01-05' } });
      const edit2 = cipher2.encryptRecord({ id: 'pid-1', category: 'credential', value: Buffer.from('{"given_name":"Ann","note":"d2"}'), tags: { type: 'pid', issuer: 'gov', '~added': '2026-01-05' } });
      const [r1, r2] = await Promise.all([
        api1.call('PUT', `/storage/vault/records/${pidId}`, edit1, { 'if-match': '"1"' }),
        api2.call('PUT', `/storage/vault/records/${pidId}`, edit2, { 'if-match': '"1"' }),
      ]);
      expect([r1.status, r2.status].sort()).toEqual([200, 412]);
      const [loserApi, loserCipher, loserAnswer] = r1.status === 412 ? [api1, cipher1, r1] : [api2, cipher2, r2];
      expect(loserAnswer.body).toMatchObject({ code: 'precondition_failed', currentVersion: 2 });
      const current = await loserApi.call<EncryptedVaultRecord>('GET', `/storage/vault/records/${pidId}`);
      const theirs = JSON.parse(Buffer.from(loserCipher.decryptRecord(current.body).value).toString()) as Record<string, string>;
      const merged = loserCipher.encryptRecord({
        id: 'pid-1',
        category: 'credential',
        value: Buffer.from(JSON.stringify({ ...theirs, note: 'd1+d2' })),
        tags: { type: 'pid', issuer: 'gov', '~added': '2026-01-05' },
      });
      const retried = await loserApi.call('PUT', `/storage/vault/records/${pidId}`, merged, { 'if-match': current.headers.get('etag')! });
      expect(retried.status).toBe(200);

      // Device 1 deletes the diploma; device 2 catches up exactly.
      expect((await api1.call('DELETE', `/storage/vault/records/${records[2]!.id}`)).status).toBe(204);
      const later = await api2.call<{ changes: Array<{ id: string; deleted: boolean; version: number } & EncryptedVaultRecord>; cursor: string }>(
        'GET',
        `/storage/vault/sync?since=${cursor2}`,
      );
      expect(later.body.changes.map((c) => [c.id, c.deleted, c.version])).toEqual([
        [pidId, false, 3],
        [records[2]!.id, true, 2],
      ]);
      expect(JSON.parse(Buffer.from(cipher2.decryptRecord(later.body.changes[0]!).value).toString())).toMatchObject({ note: 'd1+d2' });
      cursor2 = later.body.cursor;
      expect((await api2.call<{ changes: unknown[] }>('GET', `/storage/vault/sync?since=${cursor2}`)).body.changes).toEqual([]);

      // Export, then import into a fresh account on another tenant.
      const archive = await api1.call('GET', '/storage/vault/export');
      expect(archive.status).toBe(200);
      const fresh = new PasskeyTestClient({ baseUrl: authUrl, tenant: 'beta' });
      const other = await fresh.registered({ displayName: 'Ann (new provider)' });
      expect(other.tenant).toBe('beta');
      const api3 = new StorageClient(storageUrl, other.appToken);
      const imported = await api3.call<{ imported: number; keystore: string }>('POST', '/storage/vault/import', archive.text, {
        'content-type': 'application/x-ndjson',
      });
      expect(imported.status).toBe(200);
      expect(imported.body.imported).toBe(2);
      // The keystore blob came along in the archive: the passphrase opens it on the new account.
      const header = JSON.parse(archive.text.split('\n')[0]!) as { keystore: { privateData: string } };
      const cipher3 = keySetFrom(header.keystore.privateData);
      const readBack = await api3.call<{ items: EncryptedVaultRecord[] }>('GET', '/storage/vault/records');
      expect(readBack.body.items.map((r) => cipher3.decryptRecord(r)).map((r) => [r.id, JSON.parse(Buffer.from(r.value).toString())])).toEqual(
        expect.arrayContaining([
          ['pid-1', { given_name: 'Ann', note: 'd1+d2' }],
          ['mdl-1', { category: 'B' }],
        ]),
      );
      const again = await api3.call('POST', '/storage/vault/import', archive.text, { 'content-type': 'application/x-ndjson' });
      expect(again.status).toBe(412);
    }, 120_000);

    it('keeps every write the API acknowledged when the storage service is killed with SIGKILL', async () => {
      const session = await new PasskeyTestClient({ baseUrl: authUrl }).registered({ displayName: 'Kill' });
      const api = new StorageClient(storageUrl, session.appToken);
      const acked: string[] = [];
      let stop = false;
      const writers = Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; !stop; i++) {
          const id = `k${w}-${i}`;
          const answer = await api.call('POST', '/storage/vault/records', { id, category: 'c', blob: 'AAAA', tags: { '~w': String(w) } }).catch(() => null);
          if (answer?.status === 201) acked.push(id);
          else return;
        }
      });
      while (acked.length < 100) await new Promise((resolve) => setTimeout(resolve, 10));
      // Killed with requests in flight.
      await storage.stop('SIGKILL');
      stop = true;
      await Promise.all(writers);
      storage = await startBuiltApp('storage', { ...env(), WALLET_LOGGING_LEVEL: 'info' });
      storageUrl = storage.servers.get('storage')!;
      const after = new StorageClient(storageUrl, session.appToken);
      const stored = new Set<string>();
      let cursor: string | null = null;
      for (;;) {
        const page: Answer<{ items: Array<{ id: string }>; nextCursor: string | null }> = await after.call(
          'GET',
          `/storage/vault/records?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        );
        page.body.items.forEach((item) => stored.add(item.id));
        cursor = page.body.nextCursor;
        if (!cursor) break;
      }
      expect(acked.length).toBeGreaterThanOrEqual(100);
      expect(acked.filter((id) => !stored.has(id))).toEqual([]);
      // The service takes writes again for the same user.
      expect((await after.call('POST', '/storage/vault/records', { id: 'after-restart', category: 'c', blob: 'AAAA', tags: {} })).status).toBe(201);
    }, 120_000);

    it("refuses another user's attempts on every route", async () => {
      const owner = await new PasskeyTestClient({ baseUrl: authUrl }).registered({ displayName: 'Owner' });
      const sameTenant = await new PasskeyTestClient({ baseUrl: authUrl }).registered({ displayName: 'Mallory' });
      const otherTenant = await new PasskeyTestClient({ baseUrl: authUrl, tenant: 'beta' }).registered({ displayName: 'Mallory B' });
      const ownerApi = new StorageClient(storageUrl, owner.appToken);
      await ownerApi.call('POST', '/storage/vault/records', { id: 'secret', category: 'c', blob: 'AAAA', tags: { '~k': 'v' } });
      await ownerApi.call('POST', '/storage/vc', { credentials: [{ credentialIdentifier: 'c1', credential: 'eyJ', format: 'dc+sd-jwt' }] });
      await ownerApi.call('POST', '/storage/vp', { presentationIdentifier: 'p1', presentation: 'eyJ' });

      const attempts: Array<[string, string, unknown?, Record<string, string>?]> = [
        ['GET', '/storage/vault/records/secret'],
        ['PUT', '/storage/vault/records/secret', { category: 'c', blob: 'BBBB', tags: {} }, { 'if-match': '"1"' }],
        ['DELETE', '/storage/vault/records/secret'],
        ['GET', '/storage/vc/c1'],
        ['DELETE', '/storage/vc/c1'],
        ['POST', '/storage/vc/update', { credential: { credentialIdentifier: 'c1', credential: 'x', format: 'f' } }],
        ['GET', '/storage/vp/p1'],
      ];
      for (const intruder of [sameTenant, otherTenant]) {
        const evil = new StorageClient(storageUrl, intruder.appToken);
        for (const [method, path, body, headers] of attempts) {
          expect({ method, path, status: (await evil.call(method, path, body, headers)).status }).toEqual({ method, path, status: 404 });
        }
        expect((await evil.call('GET', '/storage/vault/records')).body).toEqual({ items: [], nextCursor: null });
        expect((await evil.call('POST', '/storage/vault/query', { query: { '~k': 'v' } })).body).toEqual({ items: [], nextCursor: null });
        expect((await evil.call('GET', '/storage/vault/sync')).body).toMatchObject({ changes: [] });
        expect((await evil.call('GET', '/storage/vc')).body).toEqual({ vc_list: [] });
        expect((await evil.call('GET', '/storage/vp')).body).toEqual({ vp_list: [] });
        expect((await evil.call('GET', '/storage/vault/export')).text.trim().split('\n')).toHaveLength(2);
      }
      // Naming another tenant in the path does not switch the owner's token to it.
      expect((await ownerApi.call('GET', '/t/beta/storage/vault/records/secret')).status).toBe(403);
      // Without a token, or with a forged one: 401.
      expect((await new StorageClient(storageUrl, 'not-a-token').call('GET', '/storage/vault/records')).status).toBe(401);
      // Nothing of the owner's changed.
      expect((await ownerApi.call('GET', '/storage/vault/records/secret')).body).toMatchObject({ version: 1, blob: 'AAAA' });
      expect((await ownerApi.call('GET', '/storage/vc/c1')).body).toMatchObject({ credential: 'eyJ' });
    }, 120_000);
  });
}

const dir = mkdtempSync(join(tmpdir(), 'wallet-vault-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sqlitePath = join(dir, 'wallet.db');

runVaultE2e(
  'SQLite',
  () => ({ WALLET_STORAGE_TYPE: 'sqlite', WALLET_STORAGE_SQLITE_PATH: sqlitePath }),
  () => createStore({ type: 'sqlite', path: sqlitePath }),
);

describeIfAvailable('vault:e2e-mongodb', mongoAvailable(), 'no MONGODB_URI, FerretDB or mongod found')('on MongoDB', () => {
  let server: MongoHandle | undefined;
  let uri = '';
  beforeAll(async () => {
    server = await startMongo();
    uri = server.uri;
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  }, 60_000);
  runVaultE2e(
    'MongoDB (FerretDB)',
    () => ({ WALLET_STORAGE_TYPE: 'mongodb', WALLET_STORAGE_MONGODB_URI: uri }),
    () => createStore({ type: 'mongodb', uri }),
  );
});
