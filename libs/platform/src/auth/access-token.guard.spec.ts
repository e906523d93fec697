import { Controller, Get, Module } from '@nestjs/common';
import { createCache } from '@wallet/cache';
import { loadConfig, type WalletConfig } from '@wallet/config';
import { openServiceKeyRing } from '../keys/service-key-ring';
import type { Runtime } from '../bootstrap/runtime';
import { generateSigningKey, signJwt, type KeyRing } from '@wallet/crypto';
import { GLOBAL_SCOPE } from '@wallet/domain';
import { Collections, createStore } from '@wallet/persistence';
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createServiceApp, type RunningService } from '../bootstrap/create-service-app';
import { ensureDefaultTenant } from '../bootstrap/runtime';
import { RateLimit } from '../rate-limit/rate-limit.decorator';
import { ACCESS_TOKEN_KEY_PURPOSE } from './access-token-keys';
import { AccessTokenRevocations } from './token-revocations';
import { Public } from './public.decorator';
import { CurrentPrincipal, CurrentTenant, type Principal } from './request-context';

@Controller('probe')
class ProbeController {
  @Public()
  @Get('public')
  open(@CurrentTenant() tenant: string): { tenant: string } {
    return { tenant };
  }

  @Get('me')
  me(@CurrentPrincipal() principal: Principal, @CurrentTenant() tenant: string): { principal: Principal; tenant: string } {
    return { principal, tenant };
  }

