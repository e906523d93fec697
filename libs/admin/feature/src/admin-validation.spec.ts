import { createCache } from '@wallet/cache';
import { loadConfig } from '@wallet/config';
import { createStore } from '@wallet/persistence';
import { createServiceApp, ensureDefaultTenant, type RunningService, type Runtime } from '@wallet/platform';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { AdminFeatureModule } from './admin-feature.module';
import { adminCaller } from './admin-call.contract';

const TOKEN = 'admin-token-for-validation-tests-0123456789';
const long = (n: number) => 'x'.repeat(n);

/**
 * Refused inputs of every admin DTO with the issue paths the zod parsing gave
 * before the move to class-validator (computed from the zod schemas at
 * 9da8bc9, duplicates of a path counted once): every failure stays a
 * `validation_failed` problem at the same JSON-pointer paths.
 */
type Row = [method: string, path: string, kind: 'body' | 'query', input: Record<string, unknown>, paths: string[] | 'ok'];
const ROWS: Row[] = [
  ['POST', '/admin/tenants', 'body', { id: 'Bad_Id', display_name: 'x' }, ['/id']],
  ['POST', '/admin/tenants', 'body', { id: 'ok', display_name: 'x', extra: 1 }, ['/']],
  ['POST', '/admin/tenants', 'body', { id: 'ok', display_name: '' }, ['/display_name']],
  ['POST', '/admin/tenants', 'body', { id: 'ok', display_name: '   ' }, ['/display_name']],
  ['POST', '/admin/tenants', 'body', { id: 'ok', display_name: long(201) }, ['/display_name']],
  ['POST', '/admin/tenants', 'body', { id: 'ok', display_name: 5 }, ['/display_name']],
  ['POST', '/admin/tenants', 'body', { id: 'ok', display_name: 'x', trust_config: { pdp_url: 'ftp://x' } }, ['/trust_config/pdp_url']],
  ['POST', '/admin/tenants', 'body', { id: 'ok', display_name: 'x', trust_config: { pdp_url: 'https://u:p@x.example' } }, ['/trust_config/pdp_url']],
  ['POST', '/admin/tenants', 'body', { id: 'ok', display_name: 'x', trust_config: { other: 1 } }, ['/trust_config']],
  ['POST', '/admin/tenants', 'body', { id: 'ok', display_name: 'x', trust_config: 'none' }, ['/trust_config']],
  ['POST', '/admin/tenants', 'body', { id: 'ok', display_name: 'x', allowed_protocols: ['oid4vp', 'oid4vp'] }, ['/allowed_protocols']],
  ['POST', '/admin/tenants', 'body', { id: 'ok', display_name: 'x', allowed_protocols: ['oid4vp', 'BAD'] }, ['/allowed_protocols/1']],
  ['POST', '/admin/tenants', 'body', { id: 'ok', display_name: 'x', allowed_protocols: 'oid4vp' }, ['/allowed_protocols']],
  ['POST', '/admin/tenants', 'body', { id: 'ok', display_name: 'x', allowed_origins: ['https://a.example/path', 'https://b.example'] }, ['/allowed_origins/0']],
  ['POST', '/admin/tenants', 'body', { id: 'ok', display_name: 'x', allowed_origins: Array.from({ length: 33 }, (_, i) => `https://a${i}.example`) }, ['/allowed_origins']],
  ['POST', '/admin/tenants', 'body', { id: 'ok', display_name: 'x', enabled: 'yes' }, ['/enabled']],
  ['POST', '/admin/tenants', 'body', { display_name: 'x' }, ['/id']],
  ['PATCH', '/admin/tenants/acme', 'body', { id: 'other' }, ['/']],
  ['PATCH', '/admin/tenants/acme', 'body', { enabled: null }, ['/enabled']],
  ['PATCH', '/admin/tenants/acme', 'body', { trust_config: { pdp_url: null } }, 'ok'],
  ['PATCH', '/admin/tenants/acme', 'body', { display_name: '' }, ['/display_name']],
  ['POST', '/admin/tenants/acme/users', 'body', { id: 'a/b' }, ['/id']],
  ['POST', '/admin/tenants/acme/users', 'body', { handle: 'not base64!' }, ['/handle']],
  ['POST', '/admin/tenants/acme/users', 'body', { role: 'owner' }, ['/role']],
  ['POST', '/admin/tenants/acme/users', 'body', { display_name: null }, ['/display_name']],
  ['PATCH', '/admin/tenants/acme/users/u1', 'body', { status: 'gone' }, ['/status']],
  ['PUT', '/admin/tenants/acme/users/u1/membership', 'body', {}, ['/role']],
  ['PUT', '/admin/tenants/acme/users/u1/membership', 'body', { role: 'x' }, ['/role']],
  ['POST', '/admin/tenants/acme/issuers', 'body', {}, ['/credential_issuer_identifier']],
  ['POST', '/admin/tenants/acme/issuers', 'body', { credential_issuer_identifier: 'https://i.example', client_id: '' }, ['/client_id']],
  ['POST', '/admin/tenants/acme/issuers', 'body', { credential_issuer_identifier: 'https://i.example#frag' }, ['/credential_issuer_identifier']],
  ['POST', '/admin/tenants/acme/issuers', 'body', { credential_issuer_identifier: 'https://i.example', client_private_key: long(16385) }, ['/client_private_key']],
  ['POST', '/admin/tenants/acme/issuers', 'body', { credential_issuer_identifier: 'https://i.example', visible: 1 }, ['/visible']],
  ['PATCH', '/admin/tenants/acme/issuers/i1', 'body', { client_id: null, client_private_key: '' }, ['/client_private_key']],
  ['POST', '/admin/tenants/acme/verifiers', 'body', { name: 'Bad', url: 'javascript:alert(1)' }, ['/url']],
  ['POST', '/admin/tenants/acme/verifiers', 'body', { name: 'V', url: 'https://v.example', client_id: 'x509_san_dns:v.example' }, ['/client_id']],
  ['POST', '/admin/tenants/acme/verifiers', 'body', { name: 'V', url: 'https://v.example', jwks: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b' }, { kty: 'oct', k: 'x' }, { kty: 'EC', d: 'x' }] }, ['/jwks/1', '/jwks/2']],
  ['POST', '/admin/tenants/acme/verifiers', 'body', { name: 'V', url: 'https://v.example', jwks: [5] }, ['/jwks/0']],
  ['POST', '/admin/tenants/acme/verifiers', 'body', { name: 'V', url: 'https://v.example', jwks: {} }, ['/jwks']],
  ['PATCH', '/admin/tenants/acme/verifiers/v1', 'body', { url: long(3000) }, ['/url']],
  ['POST', '/admin/tenants/acme/invites', 'body', { count: 0 }, ['/count']],
  ['POST', '/admin/tenants/acme/invites', 'body', { count: 1.5 }, ['/count']],
  ['POST', '/admin/tenants/acme/invites', 'body', { count: '2' }, ['/count']],
  ['POST', '/admin/tenants/acme/invites', 'body', { expires_in: 59 }, ['/expires_in']],
  ['POST', '/admin/tenants/acme/invites', 'body', { expires_at: 'tomorrow' }, ['/expires_at']],
  ['POST', '/admin/tenants/acme/invites', 'body', { expires_at: '2999-01-01' }, ['/expires_at']],
  ['POST', '/admin/tenants/acme/invites', 'body', { expires_at: '2999-01-01T00:00Z' }, ['/expires_at']],
  ['POST', '/admin/tenants/acme/invites', 'body', { expires_in: 60, expires_at: '2999-01-01T00:00:00Z' }, ['/expires_at']],
  ['POST', '/admin/tenants/acme/invites', 'body', { max_uses: 1_000_001, bogus: true }, ['/max_uses', '/']],
  ['POST', '/admin/tenants/acme/invites/i1/renew', 'body', { max_uses: 0 }, ['/max_uses']],
  ['POST', '/admin/tenants/acme/invites/i1/renew', 'body', { expires_in: 60, expires_at: '2999-01-01T00:00:00+01:00' }, ['/expires_at']],
  ['GET', '/admin/tenants', 'query', { limit: '0' }, ['/limit']],
  ['GET', '/admin/tenants', 'query', { limit: 'abc' }, ['/limit']],
  ['GET', '/admin/tenants', 'query', { limit: '1.5' }, ['/limit']],
  ['GET', '/admin/tenants', 'query', { limit: ['1', '2'] }, ['/limit']],
  ['GET', '/admin/tenants', 'query', { cursor: long(401) }, ['/cursor']],
  ['GET', '/admin/tenants', 'query', { bogus: '1' }, ['/']],
  ['DELETE', '/admin/tenants/acme', 'query', { force: 'yes' }, ['/force']],
  ['GET', '/admin/audit', 'query', { since: 'yesterday' }, ['/since']],
  ['GET', '/admin/audit', 'query', { until: '2000-01-01' }, ['/until']],
  ['GET', '/admin/audit', 'query', { tenant: 'BAD' }, ['/tenant']],
  ['GET', '/admin/audit', 'query', { action: '' }, ['/action']],
  ['GET', '/admin/audit', 'query', { resource: long(65) }, ['/resource']],
  ['GET', '/admin/audit', 'query', { actor: ['a', 'b'] }, ['/actor']],
  ['GET', '/admin/audit', 'query', { bogus: '1' }, ['/']],
];

/** Path parameters: each is one value, so its issue is at `/`. */
const BAD_PATHS = ['/admin/tenants/NOPE', '/admin/tenants/acme/users/a%20b', '/admin/tenants/acme/issuers/caf%C3%A9', '/admin/tenants/Acme/verifiers', '/admin/verifier-services/a%2Fb'];

function queryString(input: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(input)) for (const item of [value].flat()) params.append(key, String(item));
  return `?${params.toString()}`;
}

describe('admin API input validation (DTO classes behind the global pipe)', () => {
  let server: RunningService;
  let runtime: Runtime;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'admin-validation-'));
    const config = loadConfig({ argv: [], env: { WALLET_SERVER_HOST: '127.0.0.1', WALLET_SERVER_ADMIN_TOKEN: TOKEN, WALLET_DATA_DIR: dir } }).config;
    const store = await createStore({ type: 'sqlite', path: join(dir, 'wallet.db') });
    await ensureDefaultTenant(store);
    runtime = { config, store, cache: await createCache({ type: 'memory' }), logger: pino({ level: 'silent' }) };
    server = await createServiceApp({ info: { name: 'admin', services: ['admin'] }, imports: [AdminFeatureModule], runtime, port: 0 });
    expect((await call('POST', '/admin/tenants', { id: 'acme', display_name: 'Acme' })).status).toBe(201);
  });
  afterAll(async () => {
    await server.close();
    await runtime.store.close();
    await runtime.cache.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = adminCaller(() => server.url, TOKEN);

  it.each(ROWS.map((row, i) => [`${i} ${row[0]} ${row[1]}`, row] as const))('%s', async (_label, [method, path, kind, input, paths]) => {
    const answer = kind === 'query' ? await call(method, `${path}${queryString(input)}`) : await call(method, path, input);
    if (paths === 'ok') {
      expect(answer.status).toBeLessThan(300);
      return;
    }
    expect({ status: answer.status, type: answer.type, code: answer.body['code'] }).toEqual({ status: 400, type: expect.stringContaining('application/problem+json'), code: 'validation_failed' });
    const issues = answer.body['issues'] as Array<{ path: string; message: string }>;
    expect([...new Set(issues.map((i) => i.path))]).toEqual(paths);
    expect(answer.body['detail']).toMatch(new RegExp(`^invalid ${kind}: `));
    // Messages say what is wrong, never the value sent.
    for (const value of Object.values(input).flat()) {
      if (typeof value === 'string' && value.length > 3) expect(JSON.stringify(issues)).not.toContain(value);
    }
  });

  it.each(BAD_PATHS)('refuses the path parameters of %s', async (path) => {
    const answer = await call('GET', path);
    expect({ status: answer.status, code: answer.body['code'], paths: answer.body['issues'].map((i: { path: string }) => i.path) }).toEqual({
      status: 400,
      code: 'validation_failed',
      paths: ['/'],
    });
    expect(answer.body['detail']).toMatch(/^invalid path parameter: (tenant|id) /);
  });

  it('applies the defaults of left-out fields and trims names', async () => {
    const tenant = await call('POST', '/admin/tenants', { id: 'defaults', display_name: '  Defaults  ' });
    expect(tenant.body).toMatchObject({
      display_name: 'Defaults',
      enabled: true,
      require_invite: false,
      trust_config: { pdp_url: null },
      allowed_protocols: ['oid4vci', 'oid4vp'],
      allowed_origins: [],
    });
    const invites = await call('POST', '/admin/tenants/defaults/invites');
    expect(invites.status).toBe(201);
    expect(invites.body['items']).toEqual([expect.objectContaining({ max_uses: 1, expires_at: null })]);
    const issuer = await call('POST', '/admin/tenants/defaults/issuers', { credential_issuer_identifier: 'https://issuer.example' });
    expect(issuer.body).toMatchObject({ client_id: null, visible: true, client_private_key_set: false });
    const user = await call('POST', '/admin/tenants/defaults/users', { display_name: ' Ulla ' });
    expect(user.body).toMatchObject({ display_name: 'Ulla', role: 'member' });
    expect((await call('GET', '/admin/tenants?limit=1')).body['items']).toHaveLength(1);
  });

  it('still refuses an unknown field in an otherwise valid body, and a body that is not an object', async () => {
    const unknown = await call('POST', '/admin/tenants/acme/verifiers', { name: 'V', url: 'https://v.example', colour: 'red' });
    expect(unknown.body).toMatchObject({ code: 'validation_failed', detail: 'invalid body: unknown field: colour', issues: [{ path: '/', message: 'unknown field: colour' }] });
    const array = await call('POST', '/admin/tenants', [{ id: 'x', display_name: 'x' }]);
    expect(array.body).toMatchObject({ code: 'validation_failed', issues: [{ path: '/', message: 'must be a JSON object' }] });
    const missing = await call('POST', '/admin/tenants');
    expect(missing.body).toMatchObject({ code: 'validation_failed', issues: [{ path: '/', message: 'a JSON object body is required' }] });
  });
});
