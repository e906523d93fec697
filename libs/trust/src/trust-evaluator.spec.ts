import { createCache, type Cache } from '@wallet/cache';
import { describeIfAvailable, redisAvailable, startRedis, uniquePrefix, type RedisHandle } from '@wallet/testing';
import { exportJWK, generateKeyPair } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { TrustEvaluator, type TrustEvaluatorOptions, type TrustHttpClient } from './trust-evaluator';
import { TrustRefreshJob } from './trust-refresh.job';
import { keyThumbprint, type TrustQuery } from './trust-query';

/** A real HTTP client (undici) behind the evaluator's port; production wires the guarded outbound client. */
const http: TrustHttpClient = {
  async fetch(url, init) {
    const response = await request(url, {
      method: init.method ?? 'GET',
      headers: init.headers ?? {},
      body: init.body ?? null,
      ...(init.timeoutMs === undefined ? {} : { headersTimeout: init.timeoutMs, bodyTimeout: init.timeoutMs }),
    });
    const text = await response.body.text();
    return { status: response.statusCode, json: () => JSON.parse(text) as unknown };
  },
};

interface Pdp {
  url: string;
  calls: Array<{ path: string; body: Record<string, unknown> }>;
  /** Entity ids this PDP trusts. */
  trusts: Set<string>;
  mode: 'ok' | 'error500' | 'garbage' | 'slow';
  close(): Promise<void>;
}

/** A small AuthZEN PDP on loopback (the go-trust trust profile). */
async function startPdp(options: { discovery: boolean }): Promise<Pdp> {
  const pdp: Pdp = { url: '', calls: [], trusts: new Set(), mode: 'ok', close: async () => undefined };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const path = req.url ?? '/';
      if (path === '/.well-known/authzen-configuration') {
        if (!options.discovery) return void res.writeHead(404).end();
        return void res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ policy_decision_point: pdp.url, access_evaluation_endpoint: `${pdp.url}/access/v1/evaluation` }));
      }
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      pdp.calls.push({ path, body });
      if (pdp.mode === 'error500') return void res.writeHead(500).end('oops');
      if (pdp.mode === 'garbage') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"maybe":1}');
      const answer = () => {
        const subject = (body['subject'] as { id?: string } | undefined)?.id ?? '';
        const decision = pdp.trusts.has(subject);
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(decision ? { decision } : { decision, context: { reason: { 403: 'unknown issuer' } } }));
      };
      if (pdp.mode === 'slow') setTimeout(answer, 1_000).unref();
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  pdp.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  pdp.close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return pdp;
}

const CERT =
  'MIIBiDCCAS2gAwIBAgIUXVaIOGUicWJ7M+WaowNkTgCRMAwwCgYIKoZIzj0EAwIwGTEXMBUGA1UEAwwOaXNzdWVyLmV4YW1wbGUwHhcNMjYxMTI5MTkwOTAzWhcNMzYxMTI2MTkwOTAzWjAZMRcwFQYDVQQDDA5pc3N1ZXIuZXhhbXBsZTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABDgWUIbgzdIyr1KhPIh8TShZiJbPIIw/FjSgbgcblMYqBTIRtf4WWWteOfGUVcCVSyD9jdevigYHeGiPJHmBhvajUzBRMB0GA1UdDgQWBBSGr8fUtDEOpTbVYVNNXBjWZ93HGjAfBgNVHSMEGDAWgBSGr8fUtDEOpTbVYVNNXBjWZ93HGjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQCmuZr5e4khgJgsEQg0PZNj8JVrqDO9dAxVlGU4j9Jm/QIhAL9V0xX08gd14XgMN05reXdiaKli1RaBSGMVPlu9xnoH';

async function publicJwk(): Promise<Record<string, unknown>> {
  const { publicKey } = await generateKeyPair('ES256');
  return { ...(await exportJWK(publicKey)) };
}

let clock = Date.parse('2026-06-01T12:00:00Z');
const now = () => clock;

function issuerQuery(tenantId: string, entityId: string, jwk: Record<string, unknown>): TrustQuery {
  return { tenantId, entityId, role: 'credential-issuer', key: { type: 'jwk', jwk }, credentialTypes: ['urn:eudi:pid:1'] };
}

let defaultPdp: Pdp;
let tenantPdp: Pdp;
let jwk: Record<string, unknown>;

beforeAll(async () => {
  [defaultPdp, tenantPdp] = await Promise.all([startPdp({ discovery: true }), startPdp({ discovery: false })]);
  jwk = await publicJwk();
});

afterAll(async () => {
  await Promise.all([defaultPdp.close(), tenantPdp.close()]);
});

