import { createCache } from '@wallet/cache';
import { loadConfig, type WalletConfig } from '@wallet/config';
import type { KeyRing } from '@wallet/crypto';
import { GLOBAL_SCOPE } from '@wallet/domain';
import { Collections, createStore, type StoreOptions } from '@wallet/persistence';
import {
  ACCESS_TOKEN_KEY_PURPOSE,
  createServiceApp,
  ensureDefaultTenant,
  openServiceKeyRing,
  type RunningService,
  type Runtime,
} from '@wallet/platform';
import { describeIfAvailable, mongoAvailable, startMongo, type MongoHandle } from '@wallet/testing';
import { generateVaultKeySet, VaultRecordCipher } from '@wallet/wallet-client';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { StorageFeatureModule } from './storage-feature.module';
import { vaultTombstonesJob } from '@wallet/persistence';

/**
 * The storage feature over real HTTP with real access tokens (signed by the
 * auth key ring in the same store, as the auth service signs them), on each
 * store driver. The end-to-end test through the built auth and storage apps
 * lives in e2e/.
 */

const ISSUER = 'urn:test:auth';
const AUDIENCE = 'urn:test:api';

/** The store is opened by the test; the config's own storage section is not used by the feature. */
function testConfig(): WalletConfig {
  const env: Record<string, string> = {
    WALLET_STORAGE_TYPE: 'memory',
    WALLET_SERVER_HOST: '127.0.0.1',
    WALLET_LOGGING_LEVEL: 'silent',
    WALLET_AUTH_ISSUER: ISSUER,
    WALLET_AUTH_AUDIENCE: AUDIENCE,
    WALLET_VAULT_MAX_BLOB_BYTES: '4096',
    WALLET_VAULT_MAX_ARCHIVE_BYTES: '200000',
  };
  return loadConfig({ argv: [], env }).config;
}

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

const b64 = (text: string) => Buffer.from(text).toString('base64url');

