import { createCache } from '@wallet/cache';
import { loadConfig } from '@wallet/config';
import { Collections, createStore, type Store } from '@wallet/persistence';
import { describeIfAvailable, mongoAvailable, startMongo, type MongoHandle } from '@wallet/testing';
import {
  createServiceApp,
  ensureDefaultTenant,
  TENANT_CHANGED_CHANNEL,
  VERIFIER_SERVICES_CHANGED_CHANNEL,
  type RunningService,
  type Runtime,
} from '@wallet/platform';
import { openSealedSecret } from '@wallet/crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { AdminFeatureModule } from './admin-feature.module';
import { hashInviteCode } from './invites/invites.service';
import { issuerKeyContext } from './issuers/issuers.service';

const TOKEN = 'admin-token-for-tests-0123456789abcdef';
const KEK = Buffer.alloc(32, 7).toString('base64url');

interface OpenedStore {
  store: Store;
  /** Stops what `open` started (after the store is closed). */
  done(): Promise<void>;
}

const drivers: Array<{ label: string; suite: jest.Describe; open: (dir: string) => Promise<OpenedStore> }> = [
  {
    label: 'SQLite',
    suite: describe,
    open: async (dir) => ({ store: await createStore({ type: 'sqlite', path: join(dir, 'wallet.db') }), done: async () => undefined }),
  },
  {
    label: 'MongoDB wire protocol',
    suite: describeIfAvailable('admin-api:mongodb', mongoAvailable(), 'no MONGODB_URI, FerretDB or mongod found'),
    open: async () => {
      const server: MongoHandle = await startMongo();
      return { store: await createStore({ type: 'mongodb', uri: server.uri }), done: () => server.stop() };
    },
  },
];

