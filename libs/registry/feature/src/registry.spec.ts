import { createCache, type Cache } from '@wallet/cache';
import { parseConfig, type WalletConfig } from '@wallet/config';
import { GLOBAL_SCOPE, type Tenant } from '@wallet/domain';
import { Collections, createStore, type Store } from '@wallet/persistence';
import { JOB_SLOTS, JobRunner, createServiceApp, type JobEvent, type RunningService } from '@wallet/platform';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { request } from 'undici';
import { RegistryFeatureModule } from './registry-feature.module';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A loopback HTTP server with a route table and a log of what it was asked. */
async function startUpstream(): Promise<{ base: string; routes: Map<string, Handler>; hits: Map<string, number>; seen: IncomingMessage[]; close(): Promise<void> }> {
  const routes = new Map<string, Handler>();
  const hits = new Map<string, number>();
  const seen: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    seen.push(req);
    const handler = routes.get(path);
    if (handler) handler(req, res);
    else res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    routes,
    hits,
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const json =
  (body: unknown, headers: Record<string, string> = {}): Handler =>
  (_req, res) =>
    void res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body));

const sri = (alg: 'sha256' | 'sha384' | 'sha512', data: string | Buffer) => `${alg}-${createHash(alg).update(data).digest('base64')}`;
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const ADMIN = 'admin-token-'.padEnd(40, 'x');

let upstream: Awaited<ReturnType<typeof startUpstream>>;
let pdp: Awaited<ReturnType<typeof startUpstream>>;
let denyingPdp: Awaited<ReturnType<typeof startUpstream>>;
let store: Store;
let cache: Cache;
let app: RunningService;
let replica: RunningService;
let config: WalletConfig;