beforeEach(() => {
  for (const pdp of [defaultPdp, tenantPdp]) {
    pdp.calls.length = 0;
    pdp.trusts.clear();
    pdp.mode = 'ok';
  }
});

function makeEvaluator(cache: Cache, options: Partial<TrustEvaluatorOptions> = {}, tenants: Record<string, string> = {}, metrics?: Registry) {
  return new TrustEvaluator(
    { policy: 'pdp', pdpUrl: defaultPdp.url, timeoutMs: 300, cacheTtlMs: 60_000, errorCacheTtlMs: 0, refreshAheadMs: 10_000, refreshBucketMs: 5_000, keyPrefix: uniquePrefix('trust'), ...options },
    { cache, http, now, tenantPdpUrl: async (id) => tenants[id], ...(metrics ? { metrics } : {}) },
  );
}

function evaluatorSuite(driver: string, openCache: () => Promise<Cache>) {
  describe(`TrustEvaluator (${driver} cache)`, () => {
    let cache: Cache;
    beforeAll(async () => {
      cache = await openCache();
    });
    afterAll(async () => {
      await cache.close();
    });

    it('asks the discovered PDP endpoint in the AuthZEN trust shape, and caches the answer', async () => {
      defaultPdp.trusts.add('https://issuer.example');
      const evaluator = makeEvaluator(cache);
      const first = await evaluator.evaluate(issuerQuery('acme', 'https://issuer.example', jwk));
      expect(first).toMatchObject({ trusted: true, source: 'pdp', cached: false, pdp: defaultPdp.url, reason: 'PDP decision: trusted' });
      expect(defaultPdp.calls).toEqual([
        {
          path: '/access/v1/evaluation',
          body: {
            subject: { type: 'key', id: 'https://issuer.example' },
            resource: { type: 'jwk', id: 'https://issuer.example', key: [jwk] },
            action: { name: 'credential-issuer', parameters: { credential_types: ['urn:eudi:pid:1'] } },
          },
        },
      ]);
      const second = await evaluator.evaluate(issuerQuery('acme', 'https://issuer.example', jwk));
      expect(second).toMatchObject({ trusted: true, source: 'pdp', cached: true, evaluatedAt: first.evaluatedAt });
      expect(defaultPdp.calls).toHaveLength(1);
      // Another key for the same entity is another question.
      await evaluator.evaluate(issuerQuery('acme', 'https://issuer.example', await publicJwk()));
      expect(defaultPdp.calls).toHaveLength(2);
    });

    it('sends x5c chains, and refuses private keys and non-certificates', async () => {
      defaultPdp.trusts.add('https://verifier.example');
      const evaluator = makeEvaluator(cache);
      const decision = await evaluator.evaluate({
        tenantId: 'acme',
        entityId: 'https://verifier.example',
        role: 'credential-verifier',
        key: { type: 'x5c', x5c: [CERT] },
      });
      expect(decision.trusted).toBe(true);
      expect(defaultPdp.calls[0]!.body).toEqual({
        subject: { type: 'key', id: 'https://verifier.example' },
        resource: { type: 'x5c', id: 'https://verifier.example', key: [CERT] },
        action: { name: 'credential-verifier' },
      });
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      await expect(evaluator.evaluate(issuerQuery('acme', 'https://issuer.example', { ...(await exportJWK(privateKey)) }))).rejects.toMatchObject({
        code: 'validation_failed',
      });
      await expect(
        evaluator.evaluate({ tenantId: 'acme', entityId: 'x', role: 'credential-verifier', key: { type: 'x5c', x5c: ['AAAA'] } }),
      ).rejects.toMatchObject({ code: 'validation_failed', details: { issues: [{ path: '/key/x5c/0', message: 'not an X.509 certificate' }] } });
      expect(defaultPdp.calls).toHaveLength(1);
    });

    it('uses the tenant PDP over the default, falls back to /evaluation without discovery, and `none` disables trust', async () => {
      defaultPdp.trusts.add('https://issuer.example');
      const evaluator = makeEvaluator(cache, {}, { strict: tenantPdp.url, open: 'none' });
      const strict = await evaluator.evaluate(issuerQuery('strict', 'https://issuer.example', jwk));
      expect(strict).toMatchObject({ trusted: false, source: 'pdp', pdp: tenantPdp.url });
      expect(strict.reason).toBe('PDP decision: not trusted ({"403":"unknown issuer"})');
      expect(tenantPdp.calls.map((c) => c.path)).toEqual(['/evaluation']);
      const acme = await evaluator.evaluate(issuerQuery('acme', 'https://issuer.example', jwk));
      expect(acme.trusted).toBe(true);
      const open = await evaluator.evaluate(issuerQuery('open', 'https://unknown.example', jwk));
      expect(open).toMatchObject({ trusted: true, source: 'disabled', reason: 'trust evaluation is disabled for this tenant' });
    });

    it('fails closed with the reason: PDP down, HTTP 500, not an AuthZEN answer, too slow, none configured', async () => {
      const down = makeEvaluator(cache, { pdpUrl: 'http://127.0.0.1:1' });
      const decision = await down.evaluate(issuerQuery('acme', 'https://issuer.example', jwk));
      expect(decision).toMatchObject({ trusted: false, source: 'error' });
      expect(decision.reason).toMatch(/^not trusted: the PDP could not be asked/);

      defaultPdp.trusts.add('https://issuer.example');
      const cases: Array<[Pdp['mode'], RegExp]> = [
        ['error500', /HTTP 500/],
        ['garbage', /not an AuthZEN decision/],
        ['slow', /not trusted: the PDP could not be asked/],
      ];
      for (const [mode, reason] of cases) {
        defaultPdp.mode = mode;
        const result = await makeEvaluator(cache).evaluate(issuerQuery('acme', 'https://issuer.example', jwk));
        expect([mode, result.trusted, result.source]).toEqual([mode, false, 'error']);
        expect(result.reason).toMatch(reason);
      }
      const none = makeEvaluator(cache, { pdpUrl: undefined });
      expect(await none.evaluate(issuerQuery('acme', 'https://issuer.example', jwk))).toMatchObject({
        trusted: false,
        source: 'error',
        reason: 'no trust policy decision point is configured',
      });
    });

    it('fails closed on a malformed tenant PDP URL, and treats a corrupt cached value as a miss', async () => {
      defaultPdp.trusts.add('https://issuer.example');
      const broken = makeEvaluator(cache, {}, { typo: 'pdp.example.com/no-scheme' });
      expect(await broken.evaluate(issuerQuery('typo', 'https://issuer.example', jwk))).toMatchObject({
        trusted: false,
        source: 'error',
        reason: "not trusted: the tenant's PDP URL is not an http(s) URL",
      });
      const keyPrefix = uniquePrefix('trust');
      const evaluator = makeEvaluator(cache, { keyPrefix });
      await evaluator.evaluate(issuerQuery('acme', 'https://issuer.example', jwk));
      // Overwrite every decision under this prefix with garbage: the next read must ask the PDP again.
      const tp = await keyThumbprint({ type: 'jwk', jwk });
      const fresh = makeEvaluator(cache, { keyPrefix });
      // The key layout is private; reach it the way the evaluator computes it.
      const cacheKey = await (fresh as unknown as { cacheKey(q: TrustQuery, url: string): Promise<string> }).cacheKey(
        issuerQuery('acme', 'https://issuer.example', jwk),
        defaultPdp.url,
      );
      expect(cacheKey.endsWith(tp)).toBe(true);
      await cache.set(cacheKey, '{not json');
      expect(await fresh.evaluate(issuerQuery('acme', 'https://issuer.example', jwk))).toMatchObject({ trusted: true, cached: false });
      expect(defaultPdp.calls).toHaveLength(2);
    });

    it('caches a failure only for errorCacheTtlMs, so a recovered PDP is asked again', async () => {
      defaultPdp.trusts.add('https://issuer.example');
      defaultPdp.mode = 'error500';
      const evaluator = makeEvaluator(cache, { errorCacheTtlMs: 1_000 });
      expect((await evaluator.evaluate(issuerQuery('acme', 'https://issuer.example', jwk))).trusted).toBe(false);
      defaultPdp.mode = 'ok';
      expect(await evaluator.evaluate(issuerQuery('acme', 'https://issuer.example', jwk))).toMatchObject({ trusted: false, cached: true });
      clock += 1_500;
      if (driver === 'redis') await new Promise((r) => setTimeout(r, 1_100));
      expect(await evaluator.evaluate(issuerQuery('acme', 'https://issuer.example', jwk))).toMatchObject({ trusted: true, cached: false });
    });

    it('deduplicates concurrent evaluations of the same key into one PDP call', async () => {
      defaultPdp.trusts.add('https://issuer.example');
      const evaluator = makeEvaluator(cache);
      const results = await Promise.all(Array.from({ length: 25 }, () => evaluator.evaluate(issuerQuery('acme', 'https://issuer.example', jwk))));
      expect(results.every((r) => r.trusted)).toBe(true);
      expect(defaultPdp.calls).toHaveLength(1);
    });

    it('shares decisions between evaluators (replicas) through the cache', async () => {
      defaultPdp.trusts.add('https://issuer.example');
      const keyPrefix = uniquePrefix('trust');
      await makeEvaluator(cache, { keyPrefix }).evaluate(issuerQuery('acme', 'https://issuer.example', jwk));
      const other = await makeEvaluator(cache, { keyPrefix }).evaluate(issuerQuery('acme', 'https://issuer.example', jwk));
      expect(other).toMatchObject({ trusted: true, cached: true });
      expect(defaultPdp.calls).toHaveLength(1);
    });

    it('the refresh job of another process (the admin job runner) refreshes what the registry cached', async () => {
      defaultPdp.trusts.add('https://issuer.example');
      const keyPrefix = uniquePrefix('trust');
      const registrySide = makeEvaluator(cache, { keyPrefix });
      const adminSide = new TrustRefreshJob(makeEvaluator(cache, { keyPrefix }));
      await registrySide.evaluate(issuerQuery('acme', 'https://issuer.example', jwk));
      clock += 55_000;
      expect(await adminSide.run()).toEqual({ refreshed: 1 });
      expect(defaultPdp.calls).toHaveLength(2);
    });

    it('the refresh job re-evaluates decisions close to expiry and keeps them when the PDP is down', async () => {
      defaultPdp.trusts.add('https://issuer.example');
      const evaluator = makeEvaluator(cache, { cacheTtlMs: 60_000, refreshAheadMs: 10_000 });
      const job = new TrustRefreshJob(evaluator);
      const first = await evaluator.evaluate(issuerQuery('acme', 'https://issuer.example', jwk));
      expect(await job.run()).toEqual({ refreshed: 0 }); // far from expiry
      clock += 55_000;
      expect(await job.run()).toEqual({ refreshed: 1 });
      expect(defaultPdp.calls).toHaveLength(2);
      const after = await evaluator.evaluate(issuerQuery('acme', 'https://issuer.example', jwk));
      expect(after.cached).toBe(true);
      expect(Date.parse(after.expiresAt)).toBeGreaterThan(Date.parse(first.expiresAt));
      expect(await job.run()).toEqual({ refreshed: 0 }); // the bucket was taken
      clock += 55_000;
      defaultPdp.mode = 'error500';
      expect(await job.run()).toEqual({ refreshed: 0 });
      expect(await evaluator.evaluate(issuerQuery('acme', 'https://issuer.example', jwk))).toMatchObject({ trusted: true, cached: true });
    });
  });
}

