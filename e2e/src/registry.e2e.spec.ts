import { GLOBAL_SCOPE } from '@wallet/domain';
import { Collections, createStore } from '@wallet/persistence';
import { startBuiltApp, type ServiceProcess } from '@wallet/testing';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * The built registry bundle against loopback servers playing the type
 * metadata host, the image host, a credential issuer and an AuthZEN PDP,
 * allowed by explicit test configuration (http, 127.0.0.1/32 only).
 */

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function serve(routes: Map<string, Handler>): Promise<{ base: string; server: Server }> {
  const server = createServer((req, res) => {
    const handler = routes.get((req.url ?? '/').split('?')[0]!);
    if (handler) handler(req, res);
    else res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const json = (body: unknown): Handler => (_req, res) =>
  void res.writeHead(200, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));
const sri = (data: string | Buffer) => `sha256-${createHash('sha256').update(data).digest('base64')}`;
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const ADMIN = 'e2e-admin-token-'.padEnd(40, 'z');

describe('registry (built bundle)', () => {
  const routes = new Map<string, Handler>();
  const pdpRoutes = new Map<string, Handler>();
  let upstream: { base: string; server: Server };
  let pdp: { base: string; server: Server };
  let proc: ServiceProcess;
  let url: string;

  beforeAll(async () => {
    upstream = await serve(routes);
    pdp = await serve(pdpRoutes);
    pdpRoutes.set('/evaluation', (req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const body = JSON.parse(raw) as { subject: { id: string }; resource: { type: string } };
        const decision = body.subject.id === `${upstream.base}/issuer` && body.resource.type === 'jwk';
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ decision }));
      });
    });
    const parent = JSON.stringify({ vct: `${upstream.base}/vct/base`, claims: [{ path: ['name'] }] });
    routes.set('/vct/base', json(parent));
    routes.set('/logo.png', (_req, res) => void res.writeHead(200, { 'content-type': 'image/png' }).end(PNG));
    routes.set(
      '/vct/card',
      json({
        vct: `${upstream.base}/vct/card`,
        name: 'Card',
        extends: `${upstream.base}/vct/base`,
        'extends#integrity': sri(parent),
        display: [{ lang: 'en', rendering: { simple: { logo: { uri: `${upstream.base}/logo.png`, 'uri#integrity': sri(PNG) } } } }],
      }),
    );
    routes.set(
      '/.well-known/openid-credential-issuer/issuer',
      json({ credential_issuer: `${upstream.base}/issuer`, credential_endpoint: `${upstream.base}/issuer/credential` }),
    );
    routes.set('/.well-known/jwt-vc-issuer/issuer', json({
      issuer: `${upstream.base}/issuer`,
      jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' }] },
    }));
    routes.set('/.well-known/oauth-authorization-server/issuer', json({ issuer: `${upstream.base}/issuer`, token_endpoint: `${upstream.base}/token` }));

    proc = await startBuiltApp('registry', {
      WALLET_SERVER_ADMIN_TOKEN: ADMIN,
      WALLET_OUTBOUND_ALLOW_HTTP: 'true',
      WALLET_OUTBOUND_ALLOW_CIDRS: '127.0.0.1/32',
      WALLET_TRUST_PDP_URL: pdp.base,
      WALLET_TRUST_ERROR_CACHE_TTL_MS: '0',
    });
    url = proc.servers.get('registry')!;
  });

  afterAll(async () => {
    await proc?.stop('SIGTERM');
    for (const s of [upstream?.server, pdp?.server]) {
      s?.closeAllConnections();
      await new Promise((resolve) => s?.close(resolve));
    }
  });

  const typeMetadata = (vct: string, integrity?: string) =>
    fetch(`${url}/registry/type-metadata?vct=${encodeURIComponent(vct)}${integrity ? `&integrity=${encodeURIComponent(integrity)}` : ''}`);

  it('resolves type metadata with its extends chain and embedded image, then serves it from the cache', async () => {
    const first = await typeMetadata(`${upstream.base}/vct/card`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-registry-cache')).toBe('miss');
    const body = (await first.json()) as { name: string; claims: unknown[]; display: Array<{ rendering: { simple: { logo: { uri: string } } } }> };
    expect(body.name).toBe('Card');
    expect(body.claims).toEqual([{ path: ['name'] }]);
    expect(body.display[0]!.rendering.simple.logo.uri).toBe(`data:image/png;base64,${PNG.toString('base64')}`);
    const second = await typeMetadata(`${upstream.base}/vct/card`);
    expect(second.headers.get('x-registry-cache')).toBe('hit');
    const revalidated = await fetch(`${url}/registry/type-metadata?vct=${encodeURIComponent(`${upstream.base}/vct/card`)}`, {
      headers: { 'if-none-match': second.headers.get('etag')! },
    });
    expect(revalidated.status).toBe(304);
  });

  it('refuses an integrity mismatch (502) and a loopback address outside the test allowance (400), as problem+json', async () => {
    const mismatch = await typeMetadata(`${upstream.base}/vct/card`, sri('not the document'));
    expect(mismatch.status).toBe(502);
    expect(mismatch.headers.get('content-type')).toContain('application/problem+json');
    expect(await mismatch.json()).toMatchObject({ code: 'bad_gateway', reason: 'integrity_mismatch' });
    const port = new URL(upstream.base).port;
    for (const target of [`http://[::1]:${port}/vct/card`, `http://127.0.0.2:${port}/vct/card`, `http://2130706434:${port}/x`]) {
      const refused = await typeMetadata(target);
      expect([target, refused.status]).toEqual([target, 400]);
      expect(await refused.json()).toMatchObject({ reason: 'address_blocked' });
    }
  });

  it('lets an admin register type metadata that wins over the remote copy', async () => {
    const vct = `${upstream.base}/vct/card`;
    const unauthorized = await fetch(`${url}/registry/vctm`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vct }) });
    expect(unauthorized.status).toBe(401);
    const created = await fetch(`${url}/registry/vctm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ vct, name: 'Local card' }),
    });
    expect(created.status).toBe(201);
    const served = await typeMetadata(vct);
    expect(served.headers.get('x-registry-cache')).toBe('local');
    expect(await served.json()).toEqual({ vct, name: 'Local card' });
  });

  it('serves issuer metadata with the trust decision, and fails closed when the PDP is down', async () => {
    const issuer = `${upstream.base}/issuer`;
    const response = await fetch(`${url}/registry/issuer-metadata?issuer=${encodeURIComponent(issuer)}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      issuer,
      credential_issuer_metadata: { credential_issuer: issuer },
      signed_metadata: { present: false },
      authorization_servers: [{ issuer, metadata: { token_endpoint: `${upstream.base}/token` } }],
      trust: { trusted: true, source: 'pdp' },
    });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/trust_decisions_total\{[^}]*source="pdp"[^}]*trusted="true"/);

    pdp.server.closeAllConnections();
    await new Promise((resolve) => pdp.server.close(resolve));
    // A different tenant is a different cache key, so the PDP is asked (and is down). Tenants are
    // managed by the admin service; here the test writes the tenant into the registry's store.
    const store = await createStore({ type: 'sqlite', path: join(proc.dataDir, 'wallet.db') });
    await store.repository(Collections.tenants).create(GLOBAL_SCOPE, {
      id: 'other',
      displayName: 'Other',
      enabled: true,
      requireInvite: false,
      trustConfig: {},
      allowedProtocols: [],
    });
    await store.close();
    const down = await fetch(`${url}/registry/issuer-metadata?issuer=${encodeURIComponent(issuer)}`, { headers: { 'x-tenant-id': 'other' } });
    const body = (await down.json()) as { trust: { trusted: boolean; source: string; reason: string } };
    expect(body.trust).toMatchObject({ trusted: false, source: 'error' });
    expect(body.trust.reason).toMatch(/PDP could not be asked/);
  });
});