async function get(path: string, headers: Record<string, string> = {}, on = app) {
  const response = await request(`${on.url}${path}`, { headers });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

async function send(method: 'POST' | 'DELETE', path: string, body: unknown, token?: string) {
  const response = await request(`${app.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

const tm = (vct: string, integrity?: string) =>
  `/registry/type-metadata?vct=${encodeURIComponent(vct)}${integrity ? `&integrity=${encodeURIComponent(integrity)}` : ''}`;

function tenant(id: string, pdpUrl?: string): Tenant {
  return { id, displayName: id, enabled: true, requireInvite: false, trustConfig: pdpUrl ? { pdpUrl } : {}, allowedProtocols: [] };
}

beforeAll(async () => {
  [upstream, pdp, denyingPdp] = await Promise.all([startUpstream(), startUpstream(), startUpstream()]);
  const answer = (decision: boolean): Handler => (req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as { subject: { id: string } };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ decision: decision && body.subject.id.startsWith(upstream.base) }));
    });
  };
  pdp.routes.set('/evaluation', answer(true));
  denyingPdp.routes.set('/evaluation', answer(false));
  upstream.routes.set('/sources/list.json', json([{ vct: 'urn:example:listed', name: 'Listed type' }, { nonsense: true }]));

  config = parseConfig({
    storage: { type: 'memory' },
    logging: { level: 'silent' },
    server: { adminToken: ADMIN },
    outbound: { allowHttp: true, allowCidrs: ['127.0.0.1/32'], timeoutMs: 2_000 },
    trust: { pdpUrl: pdp.base, errorCacheTtlMs: 0, timeoutMs: 500 },
    registry: { minTtlMs: 0, defaultTtlMs: 60_000, sources: [`${upstream.base}/sources/list.json`] },
  });
  store = await createStore({ type: 'memory' });
  cache = await createCache({ type: 'memory' });
  const tenants = store.repository(Collections.tenants);
  await tenants.create(GLOBAL_SCOPE, tenant('default'));
  await tenants.create(GLOBAL_SCOPE, tenant('strict', denyingPdp.base));
  await tenants.create(GLOBAL_SCOPE, tenant('open', 'none'));
  await tenants.create(GLOBAL_SCOPE, tenant('down', 'http://127.0.0.1:1'));
  const runtime = { config, store, cache, logger: pino({ level: 'silent' }) };
  app = await createServiceApp({ info: { name: 'registry', services: ['registry'] }, imports: [RegistryFeatureModule], runtime, port: 0 });
  replica = await createServiceApp({ info: { name: 'registry-2', services: ['registry'] }, imports: [RegistryFeatureModule], runtime, port: 0 });
});

afterAll(async () => {
  await app?.close();
  await replica?.close();
  await store?.close();
  await cache?.close();
  await Promise.all([upstream.close(), pdp.close(), denyingPdp.close()]);
});

describe('GET /registry/type-metadata', () => {
  let personDoc: string;
  beforeAll(() => {
    upstream.routes.set('/img/logo.png', (_req, res) => void res.writeHead(200, { 'content-type': 'image/png' }).end(PNG));
    personDoc = JSON.stringify({
      vct: `${upstream.base}/vct/person`,
      name: 'Person',
      claims: [{ path: ['given_name'], display: [{ lang: 'en', label: 'Given name' }] }, { path: ['age'] }],
    });
    upstream.routes.set('/vct/person', json(personDoc));
    upstream.routes.set(
      '/vct/pid',
      json({
        vct: `${upstream.base}/vct/pid`,
        name: 'PID',
        extends: `${upstream.base}/vct/person`,
        'extends#integrity': sri('sha256', personDoc),
        display: [
          {
            lang: 'en',
            name: 'PID',
            rendering: { simple: { logo: { uri: `${upstream.base}/img/logo.png`, 'uri#integrity': sri('sha384', PNG), alt_text: 'logo' } } },
          },
        ],
        claims: [{ path: ['age'], sd: 'always' }, { path: ['nationality'] }],
      }),
    );
  });

  it('resolves the extends chain, embeds images, and serves repeats from the cache with validators', async () => {
    const first = await get(tm(`${upstream.base}/vct/pid`));
    expect(first.status).toBe(200);
    expect(first.headers['x-registry-cache']).toBe('miss');
    expect(first.body).toMatchObject({ vct: `${upstream.base}/vct/pid`, name: 'PID', extends: `${upstream.base}/vct/person` });
    expect(first.body!['claims']).toEqual([
      { path: ['given_name'], display: [{ lang: 'en', label: 'Given name' }] },
      { path: ['age'], sd: 'always' },
      { path: ['nationality'] },
    ]);
    const logo = (first.body!['display'] as Array<{ rendering: { simple: { logo: { uri: string } } } }>)[0]!.rendering.simple.logo;
    expect(logo.uri).toBe(`data:image/png;base64,${PNG.toString('base64')}`);

    const second = await get(tm(`${upstream.base}/vct/pid`));
    expect(second.headers['x-registry-cache']).toBe('hit');
    expect(second.headers['etag']).toBe(first.headers['etag']);
    expect(second.headers['cache-control']).toMatch(/^public, max-age=\d+$/);
    expect(second.body).toEqual(first.body);
    expect(upstream.hits.get('/vct/pid')).toBe(1);

    const notModified = await get(tm(`${upstream.base}/vct/pid`), { 'if-none-match': String(first.headers['etag']) });
    expect(notModified.status).toBe(304);
    const listed = await get(tm(`${upstream.base}/vct/pid`), { 'if-none-match': `"other", W/${String(first.headers['etag'])}` });
    expect(listed.status).toBe(304);
    expect((await get(tm(`${upstream.base}/vct/pid`), { 'if-none-match': '"other"' })).status).toBe(200);
  });

  it('shares the cache across replicas', async () => {
    const other = await get(tm(`${upstream.base}/vct/pid`), {}, replica);
    expect(other.headers['x-registry-cache']).toBe('hit');
    expect(upstream.hits.get('/vct/pid')).toBe(1);
  });

  it('uses the well-known location when the vct URL itself has nothing', async () => {
    upstream.routes.set('/.well-known/vct/types/wk', json({ vct: `${upstream.base}/types/wk`, name: 'Well-known' }));
    const response = await get(tm(`${upstream.base}/types/wk`));
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ name: 'Well-known' });
  });

  it('checks vct#integrity, extends#integrity and uri#integrity', async () => {
    const pidBytes = JSON.stringify({ vct: `${upstream.base}/vct/plain`, name: 'Plain' });
    upstream.routes.set('/vct/plain', json(pidBytes));
    expect((await get(tm(`${upstream.base}/vct/plain`, sri('sha512', pidBytes)))).status).toBe(200);
    const wrong = await get(tm(`${upstream.base}/vct/plain`, sri('sha256', 'something else')));
    expect(wrong.status).toBe(502);
    expect(wrong.body).toMatchObject({ code: 'bad_gateway', reason: 'integrity_mismatch' });
    expect((await get(tm(`${upstream.base}/vct/plain`, 'md5-abc'))).status).toBe(400);

    upstream.routes.set('/vct/bad-extends', json({ vct: `${upstream.base}/vct/bad-extends`, extends: `${upstream.base}/vct/person`, 'extends#integrity': sri('sha256', 'x') }));
    expect((await get(tm(`${upstream.base}/vct/bad-extends`))).body).toMatchObject({ status: 502, reason: 'integrity_mismatch' });

    upstream.routes.set(
      '/vct/bad-image',
      json({ vct: `${upstream.base}/vct/bad-image`, display: [{ lang: 'en', rendering: { simple: { logo: { uri: `${upstream.base}/img/logo.png`, 'uri#integrity': sri('sha256', 'x') } } } }] }),
    );
    expect((await get(tm(`${upstream.base}/vct/bad-image`))).body).toMatchObject({ status: 502, reason: 'integrity_mismatch' });
  });

  it('refuses extends cycles and chains deeper than the limit', async () => {
    upstream.routes.set('/vct/a', json({ vct: `${upstream.base}/vct/a`, extends: `${upstream.base}/vct/b` }));
    upstream.routes.set('/vct/b', json({ vct: `${upstream.base}/vct/b`, extends: `${upstream.base}/vct/a` }));
    expect((await get(tm(`${upstream.base}/vct/a`))).body).toMatchObject({ status: 502, reason: 'extends_cycle' });
    for (let i = 0; i < 7; i++) {
      upstream.routes.set(`/vct/deep${i}`, json({ vct: `${upstream.base}/vct/deep${i}`, ...(i < 6 ? { extends: `${upstream.base}/vct/deep${i + 1}` } : {}) }));
    }
    expect((await get(tm(`${upstream.base}/vct/deep0`))).body).toMatchObject({ status: 502, reason: 'extends_too_deep' });
    expect((await get(tm(`${upstream.base}/vct/deep1`))).status).toBe(200); // exactly 5 links
  });

  it('refuses images of the wrong type, too large, or on blocked addresses', async () => {
    upstream.routes.set('/img/page', (_q, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'));
    upstream.routes.set('/img/huge.png', (_q, res) => void res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(600 * 1024)));
    const withLogo = (name: string, uri: string) =>
      upstream.routes.set(`/vct/${name}`, json({ vct: `${upstream.base}/vct/${name}`, display: [{ lang: 'en', rendering: { simple: { logo: { uri } } } }] }));
    withLogo('html-logo', `${upstream.base}/img/page`);
    withLogo('huge-logo', `${upstream.base}/img/huge.png`);
    withLogo('metadata-logo', 'http://169.254.169.254/latest/meta-data/');
    expect((await get(tm(`${upstream.base}/vct/html-logo`))).body).toMatchObject({ status: 502, reason: 'content_type' });
    expect((await get(tm(`${upstream.base}/vct/huge-logo`))).body).toMatchObject({ status: 502, reason: 'too_large' });
    expect((await get(tm(`${upstream.base}/vct/metadata-logo`))).body).toMatchObject({ status: 502, reason: 'blocked_reference' });
  });

  it('refuses vct URLs on blocked addresses, and answers 404 for unknown non-URL vcts', async () => {
    const blocked = await get(tm('http://169.254.169.254/latest/meta-data/'));
    expect(blocked.status).toBe(400);
    expect(blocked.body).toMatchObject({ code: 'validation_failed', reason: 'address_blocked' });
    expect((await get(tm('urn:example:unknown'))).status).toBe(404);
    expect((await get('/registry/type-metadata')).status).toBe(400);
  });

  it('revalidates with ETag when stale, and serves stale with a header when the upstream fails', async () => {
    let etagHits = 0;
    let down = false;
    upstream.routes.set('/vct/short', (req, res) => {
      if (down) return void res.writeHead(503).end();
      if (req.headers['if-none-match'] === '"v1"') {
        etagHits++;
        return void res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=1' }).end();
      }
      res.writeHead(200, { 'content-type': 'application/json', etag: '"v1"', 'cache-control': 'max-age=1' }).end(JSON.stringify({ vct: `${upstream.base}/vct/short`, name: 'Short' }));
    });
    expect((await get(tm(`${upstream.base}/vct/short`))).headers['x-registry-cache']).toBe('miss');
    await new Promise((r) => setTimeout(r, 1_100));
    const revalidated = await get(tm(`${upstream.base}/vct/short`));
    expect(revalidated.headers['x-registry-cache']).toBe('revalidated');
    expect(etagHits).toBe(1);
    await new Promise((r) => setTimeout(r, 1_100));
    down = true;
    const stale = await get(tm(`${upstream.base}/vct/short`));
    expect(stale.status).toBe(200);
    expect(stale.headers['x-registry-cache']).toBe('stale');
    expect(stale.headers['cache-control']).toBe('public, max-age=0');
    expect(stale.body).toMatchObject({ name: 'Short' });
    const metrics = await request(`${app.url}/metrics`).then((r) => r.body.text());
    expect(metrics).toMatch(/registry_type_metadata_answers_total\{cache="stale"[^}]*\} 1/);
    expect(metrics).toMatch(/registry_type_metadata_answers_total\{cache="revalidated"[^}]*\} [1-9]/);
  });

  it('fetches a vct once for concurrent requests', async () => {
    upstream.routes.set('/vct/slow', (_req, res) => {
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ vct: `${upstream.base}/vct/slow` })), 200);
    });
    const results = await Promise.all(Array.from({ length: 10 }, () => get(tm(`${upstream.base}/vct/slow`))));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(upstream.hits.get('/vct/slow')).toBe(1);
  });
});

describe('hostile input', () => {
  it('never answers 500 to malformed vct, integrity, issuer or tenant values', async () => {
    const weird = ['https://', 'http://[::1', 'https://a b', '\u0000', 'x'.repeat(3000), 'javascript:alert(1)', 'https://user:pw@example.com/', `${upstream.base}/%ZZ`, 'data:application/json,{}'];
    const paths = [
      ...weird.map((v) => `/registry/type-metadata?vct=${encodeURIComponent(v)}`),
      ...weird.map((v) => `/registry/type-metadata?vct=${encodeURIComponent(`${upstream.base}/vct/pid`)}&integrity=${encodeURIComponent(v)}`),
      ...weird.map((v) => `/registry/issuer-metadata?issuer=${encodeURIComponent(v)}`),
      '/registry/type-metadata?vct=a&vct=b',
      '/registry/issuer-metadata',
    ];
    for (const path of paths) {
      const response = await get(path);
      expect([path, response.status < 500 || response.status === 502]).toEqual([path, true]);
      if (response.status >= 400) expect(response.body).toMatchObject({ status: response.status });
    }
    const tenantHeader = await get(`/registry/issuer-metadata?issuer=${encodeURIComponent(`${upstream.base}/issuer`)}`, { 'x-tenant-id': '../../etc' });
    expect(tenantHeader.status).toBe(400);
  });

  it('serves reads without an access token (public routes; fetches go through the outbound guard)', async () => {
    // No Authorization header anywhere in this file: the issuer metadata tests below are anonymous too.
    expect((await get(tm(`${upstream.base}/vct/pid`))).status).toBe(200);
    expect((await get(tm(`${upstream.base}/vct/pid`), { authorization: 'Bearer not-a-token' })).status).toBe(200);
  });
});

describe('POST and DELETE /registry/vctm', () => {
  it('is admin-only, and local metadata wins over the remote copy until deleted', async () => {
    const vct = `${upstream.base}/vct/person`;
    const local = { vct, name: 'Local person' };
    expect((await send('POST', '/registry/vctm', local)).status).toBe(401);
    expect((await send('POST', '/registry/vctm', local, 'wrong')).status).toBe(401);
    expect((await send('POST', '/registry/vctm', { name: 'no vct' }, ADMIN)).status).toBe(400);
    expect(await send('POST', '/registry/vctm', local, ADMIN)).toEqual({ status: 201, body: { vct, origin: 'local' } });
    expect((await send('POST', '/registry/vctm', local, ADMIN)).status).toBe(200);

    const served = await get(tm(vct));
    expect(served.headers['x-registry-cache']).toBe('local');
    expect(served.body).toEqual(local);

    expect((await send('DELETE', `/registry/vctm?vct=${encodeURIComponent(vct)}`, undefined)).status).toBe(401);
    expect((await send('DELETE', `/registry/vctm?vct=${encodeURIComponent(vct)}`, undefined, ADMIN)).status).toBe(204);
    expect((await send('DELETE', `/registry/vctm?vct=${encodeURIComponent(vct)}`, undefined, ADMIN)).status).toBe(404);
    const remote = await get(tm(vct));
    expect(remote.body).toMatchObject({ name: 'Person' });
    const audit = await store.repository(Collections.auditEvents).list(GLOBAL_SCOPE);
    expect(audit.items.map((e) => e.action)).toEqual(['vctm.create', 'vctm.replace', 'vctm.remove']);
  });

  it('loads configured source lists at start', async () => {
    let listed = await get(tm('urn:example:listed'));
    for (let i = 0; i < 20 && listed.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      listed = await get(tm('urn:example:listed'));
    }
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ vct: 'urn:example:listed', name: 'Listed type' });
  });
});

describe('GET /registry/issuer-metadata', () => {
  let issuer: string;
  let signedMetadata: string;

  beforeAll(async () => {
    issuer = `${upstream.base}/issuer`;
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    signedMetadata = await new SignJWT({ display: [{ name: 'Signed Issuer' }] })
      .setProtectedHeader({ alg: 'ES256', typ: 'openidvci-issuer-metadata+jwt', jwk })
      .setIssuer(issuer)
      .setSubject(issuer)
      .setIssuedAt()
      .sign(privateKey);
    upstream.routes.set(
      '/.well-known/openid-credential-issuer/issuer',
      json({
        credential_issuer: issuer,
        credential_endpoint: `${issuer}/credential`,
        display: [{ name: 'Unsigned Issuer' }],
        credential_configurations_supported: { pid: { format: 'dc+sd-jwt', vct: 'urn:eudi:pid:1' } },
        signed_metadata: signedMetadata,
      }),
    );
    upstream.routes.set('/.well-known/oauth-authorization-server/issuer', json({ issuer, token_endpoint: `${issuer}/token` }));
  });

  it('returns issuer and authorization server metadata with verified signed values and the tenant trust decision', async () => {
    const response = await get(`/registry/issuer-metadata?issuer=${encodeURIComponent(issuer)}`);
    expect(response.status).toBe(200);
    expect((response.body!['trust'] as { reason: string }).reason).toBe('PDP decision: trusted');
    expect(response.body).toMatchObject({
      issuer,
      credential_issuer_metadata: { credential_issuer: issuer, display: [{ name: 'Signed Issuer' }] },
      signed_metadata: { present: true, verified: true },
      authorization_servers: [{ issuer, metadata: { token_endpoint: `${issuer}/token` } }],
      trust: { trusted: true, source: 'pdp' },
    });
    const evaluation = pdp.seen.find((r) => r.url === '/evaluation');
    expect(evaluation).toBeDefined();
  });

  it('decides trust per tenant: another PDP, disabled, and PDP down (fail closed)', async () => {
    const path = `/registry/issuer-metadata?issuer=${encodeURIComponent(issuer)}`;
    expect((await get(path, { 'x-tenant-id': 'strict' })).body!['trust']).toMatchObject({ trusted: false, source: 'pdp' });
    expect((await get(`/t/strict${path}`)).body!['trust']).toMatchObject({ trusted: false, source: 'pdp' });
    expect((await get(path, { 'x-tenant-id': 'open' })).body!['trust']).toMatchObject({ trusted: true, source: 'disabled' });
    const down = (await get(path, { 'x-tenant-id': 'down' })).body!['trust'] as { trusted: boolean; source: string; reason: string };
    expect(down).toMatchObject({ trusted: false, source: 'error' });
    expect(down.reason).toMatch(/PDP could not be asked/);
    expect((await get(path, { 'x-tenant-id': 'Not A Tenant!' })).status).toBe(400);
    expect((await get(path, { 'x-tenant-id': 'ghost' })).status).toBe(404);
  });

  it('reports a signed_metadata that does not verify and does not trust the issuer', async () => {
    const forged = `${upstream.base}/forged`;
    const [h, p, s] = signedMetadata.split('.');
    const payload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: forged, iss: forged })).toString('base64url');
    upstream.routes.set('/.well-known/openid-credential-issuer/forged', json({ credential_issuer: forged, signed_metadata: `${h}.${payload}.${s}` }));
    const response = await get(`/registry/issuer-metadata?issuer=${encodeURIComponent(forged)}`);
    expect(response.body).toMatchObject({ signed_metadata: { present: true, verified: false }, trust: { trusted: false, source: 'error' } });
  });

  it('refuses bad issuer identifiers and blocked addresses', async () => {
    expect((await get('/registry/issuer-metadata?issuer=not-a-url')).status).toBe(400);
    expect((await get(`/registry/issuer-metadata?issuer=${encodeURIComponent('http://10.0.0.1/issuer')}`)).body).toMatchObject({ status: 400, reason: 'address_blocked' });
    expect((await get(`/registry/issuer-metadata?issuer=${encodeURIComponent(`${upstream.base}/nobody`)}`)).status).toBe(404);
  });
});

describe('query DTOs (TypeMetadataQueryDto, IssuerMetadataQueryDto, RemoveTypeMetadataQueryDto)', () => {
  const issues = (body: Record<string, unknown> | null) => (body?.['issues'] as Array<{ path: string; message: string }>).map((i) => i.path);

  it('answers validation_failed problem documents naming the query field, never a 500', async () => {
    const cases: Array<[string, string[]]> = [
      ['/registry/type-metadata', ['/vct']],
      ['/registry/type-metadata?vct=', ['/vct']],
      ['/registry/type-metadata?vct=a&vct=b', ['/vct']],
      [`/registry/type-metadata?vct=${'x'.repeat(2049)}`, ['/vct']],
      ['/registry/type-metadata?vct=urn:x&integrity=', ['/integrity']],
      [`/registry/type-metadata?vct=urn:x&vct%23integrity=${'s'.repeat(1001)}`, ['/vct#integrity']],
      ['/registry/issuer-metadata', ['/issuer']],
      ['/registry/issuer-metadata?issuer=a&issuer=b', ['/issuer']],
      [`/registry/issuer-metadata?issuer=${'h'.repeat(2049)}`, ['/issuer']],
    ];
    for (const [path, expected] of cases) {
      const answer = await get(path);
      expect({ path, status: answer.status, code: answer.body?.['code'], type: answer.headers['content-type'], paths: issues(answer.body) }).toEqual({
        path,
        status: 400,
        code: 'validation_failed',
        type: expect.stringContaining('application/problem+json'),
        paths: expected,
      });
    }
  });

  it('refuses unknown query parameters, as every DTO route does', async () => {
    const answer = await get(`${tm('urn:example:listed')}&colour=red`);
    expect(answer).toMatchObject({ status: 400, body: { code: 'validation_failed', detail: 'invalid query: unknown field: colour', issues: [{ path: '/', message: 'unknown field: colour' }] } });
    expect((await get('/registry/issuer-metadata?issuer=https%3A%2F%2Fissuer.example&debug=1')).body).toMatchObject({ issues: [{ path: '/', message: 'unknown field: debug' }] });
  });

  it('checks the admin token before the query: DELETE without a token is 401 whatever the query', async () => {
    expect((await send('DELETE', '/registry/vctm?colour=red', undefined)).status).toBe(401);
    const missing = await send('DELETE', '/registry/vctm', undefined, ADMIN);
    expect(missing).toMatchObject({ status: 400, body: { code: 'validation_failed', issues: [{ path: '/vct' }] } });
  });

  it('takes vct#integrity as integrity: a wrong digest is refused by the integrity check, not by the DTO', async () => {
    const vct = `${upstream.base}/vct/pid`;
    const wrong = sri('sha256', 'not the document');
    const answer = await get(`/registry/type-metadata?vct=${encodeURIComponent(vct)}&vct%23integrity=${encodeURIComponent(wrong)}`);
    expect(answer).toMatchObject({ status: 502, body: { reason: 'integrity_mismatch' } });
  });
});

describe('trust-refresh job slot', () => {
  it('is filled by the registry module, so a job runner in this process runs the refresh', async () => {
    const events: JobEvent[] = [];
    const runner = new JobRunner({ cache, lockTtlMs: 10_000, keyPrefix: 'jobs-test:', onEvent: (e) => events.push(e) });
    runner.register({ name: JOB_SLOTS.trustRefresh, intervalMs: 60_000 });
    expect(await runner.runIfDue(JOB_SLOTS.trustRefresh)).toBe('ran');
    expect(events[0]).toMatchObject({ name: 'trust-refresh', outcome: 'ran', result: { refreshed: 0 } });
    await runner.stop();
  });
});