for (const driver of drivers) {
  driver.suite(`admin API (in process, ${driver.label} store)`, () => {
    let server: RunningService;
    let runtime: Runtime;
    let dir: string;
    let opened: OpenedStore;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'admin-api-'));
      const config = loadConfig({
        argv: [],
        env: { WALLET_SERVER_HOST: '127.0.0.1', WALLET_SERVER_ADMIN_TOKEN: TOKEN, WALLET_DATA_DIR: dir, WALLET_CRYPTO_KEY_ENCRYPTION_KEY: KEK },
      }).config;
      opened = await driver.open(dir);
      const store = opened.store;
      await ensureDefaultTenant(store);
      runtime = { config, store, cache: await createCache({ type: 'memory' }), logger: pino({ level: 'silent' }) };
      server = await createServiceApp({ info: { name: 'admin', services: ['admin'] }, imports: [AdminFeatureModule], runtime, port: 0 });
    }, 60_000);

    afterAll(async () => {
      await server.close();
      await runtime.store.close();
      await runtime.cache.close();
      await opened.done();
      rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          'x-admin-actor': 'alice',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await response.text();
      return {
        status: response.status,
        type: response.headers.get('content-type') ?? '',
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field below
        body: (text ? JSON.parse(text) : null) as Record<string, any>,
        text,
      };
    }

    it('needs the bearer token on every route but status', async () => {
      expect((await fetch(`${server.url}/admin/status`)).status).toBe(200);
      for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong' }, { authorization: `Basic ${TOKEN}` }]) {
        const response = await fetch(`${server.url}/admin/tenants`, { headers });
        expect(response.status).toBe(401);
        expect(response.headers.get('content-type')).toContain('application/problem+json');
      }
      const openapi = await call('GET', '/admin/openapi.json');
      expect(openapi.status).toBe(200);
      expect(openapi.body['openapi']).toBe('3.1.0');
      expect((await fetch(`${server.url}/admin/openapi.json`)).status).toBe(401);
      // Never from the query string: the platform refuses a token there on every route (400), with or without a header.
      const inQuery = await fetch(`${server.url}/admin/tenants?access_token=${TOKEN}`);
      expect(inQuery.status).toBe(400);
      expect(await inQuery.text()).not.toContain(TOKEN);
    });

    it('creates, reads, updates, lists and deletes tenants with strict validation', async () => {
      const created = await call('POST', '/admin/tenants', {
        id: 'acme',
        display_name: 'Acme',
        require_invite: true,
        trust_config: { pdp_url: 'https://pdp.acme.test/authzen' },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        id: 'acme',
        display_name: 'Acme',
        enabled: true,
        require_invite: true,
        trust_config: { pdp_url: 'https://pdp.acme.test/authzen' },
        allowed_protocols: ['oid4vci', 'oid4vp'],
        version: 1,
      });
      expect((await call('POST', '/admin/tenants', { id: 'acme', display_name: 'Again' })).status).toBe(409);
      expect((await call('POST', '/admin/tenants', { id: 'acme', display_name: 'Again' })).body).toMatchObject({
        code: 'already_exists',
        detail: 'tenant acme already exists',
      });
      for (const bad of [
        { id: 'Bad_Id', display_name: 'x' },
        { id: 'ok', display_name: 'x', extra: 1 },
        { id: 'ok', display_name: '' },
        { id: 'ok', display_name: 'x', trust_config: { pdp_url: 'ftp://x' } },
        { id: 'ok', display_name: 'x', allowed_protocols: ['oid4vp', 'oid4vp'] },
      ]) {
        const answer = await call('POST', '/admin/tenants', bad);
        expect(answer.status).toBe(400);
        expect(answer.type).toContain('application/problem+json');
        expect(answer.body['code']).toBe('validation_failed');
      }
      const unknownField = await call('POST', '/admin/tenants', { id: 'ok', display_name: 'x', colour: 'red' });
      expect(unknownField.body['detail']).toContain('unknown field: colour');
      expect((await call('POST', '/admin/tenants', '{not json')).status).toBe(400);
      expect((await call('GET', '/admin/tenants/NOPE')).status).toBe(400);
      expect((await call('GET', '/admin/tenants/nope')).status).toBe(404);

      const announced: string[] = [];
      const unsubscribe = await runtime.cache.subscribe(TENANT_CHANGED_CHANNEL, (message) => announced.push(message));
      const updated = await call('PATCH', '/admin/tenants/acme', { enabled: false, trust_config: { pdp_url: 'none' } });
      await unsubscribe();
      expect(announced).toEqual(['acme']);
      expect(updated.status).toBe(200);
      expect(updated.body).toMatchObject({ enabled: false, trust_config: { pdp_url: 'none' }, version: 2 });
      expect((await call('PATCH', '/admin/tenants/acme', { id: 'other' })).status).toBe(400);
      expect((await call('PATCH', '/admin/tenants/default', { enabled: false })).status).toBe(403);
      const list = await call('GET', '/admin/tenants?limit=10');
      expect(list.body['items'].map((t: { id: string }) => t.id)).toEqual(['acme', 'default']);
      expect((await call('GET', '/admin/tenants?limit=0')).status).toBe(400);
      expect((await call('DELETE', '/admin/tenants/default')).status).toBe(403);
    });

    it('manages users: add, membership, suspend (revoking refresh tokens), remove', async () => {
      await call('POST', '/admin/tenants', { id: 'users-t', display_name: 'Users' });
      const added = await call('POST', '/admin/tenants/users-t/users', { id: 'u1', handle: 'aGFuZGxl', display_name: 'Ulla' });
      expect(added.status).toBe(201);
      expect(added.body).toMatchObject({ id: 'u1', handle: 'aGFuZGxl', status: 'active', role: 'member', private_data_set: false });
      expect((await call('POST', '/admin/tenants/users-t/users', { id: 'u2', handle: 'aGFuZGxl' })).status).toBe(409);
      expect((await call('POST', '/admin/tenants/users-t/users', { id: 'u2', handle: 'aGFuZGxl' })).body).toMatchObject({
        detail: 'a user with the same handle already exists in tenant users-t',
      });
      expect((await call('POST', '/admin/tenants/missing/users', { id: 'u3' })).status).toBe(404);
      await runtime.store.repository(Collections.refreshTokens).create('users-t', {
        id: 'rt1',
        userId: 'u1',
        familyId: 'f1',
        expiresAt: new Date(Date.now() + 3600_000).toISOString(),
        status: 'active',
      });
      const role = await call('PUT', '/admin/tenants/users-t/users/u1/membership', { role: 'admin' });
      expect(role.body['role']).toBe('admin');
      const suspended = await call('PATCH', '/admin/tenants/users-t/users/u1', { status: 'suspended' });
      expect(suspended.body).toMatchObject({ status: 'suspended', role: 'admin' });
      expect((await runtime.store.repository(Collections.refreshTokens).require('users-t', 'rt1')).status).toBe('revoked');
      expect((await call('PATCH', '/admin/tenants/users-t/users/u1', { status: 'gone' })).status).toBe(400);
      expect((await call('DELETE', '/admin/tenants/users-t/users/u1/membership')).status).toBe(204);
      expect((await call('GET', '/admin/tenants/users-t/users/u1')).body['role']).toBeNull();
      const listed = await call('GET', '/admin/tenants/users-t/users');
      expect(listed.body['items']).toHaveLength(1);
      expect(listed.text).not.toContain('private_data"');
      // A tenant with users is not deleted without force.
      const refused = await call('DELETE', '/admin/tenants/users-t');
      expect(refused.status).toBe(412);
      expect((await call('DELETE', '/admin/tenants/users-t/users/u1')).status).toBe(204);
      expect(await runtime.store.repository(Collections.refreshTokens).get('users-t', 'rt1')).toBeNull();
      expect((await call('GET', '/admin/tenants/users-t/users/u1')).status).toBe(404);
    });

    it('never returns an issuer client private key', async () => {
      await call('POST', '/admin/tenants', { id: 'iss-t', display_name: 'Issuers' });
      const secret = '-----BEGIN PRIVATE KEY-----MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg-----END PRIVATE KEY-----';
      const created = await call('POST', '/admin/tenants/iss-t/issuers', {
        id: 'pid',
        credential_issuer_identifier: 'https://issuer.example/pid',
        client_id: 'wallet',
        client_private_key: secret,
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ id: 'pid', client_private_key_set: true, visible: true });
      expect(created.text).not.toContain('MIGHAgEA');
      // Sealed at rest under the key encryption key, bound to this issuer.
      const stored = (await runtime.store.repository(Collections.issuers).require('iss-t', 'pid')).clientPrivateKey!;
      expect(stored).toMatch(/^jwe:/);
      expect(stored).not.toContain('MIGHAgEA');
      expect(await openSealedSecret(stored, issuerKeyContext('iss-t', 'pid'), Buffer.from(KEK, 'base64url'))).toBe(secret);
      expect((await call('POST', '/admin/tenants/iss-t/issuers', { credential_issuer_identifier: 'https://issuer.example/pid' })).status).toBe(409);
      expect((await call('POST', '/admin/tenants/iss-t/issuers', { id: 'pid', credential_issuer_identifier: 'https://issuer.example/other' })).body).toMatchObject({
        detail: 'issuer pid already exists in tenant iss-t',
      });
      expect((await call('POST', '/admin/tenants/iss-t/issuers', { credential_issuer_identifier: 'https://issuer.example/pid' })).body).toMatchObject({
        detail: 'an issuer with the same credential_issuer_identifier already exists in tenant iss-t',
      });
      for (const read of [await call('GET', '/admin/tenants/iss-t/issuers/pid'), await call('GET', '/admin/tenants/iss-t/issuers')]) {
        expect(read.text).not.toContain('MIGHAgEA');
        expect(read.text).toContain('"client_private_key_set":true');
      }
      const cleared = await call('PATCH', '/admin/tenants/iss-t/issuers/pid', { client_private_key: null, visible: false });
      expect(cleared.body).toMatchObject({ client_private_key_set: false, visible: false });
      const audit = await call('GET', '/admin/audit?tenant=iss-t&resource=issuer');
      expect(audit.body['items'].map((e: { action: string }) => e.action)).toEqual(['issuer.create', 'issuer.update']);
      expect(audit.text).not.toContain('MIGHAgEA');
      expect(audit.body['items'][0]).toMatchObject({ actor: 'alice', actor_type: 'admin', resource_id: 'pid' });
      expect((await call('DELETE', '/admin/tenants/iss-t/issuers/pid')).status).toBe(204);
      expect((await call('GET', '/admin/tenants/iss-t/issuers/pid')).status).toBe(404);
    });

    it('manages verifiers', async () => {
      await call('POST', '/admin/tenants', { id: 'ver-t', display_name: 'Verifiers' });
      const created = await call('POST', '/admin/tenants/ver-t/verifiers', { id: 'rp', name: 'Shop', url: 'https://shop.example' });
      expect(created.status).toBe(201);
      expect((await call('POST', '/admin/tenants/ver-t/verifiers', { id: 'rp', name: 'Shop', url: 'https://shop.example' })).status).toBe(409);
      expect((await call('POST', '/admin/tenants/ver-t/verifiers', { id: 'rp', name: 'Shop', url: 'https://shop.example' })).body).toMatchObject({
        detail: 'verifier rp already exists in tenant ver-t',
      });
      expect((await call('POST', '/admin/tenants/ver-t/verifiers', { name: 'Bad', url: 'javascript:alert(1)' })).status).toBe(400);
      expect((await call('PATCH', '/admin/tenants/ver-t/verifiers/rp', { name: 'Shop 2' })).body).toMatchObject({ name: 'Shop 2', version: 2 });
      expect((await call('GET', '/admin/tenants/ver-t/verifiers')).body['items']).toHaveLength(1);
      // Another tenant cannot see it.
      expect((await call('GET', '/admin/tenants/default/verifiers/rp')).status).toBe(404);
      expect((await call('DELETE', '/admin/tenants/ver-t/verifiers/rp')).status).toBe(204);
    });

    it('creates invite codes once, stores only their hash, revokes and renews', async () => {
      await call('POST', '/admin/tenants', { id: 'inv-t', display_name: 'Invites' });
      const created = await call('POST', '/admin/tenants/inv-t/invites', { count: 3, max_uses: 2, expires_in: 3600 });
      expect(created.status).toBe(201);
      const items = created.body['items'] as Array<{ id: string; code: string; status: string; max_uses: number }>;
      expect(items).toHaveLength(3);
      expect(new Set(items.map((i) => i.code)).size).toBe(3);
      const stored = await runtime.store.repository(Collections.invites).require('inv-t', items[0]!.id);
      expect(stored.codeHash).toBe(hashInviteCode(items[0]!.code));
      expect(JSON.stringify(stored)).not.toContain(items[0]!.code);
      const listed = await call('GET', '/admin/tenants/inv-t/invites');
      expect(listed.body['items']).toHaveLength(3);
      for (const item of items) expect(listed.text).not.toContain(item.code);
      const revoked = await call('POST', `/admin/tenants/inv-t/invites/${items[0]!.id}/revoke`);
      expect(revoked.body).toMatchObject({ revoked: true, status: 'revoked' });
      const renewed = await call('POST', `/admin/tenants/inv-t/invites/${items[0]!.id}/renew`, { expires_in: 7200, max_uses: 5 });
      expect(renewed.body).toMatchObject({ revoked: false, status: 'active', max_uses: 5 });
      expect((await call('POST', '/admin/tenants/inv-t/invites', { count: 0 })).status).toBe(400);
      expect((await call('POST', '/admin/tenants/inv-t/invites', { expires_at: '2001-01-01T00:00:00Z' })).status).toBe(400);
      expect((await call('POST', '/admin/tenants/inv-t/invites', { expires_in: 60, expires_at: '2999-01-01T00:00:00Z' })).status).toBe(400);
      const audit = await call('GET', '/admin/audit?tenant=inv-t');
      for (const item of items) expect(audit.text).not.toContain(item.code);
      expect(audit.body['items'].map((e: { action: string }) => e.action)).toEqual(['invite.create', 'invite.revoke', 'invite.renew']);
    });

    it('deletes a tenant with ?force=true together with all its records, and audits it', async () => {
      await call('POST', '/admin/tenants', { id: 'gone', display_name: 'Gone' });
      await call('POST', '/admin/tenants/gone/users', { id: 'u1' });
      await call('POST', '/admin/tenants/gone/verifiers', { name: 'V', url: 'https://v.example' });
      const deleted = await call('DELETE', '/admin/tenants/gone?force=true');
      expect(deleted.status).toBe(200);
      expect(deleted.body['deleted']).toEqual({ users: 1, memberships: 1, verifiers: 1 });
      expect(await runtime.store.repository(Collections.users).count('gone')).toBe(0);
      expect((await call('GET', '/admin/tenants/gone')).status).toBe(404);
      expect((await call('DELETE', '/admin/tenants/gone?force=yes')).status).toBe(400);
      const audit = await call('GET', '/admin/audit?resource=tenant&resource_id=gone');
      expect(audit.body['items'].map((e: { action: string }) => e.action)).toEqual(['tenant.create', 'tenant.delete']);
      expect(audit.body['items'][1]['before']).toMatchObject({ id: 'gone', display_name: 'Gone' });
    });

    it('filters and pages the audit log', async () => {
      const all = await call('GET', '/admin/audit?limit=2');
      expect(all.body['items']).toHaveLength(2);
      expect(all.body['next_cursor']).toEqual(expect.any(String));
      const next = await call('GET', `/admin/audit?limit=2&cursor=${encodeURIComponent(all.body['next_cursor'])}`);
      expect(next.body['items'][0]['id'] > all.body['items'][1]['id']).toBe(true);
      const future = await call('GET', `/admin/audit?since=${new Date(Date.now() + 60_000).toISOString()}`);
      expect(future.body).toEqual({ items: [], next_cursor: null });
      const past = await call('GET', '/admin/audit?until=2000-01-01T00:00:00Z');
      expect(past.body['items']).toEqual([]);
      expect((await call('GET', '/admin/audit?actor=alice&action=tenant.update')).body['items']).toHaveLength(1);
      expect((await call('GET', '/admin/audit?since=yesterday')).status).toBe(400);
      expect((await call('GET', '/admin/audit?bogus=1')).status).toBe(400);
      expect((await call('POST', '/admin/tenants', { id: 'actor-t', display_name: 'A' }, { 'x-admin-actor': 'bad actor!' })).status).toBe(400);
    });

    it('creates, replaces, lists and deletes verifier services, validated with the verifier’s schema and audited', async () => {
      const service = {
        id: 'shop',
        defaultScope: 'login',
        scopes: {
          login: {
            dcql: { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: ['urn:eudi:pid:1'] } }] },
            trust: [{ type: 'urn:eudi:pid:1', issuers: [{ id: 'https://pid.example' }] }],
          },
        },
      };
      const announced: string[] = [];
      const unsubscribe = await runtime.cache.subscribe(VERIFIER_SERVICES_CHANGED_CHANNEL, (message) => announced.push(message));
      const created = await call('PUT', '/admin/verifier-services/shop', service);
      expect(created.status).toBe(200);
      expect(created.body).toMatchObject({ id: 'shop', defaultScope: 'login', redirectUris: [], tokenEndpointAuthMethod: 'none' });
      const replaced = await call('PUT', '/admin/verifier-services/shop', { ...service, redirectUris: ['https://shop.example/cb'] });
      expect(replaced.body['redirectUris']).toEqual(['https://shop.example/cb']);
      expect((await call('GET', '/admin/verifier-services/shop')).body['redirectUris']).toEqual(['https://shop.example/cb']);
      expect((await call('GET', '/admin/verifier-services')).body['items'].map((s: { id: string }) => s.id)).toEqual(['shop']);
      // The schema's errors name the path; a body for another id, an unknown field and a bad query are refused.
      const noScope = await call('PUT', '/admin/verifier-services/shop', { ...service, defaultScope: 'nope' });
      expect(noScope.status).toBe(400);
      expect(noScope.body['detail']).toMatch(/defaultScope/);
      expect((await call('PUT', '/admin/verifier-services/other', service)).status).toBe(400);
      expect((await call('PUT', '/admin/verifier-services/shop', { ...service, bogus: 1 })).status).toBe(400);
      const badDcql = await call('PUT', '/admin/verifier-services/shop', { ...service, scopes: { login: { ...service.scopes.login, dcql: { credentials: [] } } } });
      expect(badDcql.status).toBe(400);
      expect((await call('DELETE', '/admin/verifier-services/shop')).status).toBe(204);
      expect((await call('GET', '/admin/verifier-services/shop')).status).toBe(404);
      const audit = await call('GET', '/admin/audit?resource=verifier_service');
      expect(audit.body['items'].map((e: { action: string }) => e.action)).toEqual([
        'verifier_service.create',
        'verifier_service.update',
        'verifier_service.delete',
      ]);
      // Every stored change is announced to the verifier replicas; refused writes are not.
      await unsubscribe();
      expect(announced).toEqual(['shop', 'shop', 'shop']);
    });
  });
}