evaluatorSuite('memory', async () => createCache({ type: 'memory' }, { now }));

let redis: RedisHandle | undefined;
describeIfAvailable('trust evaluator on redis', redisAvailable(), 'no REDIS_URL and no redis-server')('with redis', () => {
  afterAll(async () => {
    await redis?.stop();
  });
  evaluatorSuite('redis', async () => {
    redis = await startRedis();
    return createCache({ type: 'redis', url: redis.url });
  });
});

describe('static policies and metrics', () => {
  it('always, never and allow-list (optionally per role) answer without a PDP', async () => {
    const cache = await createCache({ type: 'memory' });
    const always = makeEvaluator(cache, { policy: 'always', pdpUrl: undefined });
    expect(await always.evaluate(issuerQuery('acme', 'https://any.example', jwk))).toMatchObject({ trusted: true, source: 'static' });
    const never = makeEvaluator(cache, { policy: 'never', pdpUrl: undefined });
    expect(await never.evaluate(issuerQuery('acme', 'https://any.example', jwk))).toMatchObject({ trusted: false, source: 'static' });
    const listed = makeEvaluator(cache, {
      policy: 'allowList',
      allowList: ['https://issuer.example', 'credential-verifier https://rp.example'],
    });
    expect((await listed.evaluate(issuerQuery('acme', 'https://issuer.example', jwk))).trusted).toBe(true);
    expect((await listed.evaluate(issuerQuery('acme', 'https://rp.example', jwk))).trusted).toBe(false);
    expect((await listed.evaluate({ ...issuerQuery('acme', 'https://rp.example', jwk), role: 'credential-verifier' })).trusted).toBe(true);
    expect(defaultPdp.calls).toHaveLength(0);
    await cache.close();
  });

  it('counts decisions and PDP latency', async () => {
    const cache = await createCache({ type: 'memory' });
    const registry = new Registry();
    defaultPdp.trusts.add('https://issuer.example');
    const evaluator = makeEvaluator(cache, {}, {}, registry);
    await evaluator.evaluate(issuerQuery('acme', 'https://issuer.example', jwk));
    await evaluator.evaluate(issuerQuery('acme', 'https://issuer.example', jwk));
    const text = await registry.metrics();
    expect(text).toContain('trust_decisions_total{source="pdp",trusted="true",cached="false"} 1');
    expect(text).toContain('trust_decisions_total{source="pdp",trusted="true",cached="true"} 1');
    expect(text).toMatch(/trust_pdp_request_duration_seconds_count\{outcome="decision"\} 1/);
    await cache.close();
  });
});