function runVaultApiSuite(name: string, storeOptions: () => StoreOptions) {
  describe(`vault REST API: ${name}`, () => {
    let server: RunningService;
    let runtime: Runtime;
    let ring: KeyRing;

    const token = (userId: string, tenant = 'default') =>
      ring.sign({ iss: ISSUER, aud: AUDIENCE, sub: userId, tenant, jti: randomUUID() }, { typ: 'at+jwt', expiresInSeconds: 300 });

    async function call(method: string, path: string, auth: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
      const init: RequestInit = { method, headers: { ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...headers } };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
      }
      const response = await fetch(`${server.url}${path}`, init);
      const text = await response.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      return { status: response.status, headers: response.headers, body: parsed, text };
    }

    beforeAll(async () => {
      const options = storeOptions();
      const config = testConfig();
      const store = await createStore(options);
      await ensureDefaultTenant(store);
      await store
        .repository(Collections.tenants)
        .create(GLOBAL_SCOPE, { id: 'beta', displayName: 'Beta', enabled: true, requireInvite: false, trustConfig: {}, allowedProtocols: [] });
      runtime = { config, store, cache: await createCache({ type: 'memory' }), logger: pino({ level: 'silent' }) };
      server = await createServiceApp({ info: { name: 'storage', services: ['storage'] }, imports: [StorageFeatureModule], runtime, port: 0 });
      ring = await openServiceKeyRing(store, config, ACCESS_TOKEN_KEY_PURPOSE);
    }, 60_000);

    afterAll(async () => {
      await server?.close();
      await runtime?.store.close();
      await runtime?.cache.close();
    }, 60_000);

    it('stores, reads, queries, replaces with If-Match, deletes and syncs encrypted records', async () => {
      const user = `alice-${randomUUID().slice(0, 8)}`;
      const auth = await token(user);
      const cipher = new VaultRecordCipher(generateVaultKeySet());
      const pid = cipher.encryptRecord({ id: 'pid-1', category: 'credential', value: Buffer.from('{"given_name":"Ann"}'), tags: { type: 'pid', '~added': '2026-01-02' } });
      const mdl = cipher.encryptRecord({ id: 'mdl-1', category: 'credential', value: Buffer.from('{"licence":"B"}'), tags: { type: 'mdl', '~added': '2026-02-01' } });

      const created = await call('POST', '/storage/vault/records', auth, pid);
      expect(created.status).toBe(201);
      expect(created.headers.get('etag')).toBe('"1"');
      expect(created.body).toMatchObject({ id: pid.id, version: 1 });
      expect((await call('POST', '/storage/vault/records', auth, mdl)).status).toBe(201);
      expect((await call('POST', '/storage/vault/records', auth, pid)).status).toBe(409);

      const read = await call('GET', `/storage/vault/records/${pid.id}`, auth);
      expect(read.status).toBe(200);
      expect(cipher.decryptRecord(read.body as typeof pid).tags).toEqual({ type: 'pid', '~added': '2026-01-02' });

      const found = await call('POST', '/storage/vault/query', auth, { query: cipher.blindQuery({ type: 'pid', '~added': { $gte: '2026-01-01' } }) });
      expect(found.status).toBe(200);
      expect((found.body as { items: Array<{ id: string }> }).items.map((r) => r.id)).toEqual([pid.id]);

      const first = await call('GET', '/storage/vault/sync', auth);
      expect(first.body).toMatchObject({ hasMore: false, changes: [{ id: pid.id }, { id: mdl.id }] });
      const cursor = (first.body as { cursor: string }).cursor;

      // Two devices edit the same version: one wins, the other gets 412 with the current version.
      const edited = cipher.encryptRecord({ id: 'pid-1', category: 'credential', value: Buffer.from('{"given_name":"Anna"}'), tags: { type: 'pid' } });
      const [a, b] = await Promise.all([
        call('PUT', `/storage/vault/records/${pid.id}`, auth, edited, { 'if-match': '"1"' }),
        call('PUT', `/storage/vault/records/${pid.id}`, auth, edited, { 'if-match': '"1"' }),
      ]);
      expect([a.status, b.status].sort()).toEqual([200, 412]);
      const loser = a.status === 412 ? a : b;
      expect(loser.headers.get('content-type')).toContain('application/problem+json');
      expect(loser.body).toMatchObject({ code: 'precondition_failed', currentVersion: 2, currentEtag: '"2"' });
      expect((await call('PUT', `/storage/vault/records/${pid.id}`, auth, edited)).status).toBe(400);

      expect((await call('DELETE', `/storage/vault/records/${mdl.id}`, auth, undefined, { 'if-match': '"1"' })).status).toBe(204);
      expect((await call('GET', `/storage/vault/records/${mdl.id}`, auth)).status).toBe(404);
      const later = await call('GET', `/storage/vault/sync?since=${cursor}`, auth);
      expect((later.body as { changes: Array<{ id: string; deleted: boolean }> }).changes.map((c) => [c.id, c.deleted])).toEqual([
        [pid.id, false],
        [mdl.id, true],
      ]);
    });

    it('answers bad input with 400/413 problem documents that name the problem', async () => {
      const auth = await token(`bob-${randomUUID().slice(0, 8)}`);
      const wqlErr = await call('POST', '/storage/vault/query', auth, { query: { a: { $gt: '1' } } });
      expect(wqlErr.status).toBe(400);
      expect(wqlErr.body).toMatchObject({ code: 'validation_failed', issues: [{ path: '/query/a/$gt' }] });
      expect((await call('POST', '/storage/vault/query', auth, { query: { a: { $regex: 'x' } } })).body).toMatchObject({
        issues: [{ path: '/query/a/$regex', message: 'unknown operator $regex' }],
      });
      let deep: Record<string, unknown> = { a: 'b' };
      for (let i = 0; i < 10; i++) deep = { $not: deep };
      expect((await call('POST', '/storage/vault/query', auth, { query: deep })).status).toBe(400);
      expect((await call('POST', '/storage/vault/query', auth, {})).body).toMatchObject({ issues: [{ path: '/query' }] });

      const big = await call('POST', '/storage/vault/records', auth, { id: 'big', category: 'c', blob: 'A'.repeat(6000), tags: {} });
      expect(big.status).toBe(413);
      expect(big.body).toMatchObject({ code: 'payload_too_large', limit: 'maxBlobBytes', max: 4096 });
      const bad = await call('POST', '/storage/vault/records', auth, { id: 'x y', category: 'c', blob: '!', tags: { clear: 'text' }, extra: 1 });
      expect(bad.status).toBe(400);
      expect((await call('POST', '/storage/vault/records', auth, { id: 'ok', category: 'c', blob: '!', tags: {} })).body).toMatchObject({
        issues: [{ path: '/blob' }],
      });
      expect((await call('GET', '/storage/vault/sync?since=xyz', auth)).status).toBe(400);
      expect((await call('GET', '/storage/vault/records?limit=5000', auth)).status).toBe(400);
      expect((await call('PUT', '/storage/vault/records/none', auth, { category: 'c', blob: 'AAAA', tags: {} }, { 'if-match': 'nonsense' })).status).toBe(400);
      expect((await call('GET', '/storage/vault/records', null)).status).toBe(401);
    });

    it('checks bodies, queries and path parameters with the DTOs: field paths, unknown fields, the WQL beside the other fields', async () => {
      const auth = await token(`hana-${randomUUID().slice(0, 8)}`);
      const issues = async (method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
        const answer = await call(method, path, auth, body, headers);
        expect({ path, status: answer.status, code: (answer.body as { code?: string }).code }).toEqual({ path, status: 400, code: 'validation_failed' });
        return (answer.body as { issues: unknown[] }).issues;
      };
      expect(await issues('POST', '/storage/vault/records', { id: 'ok', category: 'c', blob: 'AAAA', colour: 'red' })).toEqual([{ path: '/', message: 'unknown field: colour' }]);
      expect(await issues('POST', '/storage/vault/records', { id: 'x y', category: 7, blob: 'AAAA', tags: [] })).toEqual([
        { path: '/id', message: 'must be 1-200 printable ASCII characters without spaces' },
        { path: '/category', message: 'must be a string' },
        { path: '/tags', message: 'must be an object' },
      ]);
      expect(await issues('POST', '/storage/vault/records', { id: 'ok', category: 'c', blob: 'AAAA', version: 'one' })).toEqual([{ path: '/version', message: 'must be an integer number' }]);
      // A record read back (with its version and updatedAt) may be sent as it is; null tags are none.
      const created = await call('POST', '/storage/vault/records', auth, { id: 'back', category: 'c', blob: 'AAAA', tags: null, version: 9, updatedAt: '2026-01-01T00:00:00.000Z' });
      expect(created.body).toMatchObject({ id: 'back', version: 1, tags: {} });
      expect(await issues('PUT', '/storage/vault/records/back', { id: 'other', category: 'c', blob: 'AAAA' }, { 'if-match': '"1"' })).toEqual([{ path: '/id', message: 'must equal the id in the path' }]);

      expect(await issues('POST', '/storage/vault/query', { query: { a: { $regex: 'x' } }, category: 5, limit: 0, cursor: 'c'.repeat(401), extra: true })).toEqual([
        { path: '/query/a/$regex', message: 'unknown operator $regex' },
        { path: '/category', message: 'must be a string' },
        { path: '/limit', message: 'must not be less than 1' },
        { path: '/cursor', message: 'must be shorter than or equal to 400 characters' },
        { path: '/', message: 'unknown field: extra' },
      ]);
      expect(await issues('POST', '/storage/vault/query', { query: [] })).toEqual([{ path: '/query', message: 'must be an object' }]);
      expect(await issues('POST', '/storage/vault/query', { query: {}, limit: 1001 })).toEqual([{ path: '/limit', message: 'must not be greater than 1000' }]);
      // The configured limits (maxQueryDepth 8 here) still apply after the DTO's shape check, at the same paths.
      let nine: Record<string, unknown> = { a: 'b' };
      for (let i = 0; i < 9; i++) nine = { $not: nine };
      expect((await issues('POST', '/storage/vault/query', { query: nine }))[0]).toMatchObject({ message: 'nested too deeply (at most 8 levels)' });

      for (const [query, path] of [['limit=abc', '/limit'], ['limit=0', '/limit'], ['limit=1&limit=2', '/limit'], ['category=a&category=b', '/category'], ['bogus=1', '/']] as const) {
        expect([query, (await issues('GET', `/storage/vault/records?${query}`))[0]]).toEqual([query, expect.objectContaining({ path })]);
      }
      expect((await call('GET', '/storage/vault/records?limit=', auth)).status).toBe(200);
      expect((await issues('GET', '/storage/vault/sync?since=1&since=2'))[0]).toMatchObject({ path: '/since' });
      expect((await call('GET', '/storage/vault/sync?since=', auth)).status).toBe(200);

      expect(await issues('POST', '/storage/vc', { credentials: [], extra: 1 })).toEqual([
        { path: '/credentials', message: expect.any(String) },
        { path: '/', message: 'unknown field: extra' },
      ]);
      expect(await issues('POST', '/storage/vc/update', { credential: { credentialIdentifier: '', credential: 'x', format: 'f' } })).toEqual([
        { path: '/credential/credentialIdentifier', message: expect.any(String) },
      ]);
      expect(await issues('POST', '/storage/vp', { presentationIdentifier: 'p', presentation: 5 })).toEqual([{ path: '/presentation', message: expect.any(String) }]);
    });

    it('exports an archive with the keystore and imports it into an empty vault on another tenant', async () => {
      const user = `carol-${randomUUID().slice(0, 8)}`;
      const users = runtime.store.repository(Collections.users);
      await users.create('default', { id: user, handle: b64(user), displayName: 'C', status: 'active', privateData: b64('wrapped key set'), privateDataEtag: 'x' });
      const auth = await token(user);
      for (let i = 0; i < 5; i++) {
        await call('POST', '/storage/vault/records', auth, { id: `r${i}`, category: b64('credential'), blob: b64(`value ${i}`), tags: { '~i': String(i) } });
      }
      const exported = await call('GET', '/storage/vault/export', auth);
      expect(exported.status).toBe(200);
      expect(exported.headers.get('content-type')).toContain('application/x-ndjson');
      const lines = exported.text.trim().split('\n');
      expect(lines).toHaveLength(7);
      expect(JSON.parse(lines[0]!)).toMatchObject({ format: 'wallet-vault-archive', keystore: { privateData: b64('wrapped key set') } });

      const other = `dave-${randomUUID().slice(0, 8)}`;
      await users.create('beta', { id: other, handle: b64(other), displayName: 'D', status: 'active', privateData: null, privateDataEtag: null });
      const target = await token(other, 'beta');
      const ndjson = { 'content-type': 'application/x-ndjson' };
      // One character of one blob changed.
      const corrupted = exported.text.replace(/"blob":"(.)/, (_m, c: string) => `"blob":"${c === 'd' ? 'e' : 'd'}`);
      expect(corrupted).not.toBe(exported.text);
      const refused = await call('POST', '/storage/vault/import', target, exported.text.replace('"r3"', '"r9"'), ndjson);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: 'validation_failed', detail: expect.stringContaining('checksum mismatch') });
      expect((await call('POST', '/storage/vault/import', target, corrupted, ndjson)).status).toBe(400);
      expect((await call('GET', '/storage/vault/records', target)).body).toEqual({ items: [], nextCursor: null });

      const imported = await call('POST', '/storage/vault/import', target, exported.text, ndjson);
      expect(imported.status).toBe(200);
      expect(imported.body).toEqual({ imported: 5, keystore: 'restored' });
      expect((await users.get('beta', other))?.privateData).toBe(b64('wrapped key set'));
      const records = (await call('GET', '/storage/vault/records', target)).body as { items: Array<{ id: string; blob: string }> };
      expect(records.items.map((r) => [r.id, Buffer.from(r.blob, 'base64url').toString()])).toEqual(
        Array.from({ length: 5 }, (_, i) => [`r${i}`, `value ${i}`]),
      );
      const again = await call('POST', '/storage/vault/import', target, exported.text, ndjson);
      expect(again.status).toBe(412);
      expect((await call('POST', '/storage/vault/import', target, JSON.stringify({ a: 1 }))).status).toBe(400);
      const huge = await call('POST', '/storage/vault/import', target, 'x'.repeat(250_000), ndjson);
      expect(huge.status).toBe(413);
    });

    it('the vault-tombstones job purges old tombstones; a device behind them is told to resync', async () => {
      const auth = await token(`gina-${randomUUID().slice(0, 8)}`);
      await call('POST', '/storage/vault/records', auth, { id: 'keep', category: 'c', blob: 'AAAA', tags: {} });
      await call('POST', '/storage/vault/records', auth, { id: 'gone', category: 'c', blob: 'AAAA', tags: {} });
      const old = (await call('GET', '/storage/vault/sync', auth)).body as { cursor: string };
      expect((await call('DELETE', '/storage/vault/records/gone', auth)).status).toBe(204);
      const job = vaultTombstonesJob(runtime.store, runtime.config);
      const later = new Date(Date.now() + runtime.config.vault.tombstoneRetentionMs + 60_000);
      const result = await job({ name: 'vault-tombstones', fence: 1, now: later, signal: new AbortController().signal });
      expect(result).toMatchObject({ removed: expect.any(Number) });
      expect((result as { removed: number }).removed).toBeGreaterThanOrEqual(1);
      const expired = await call('GET', `/storage/vault/sync?since=${old.cursor}`, auth);
      expect(expired.status).toBe(412);
      expect(expired.body).toMatchObject({ code: 'sync_cursor_expired', resync: true });
      const fresh = await call('GET', '/storage/vault/sync', auth);
      expect((fresh.body as { changes: Array<{ id: string }> }).changes.map((c) => c.id)).toEqual(['keep']);
    });

    it('serves the v1 routes from the same store', async () => {
      const auth = await token(`erin-${randomUUID().slice(0, 8)}`);
      const credential = { credentialIdentifier: 'urn:cred:1/with spaces', credential: 'eyJ.sd-jwt~', format: 'dc+sd-jwt', instanceId: 0 };
      expect(await call('POST', '/storage/vc', auth, { credentials: [credential] })).toMatchObject({ status: 200, body: {} });
      expect((await call('GET', '/storage/vc', auth)).body).toEqual({ vc_list: [credential] });
      const path = `/storage/vc/${encodeURIComponent(credential.credentialIdentifier)}`;
      expect((await call('GET', path, auth)).body).toEqual(credential);
      const updated = { ...credential, credential: 'eyJ.updated~' };
      expect((await call('POST', '/storage/vc/update', auth, { credential: updated })).status).toBe(200);
      expect((await call('GET', path, auth)).body).toEqual(updated);
      expect((await call('POST', '/storage/vc/update', auth, { credential: { ...updated, credentialIdentifier: 'missing' } })).status).toBe(404);
      expect((await call('POST', '/storage/vc', auth, { credentials: [{ credentialIdentifier: 'x' }] })).body).toMatchObject({
        code: 'validation_failed',
        issues: [{ path: '/credentials/0/credential' }, { path: '/credentials/0/format' }],
      });
      // The v1 record is a vault record too: queryable on its plaintext tags.
      const q = await call('POST', '/storage/vault/query', auth, { query: { '~format': 'dc+sd-jwt' }, category: 'v1.vc' });
      expect((q.body as { items: unknown[] }).items).toHaveLength(1);

      const presentation = { presentationIdentifier: 'vp-1', presentation: 'eyJ.vp', audience: 'https://verifier.example' };
      expect((await call('POST', '/storage/vp', auth, presentation)).status).toBe(200);
      expect((await call('GET', '/storage/vp', auth)).body).toEqual({ vp_list: [presentation] });
      expect((await call('GET', '/storage/vp/vp-1', auth)).body).toEqual(presentation);

      expect((await call('DELETE', path, auth)).body).toEqual({ message: 'Verifiable Credential deleted successfully.' });
      expect((await call('GET', path, auth)).status).toBe(404);
      expect((await call('GET', '/storage/vc', auth)).body).toEqual({ vc_list: [] });
    });

    it("refuses every route on another user's records, whatever identifier is sent", async () => {
      const owner = await token(`frank-${randomUUID().slice(0, 8)}`);
      const intruderSameTenant = await token(`mallory-${randomUUID().slice(0, 8)}`);
      await call('POST', '/storage/vault/records', owner, { id: 'secret', category: 'c', blob: 'AAAA', tags: { '~k': 'v' } });
      await call('POST', '/storage/vc', owner, { credentials: [{ credentialIdentifier: 'c1', credential: 'x', format: 'f' }] });
      await call('POST', '/storage/vp', owner, { presentationIdentifier: 'p1', presentation: 'x' });
      const otherTenantToken = await token(`frank-x`, 'beta');
      for (const intruder of [intruderSameTenant, otherTenantToken]) {
        expect((await call('GET', '/storage/vault/records/secret', intruder)).status).toBe(404);
        expect((await call('PUT', '/storage/vault/records/secret', intruder, { category: 'c', blob: 'BBBB', tags: {} }, { 'if-match': '"1"' })).status).toBe(404);
        expect((await call('DELETE', '/storage/vault/records/secret', intruder)).status).toBe(404);
        expect((await call('GET', '/storage/vault/records', intruder)).body).toEqual({ items: [], nextCursor: null });
        expect((await call('POST', '/storage/vault/query', intruder, { query: { '~k': 'v' } })).body).toEqual({ items: [], nextCursor: null });
        expect((await call('GET', '/storage/vault/sync', intruder)).body).toMatchObject({ changes: [] });
        expect((await call('GET', '/storage/vault/export', intruder)).text.split('\n')).toHaveLength(3);
        expect((await call('GET', '/storage/vc/c1', intruder)).status).toBe(404);
        expect((await call('DELETE', '/storage/vc/c1', intruder)).status).toBe(404);
        expect((await call('POST', '/storage/vc/update', intruder, { credential: { credentialIdentifier: 'c1', credential: 'y', format: 'f' } })).status).toBe(404);
        expect((await call('GET', '/storage/vc', intruder)).body).toEqual({ vc_list: [] });
        expect((await call('GET', '/storage/vp/p1', intruder)).status).toBe(404);
        expect((await call('GET', '/storage/vp', intruder)).body).toEqual({ vp_list: [] });
      }
      // A tenant named in the path does not override the token's tenant.
      expect((await call('GET', '/t/beta/storage/vault/records/secret', owner)).status).toBe(403);
      // Nothing changed for the owner.
      expect((await call('GET', '/storage/vault/records/secret', owner)).body).toMatchObject({ version: 1, blob: 'AAAA' });
      expect((await call('GET', '/storage/vc/c1', owner)).body).toMatchObject({ credential: 'x' });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'wallet-vault-api-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

runVaultApiSuite('sqlite', () => ({ type: 'sqlite', path: join(dir, 'api.db') }));

describeIfAvailable('vault REST API: mongodb', mongoAvailable(), 'no MONGODB_URI, FerretDB or mongod found')('on mongodb', () => {
  let server: MongoHandle | undefined;
  let uri = '';
  beforeAll(async () => {
    server = await startMongo();
    uri = server.uri;
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  }, 60_000);
  runVaultApiSuite('mongodb', () => ({ type: 'mongodb', uri }));
});
