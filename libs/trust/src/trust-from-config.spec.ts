import { createCache, type Cache } from '@wallet/cache';
import { loadConfig } from '@wallet/config';
import { exportJWK, generateKeyPair } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { createTrustEvaluator, type TrustTenants } from './trust-from-config';
import type { TrustHttpClient } from './trust-evaluator';

/** A real HTTP client (undici) behind the evaluator's port; services wire the guarded outbound client. */
const http: TrustHttpClient = {
  async fetch(url, init) {
    const response = await request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, body: init.body ?? null });
    const text = await response.body.text();
    return { status: response.statusCode, json: () => JSON.parse(text) as unknown };
  },
};

describe('createTrustEvaluator (the evaluator every service builds from the configuration)', () => {
  let server: Server;
  let pdpUrl: string;
  const asked: string[] = [];
  let cache: Cache;

  beforeAll(async () => {
    // A PDP on loopback without discovery: it trusts exactly one issuer.
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      req.on('end', () => {
        if (req.url !== '/evaluation') return void res.writeHead(404).end();
        const subject = (JSON.parse(raw) as { subject: { id: string } }).subject.id;
        asked.push(subject);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ decision: subject === 'https://good.example' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    pdpUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    cache = await createCache({ type: 'memory' } as Parameters<typeof createCache>[0]);
  });

  afterAll(async () => {
    await cache.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('takes the policy and default PDP from `trust`, the tenant PDP from the directory, and registers its metrics', async () => {
    const { config } = loadConfig({ argv: [], env: { WALLET_TRUST_POLICY: 'pdp', WALLET_TRUST_PDP_URL: pdpUrl, WALLET_LOGGING_LEVEL: 'silent' } });
    const tenants: TrustTenants = {
      find: async (id) => (id === 'open' ? { trustConfig: { pdpUrl: 'none' } } : id === 'acme' ? { trustConfig: {} } : null),
    };
    const metrics = new Registry();
    const evaluator = createTrustEvaluator(config, { cache, http, tenants, metrics });
    const { publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)) };
    const query = (tenantId: string, entityId: string) => ({ tenantId, entityId, role: 'credential-issuer' as const, key: { type: 'jwk' as const, jwk } });

    expect(await evaluator.evaluate(query('acme', 'https://good.example'))).toMatchObject({ trusted: true, source: 'pdp', pdp: pdpUrl });
    expect(await evaluator.evaluate(query('acme', 'https://bad.example'))).toMatchObject({ trusted: false, source: 'pdp' });
    expect(await evaluator.evaluate(query('open', 'https://bad.example'))).toMatchObject({ trusted: true, source: 'disabled' });
    expect(asked).toEqual(['https://good.example', 'https://bad.example']);
    expect(await metrics.getSingleMetricAsString('trust_decisions_total')).toContain('trust_decisions_total');
  });
});
