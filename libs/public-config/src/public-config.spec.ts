import { createCache } from '@wallet/cache';
import { loadConfig } from '@wallet/config';
import { GLOBAL_SCOPE } from '@wallet/domain';
import { Collections, createStore } from '@wallet/persistence';
import { createServiceApp, ensureDefaultTenant, type RunningService, type Runtime } from '@wallet/platform';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { PublicConfigModule } from './public-config.module';

describe('public tenant configuration (SQLite store)', () => {
  let server: RunningService;
  let runtime: Runtime;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'public-config-'));
    const config = loadConfig({ argv: [], env: { WALLET_SERVER_HOST: '127.0.0.1' } }).config;
    const store = await createStore({ type: 'sqlite', path: join(dir, 'wallet.db') });
    await ensureDefaultTenant(store);
    const tenants = store.repository(Collections.tenants);
    const base = { requireInvite: true, trustConfig: { pdpUrl: 'https://pdp.internal' }, allowedProtocols: ['oid4vp'] };
    await tenants.create(GLOBAL_SCOPE, { id: 'acme', displayName: 'Acme', enabled: true, ...base });
    await tenants.create(GLOBAL_SCOPE, { id: 'off', displayName: 'Off', enabled: false, ...base });
    const issuers = store.repository(Collections.issuers);
    const key = { clientPrivateKey: 'PRIVATE-KEY-MATERIAL' };
    await issuers.create('acme', { id: 'pid', credentialIssuerIdentifier: 'https://pid.example', clientId: 'w', visible: true, ...key });
    await issuers.create('acme', { id: 'hidden', credentialIssuerIdentifier: 'https://h.example', clientId: null, visible: false, ...key });
    await issuers.create('default', { id: 'dflt', credentialIssuerIdentifier: 'https://d.example', clientId: null, visible: true, ...key });
    await store.repository(Collections.verifiers).create('acme', { id: 'rp', name: 'Shop', url: 'https://shop.example' });
    runtime = { config, store, cache: await createCache({ type: 'memory' }), logger: pino({ level: 'silent' }) };
    server = await createServiceApp({ info: { name: 'wallet', services: ['auth'] }, imports: [PublicConfigModule], runtime, port: 0 });
  });

  afterAll(async () => {
    await server.close();
    await runtime.store.close();
    await runtime.cache.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${server.url}${path}`, { headers });
    const text = await response.text();
    return { status: response.status, text, body: JSON.parse(text) as unknown };
  };

  it('serves a tenant configuration without trust endpoints or secrets, 404 for unknown or disabled tenants', async () => {
    const acme = await get('/tenant/acme/config');
    expect(acme.status).toBe(200);
    expect(acme.body).toEqual({ id: 'acme', display_name: 'Acme', require_invite: true, allowed_protocols: ['oid4vp'] });
    expect(acme.text).not.toContain('pdp');
    expect((await get('/tenant/off/config')).status).toBe(404);
    expect((await get('/tenant/nope/config')).status).toBe(404);
    expect((await get('/tenant/BAD!/config')).status).toBe(404);
  });

  it('lists the visible issuers of the tenant named by /t/{tenant}, X-Tenant-ID or default, never their keys', async () => {
    const viaPath = await get('/t/acme/issuer/all');
    expect(viaPath.body).toEqual([{ id: 'pid', credential_issuer_identifier: 'https://pid.example', client_id: 'w', visible: true }]);
    expect(viaPath.text).not.toContain('PRIVATE-KEY');
    expect((await get('/issuer/all', { 'x-tenant-id': 'acme' })).body).toEqual(viaPath.body);
    expect((await get('/issuer/all')).body).toEqual([
      { id: 'dflt', credential_issuer_identifier: 'https://d.example', client_id: null, visible: true },
    ]);
    expect((await get('/issuer/all', { 'x-tenant-id': 'off' })).status).toBe(404);
    expect((await get('/issuer/all', { 'x-tenant-id': 'Not Valid' })).status).toBe(400);
  });

  it('lists the verifiers of the tenant', async () => {
    expect((await get('/t/acme/verifier/all')).body).toEqual([{ id: 'rp', name: 'Shop', url: 'https://shop.example' }]);
    expect((await get('/verifier/all')).body).toEqual([]);
  });
});