  @Public()
  @RateLimit({ bucket: 'probe', rule: { limit: 3, windowMs: 60_000 } })
  @Get('limited')
  limited(): { ok: true } {
    return { ok: true };
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

const ISSUER = 'urn:test:auth';
const AUDIENCE = 'urn:test:api';

function testConfig(env: Record<string, string> = {}): WalletConfig {
  return loadConfig({
    argv: [],
    env: {
      WALLET_STORAGE_TYPE: 'memory',
      WALLET_SERVER_HOST: '127.0.0.1',
      WALLET_LOGGING_LEVEL: 'silent',
      WALLET_AUTH_ISSUER: ISSUER,
      WALLET_AUTH_AUDIENCE: AUDIENCE,
      WALLET_AUTH_JWKS_REFRESH_MIN_INTERVAL_MS: '200',
      ...env,
    },
  }).config;
}

async function startProbe(config: WalletConfig) {
  const store = await createStore({ type: 'memory' });
  await ensureDefaultTenant(store);
  const tenants = store.repository(Collections.tenants);
  const base = { requireInvite: false, trustConfig: {}, allowedProtocols: [] };
  await tenants.create(GLOBAL_SCOPE, { id: 'acme', displayName: 'Acme', enabled: true, ...base });
  await tenants.create(GLOBAL_SCOPE, { id: 'off', displayName: 'Off', enabled: false, ...base });
  const runtime: Runtime = { config, store, cache: await createCache({ type: 'memory' }), logger: pino({ level: 'silent' }) };
  const server = await createServiceApp({ info: { name: 'probe', services: [] }, imports: [ProbeModule], runtime, port: 0 });
  return { server, runtime };
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(server: RunningService, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${server.url}${path}`, { headers });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

const b64u = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('AccessTokenGuard, tenancy and rate limits', () => {
  let server: RunningService;
  let runtime: Runtime;
  let ring: KeyRing;

  const claims = (overrides: Record<string, unknown> = {}) => ({
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    tenant: 'default',
    jti: randomUUID(),
    ...overrides,
  });
  const token = (overrides: Record<string, unknown> = {}, typ = 'at+jwt', ttl = 300) =>
    ring.sign(claims(overrides), { typ, expiresInSeconds: ttl });
  const bearer = (value: string) => ({ authorization: `Bearer ${value}` });

  beforeAll(async () => {
    ({ server, runtime } = await startProbe(testConfig()));
    ring = await openServiceKeyRing(runtime.store, runtime.config, ACCESS_TOKEN_KEY_PURPOSE);
  });
  afterAll(async () => {
    await server.close();
    await runtime.store.close();
    await runtime.cache.close();
  });

  describe('tenant resolution', () => {
    it('serves the default tenant, a /t/{tenant} prefix, or X-Tenant-ID, on routes declared once', async () => {
      expect((await call(server, '/probe/public')).body).toEqual({ tenant: 'default' });
      expect((await call(server, '/t/acme/probe/public')).body).toEqual({ tenant: 'acme' });
      expect((await call(server, '/probe/public', { 'x-tenant-id': 'acme' })).body).toEqual({ tenant: 'acme' });
      expect((await call(server, '/t/acme/probe/public?x=1', { 'x-tenant-id': 'acme' })).body).toEqual({ tenant: 'acme' });
    });

    it('answers unknown and disabled tenants alike with a 404 problem', async () => {
      for (const answer of [
        await call(server, '/t/nope/probe/public'),
        await call(server, '/t/off/probe/public'),
        await call(server, '/probe/public', { 'x-tenant-id': 'nope' }),
      ]) {
        expect(answer.status).toBe(404);
        expect(answer.headers.get('content-type')).toContain('application/problem+json');
        expect(answer.body).toMatchObject({ code: 'not_found' });
        expect(String(answer.body['detail'])).toMatch(/^tenant "(nope|off)" not found$/);
      }
    });

    it('refuses a malformed X-Tenant-ID (400) and a path and header that disagree (403)', async () => {
      const bad = await call(server, '/probe/public', { 'x-tenant-id': 'Not A Tenant' });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ code: 'validation_failed' });
      const mismatch = await call(server, '/t/acme/probe/public', { 'x-tenant-id': 'default' });
      expect(mismatch.status).toBe(403);
      expect(mismatch.body).toMatchObject({ code: 'tenant_mismatch' });
    });
  });

  describe('access tokens', () => {
    it('requires a token on routes that are not @Public', async () => {
      const answer = await call(server, '/probe/me');
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ code: 'token_required', status: 401 });
      expect((await call(server, '/probe/me', { authorization: 'Basic dXNlcjpwYXNz' })).status).toBe(401);
    });

    it('gives the route the verified principal, and the token tenant wins', async () => {
      const jti = randomUUID();
      const answer = await call(server, '/probe/me', bearer(await token({ jti, tenant: 'acme', scope: 'vault' })));
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ tenant: 'acme', principal: { tenantId: 'acme', userId: 'user-1', jti, scope: 'vault' } });
      const samePath = await call(server, '/t/acme/probe/me', bearer(await token({ tenant: 'acme' })));
      expect(samePath.body).toMatchObject({ tenant: 'acme' });
    });

    it('refuses a token for one tenant sent to another (403 tenant_mismatch) and tokens of disabled tenants (404)', async () => {
      const acme = await token({ tenant: 'acme' });
      for (const answer of [
        await call(server, '/t/default/probe/me', bearer(acme)),
        await call(server, '/probe/me', { ...bearer(acme), 'x-tenant-id': 'default' }),
        await call(server, '/t/nope/probe/me', bearer(acme)),
      ]) {
        expect(answer.status).toBe(403);
        expect(answer.body).toMatchObject({ code: 'tenant_mismatch' });
      }
      const off = await call(server, '/probe/me', bearer(await token({ tenant: 'off' })));
      expect(off.status).toBe(404);
    });

    it('refuses expired tokens and wrong issuer, audience or type', async () => {
      const past = Math.floor(Date.now() / 1000) - 3600;
      const expired = await signWithRing(ring, runtime, claims({ iat: past }), { typ: 'at+jwt', issuedAt: past, expiresInSeconds: 60 });
      const cases: Array<[string, string]> = [
        [expired, 'token_expired'],
        [await token({ aud: 'urn:other' }), 'invalid_token'],
        [await token({ iss: 'urn:other' }), 'invalid_token'],
        [await token({}, 'JWT'), 'invalid_token'],
        [await token({ tenant: undefined }), 'invalid_token'],
      ];
      for (const [value, code] of cases) {
        const answer = await call(server, '/probe/me', bearer(value));
        expect(answer.status).toBe(401);
        expect(answer.body).toMatchObject({ code });
        expect(JSON.stringify(answer.body)).not.toContain(value.split('.')[2]);
      }
    });

    it('refuses alg none, HMAC with the public key as secret, a forged signature and an unpublished key', async () => {
      const jwk = ring.jwks().keys[0]!;
      const header = { alg: 'none', typ: 'at+jwt', kid: jwk.kid };
      const payload = { ...claims(), iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 300 };
      const none = `${b64u(header)}.${b64u(payload)}.`;
      const hsInput = `${b64u({ ...header, alg: 'HS256' })}.${b64u(payload)}`;
      const hmac = `${hsInput}.${createHmac('sha256', JSON.stringify(jwk)).update(hsInput).digest('base64url')}`;
      const valid = await token();
      const [h, p] = valid.split('.');
      const forged = `${h}.${b64u({ ...payload, sub: 'someone-else' })}.${valid.split('.')[2]}`;
      const stranger = await generateSigningKey('ES256');
      const { importJWK } = await import('jose');
      const unknownKey = await signJwt({
        payload: claims(),
        key: (await importJWK(stranger.privateJwk, 'ES256')) as never,
        kid: stranger.kid,
        alg: 'ES256',
        typ: 'at+jwt',
        expiresInSeconds: 300,
      });
      for (const value of [none, hmac, forged, unknownKey, `${h}.${p}`, 'not-a-jwt']) {
        const answer = await call(server, '/probe/me', bearer(value));
        expect(answer.status).toBe(401);
        expect(answer.body).toMatchObject({ code: 'invalid_token' });
      }
    });

    it('never accepts a bearer token in the query string, even beside a valid header', async () => {
      const value = await token();
      const answer = await call(server, `/probe/me?access_token=${value}`, bearer(value));
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ code: 'validation_failed' });
      expect(JSON.stringify(answer.body)).not.toContain(value);
      expect((await call(server, `/probe/public?access_token=${value}`)).status).toBe(400);
    });

    it('refuses revoked tokens: one by jti, and every token a user held before a user-wide revocation', async () => {
      const revocations = server.app.get(AccessTokenRevocations);
      const jti = randomUUID();
      const one = await token({ jti, sub: 'user-r1' });
      const other = await token({ sub: 'user-r1' });
      expect((await call(server, '/probe/me', bearer(one))).status).toBe(200);
      await revocations.revokeToken(jti, Math.floor(Date.now() / 1000) + 300);
      const revoked = await call(server, '/probe/me', bearer(one));
      expect(revoked.status).toBe(401);
      expect(revoked.body).toMatchObject({ code: 'token_revoked' });
      expect((await call(server, '/probe/me', bearer(other))).status).toBe(200);

      const before = await token({ sub: 'user-r2' });
      await revocations.revokeUser('default', 'user-r2');
      expect((await call(server, '/probe/me', bearer(before))).body).toMatchObject({ code: 'token_revoked' });
      const later = Math.floor(Date.now() / 1000) + 2;
      const after = await signWithRing(ring, runtime, claims({ sub: 'user-r2' }), { typ: 'at+jwt', issuedAt: later, expiresInSeconds: 300 });
      expect((await call(server, '/probe/me', bearer(after))).status).toBe(200);
      const sid = randomUUID();
      const inSession = await token({ sub: 'user-r3', sid });
      const otherSession = await token({ sub: 'user-r3', sid: randomUUID() });
      await revocations.revokeSession('default', sid);
      expect((await call(server, '/probe/me', bearer(inSession))).body).toMatchObject({ code: 'token_revoked' });
      expect((await call(server, '/probe/me', bearer(otherSession))).status).toBe(200);
      // Revocation is per tenant: the same user id in another tenant is another account.
      expect((await call(server, '/probe/me', bearer(await token({ sub: 'user-r2', tenant: 'acme' })))).status).toBe(200);
    });

    it('picks up a rotated key on the first token that names it', async () => {
      const oldToken = await token();
      await ring.rotate();
      await new Promise((r) => setTimeout(r, 250)); // past the reload rate limit
      const answer = await call(server, '/probe/me', bearer(await token()));
      expect(answer.status).toBe(200);
      // The retired key stays published, so tokens it signed still verify.
      expect((await call(server, '/probe/me', bearer(oldToken))).status).toBe(200);
    });
  });

  describe('rate limits', () => {
    it('refuses past the limit with 429, Retry-After and a problem document', async () => {
      const statuses: number[] = [];
      let last: Answer | null = null;
      for (let i = 0; i < 5; i++) {
        last = await call(server, '/probe/limited');
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(last!.body).toMatchObject({ code: 'rate_limited', status: 429 });
    });
  });
});

describe('AccessTokenGuard with a remote JWKS (auth in another process)', () => {
  let jwksServer: Server;
  let fetches = 0;
  let signer: { runtime: Runtime; ring: KeyRing };
  let probe: { server: RunningService; runtime: Runtime };

  beforeAll(async () => {
    // The "auth" side: a store with the key ring, and its JWKS over HTTP.
    const config = testConfig();
    const store = await createStore({ type: 'memory' });
    const runtime: Runtime = { config, store, cache: await createCache({ type: 'memory' }), logger: pino({ level: 'silent' }) };
    signer = { runtime, ring: await openServiceKeyRing(store, config, ACCESS_TOKEN_KEY_PURPOSE) };
    jwksServer = createServer((_req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(signer.ring.jwks()));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    const { port } = jwksServer.address() as AddressInfo;
    probe = await startProbe(testConfig({ WALLET_AUTH_JWKS_URL: `http://127.0.0.1:${port}/auth/.well-known/jwks.json`, WALLET_AUTH_JWKS_REFRESH_MIN_INTERVAL_MS: '60000' }));
  });
  afterAll(async () => {
    await probe.server.close();
    await new Promise((r) => jwksServer.close(r));
  });

  it('verifies against the fetched JWKS and does not refetch for every unknown kid', async () => {
    const value = await signer.ring.sign(
      { iss: ISSUER, aud: AUDIENCE, sub: 'remote-user', tenant: 'acme', jti: randomUUID() },
      { typ: 'at+jwt', expiresInSeconds: 300 },
    );
    const answer = await call(probe.server, '/probe/me', bearer(value));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ principal: { userId: 'remote-user', tenantId: 'acme' } });
    expect(fetches).toBe(1);

    const [, p, s] = value.split('.');
    for (let i = 0; i < 10; i++) {
      const invented = `${b64u({ alg: 'ES256', typ: 'at+jwt', kid: `invented-${i}` })}.${p}.${s}`;
      expect((await call(probe.server, '/probe/me', bearer(invented))).status).toBe(401);
    }
    // Each new kid may trigger one fetch, but at most 3 (the burst) per interval.
    expect(fetches).toBe(4);
    expect((await call(probe.server, '/probe/me', bearer(value))).status).toBe(200);
  });

  function bearer(value: string) {
    return { authorization: `Bearer ${value}` };
  }
});

/** Signs with the ring's active key but a chosen `iat` (the ring itself always uses its clock). */
async function signWithRing(
  ring: KeyRing,
  runtime: Runtime,
  payload: Record<string, unknown>,
  options: { typ: string; issuedAt: number; expiresInSeconds: number },
): Promise<string> {
  const timed = await openServiceKeyRing(runtime.store, runtime.config, ACCESS_TOKEN_KEY_PURPOSE, () => new Date(options.issuedAt * 1000));
  expect(timed.activeKid).toBe(ring.activeKid);
  return timed.sign(payload, { typ: options.typ, expiresInSeconds: options.expiresInSeconds });
}
