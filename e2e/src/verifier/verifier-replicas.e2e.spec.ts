import {
  createTestPki,
  createTestSdJwtHolder,
  createTestSdJwtIssuer,
  describeIfAvailable,
  redisAvailable,
  startBuiltApp,
  startRedis,
  uniquePrefix,
  type RedisHandle,
  type ServiceProcess,
  type TestPki,
} from '@wallet/testing';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_CALLBACK, ISSUER, PID, PUBLIC, runWallet, servicesYaml } from './verifier-fixtures';

const describeRedis = describeIfAvailable('verifier-replicas:redis', redisAvailable(), 'set REDIS_URL or put redis-server on PATH');

describeRedis('two verifier replicas sharing Redis and the store', () => {
  let redis: RedisHandle;
  let replicas: ServiceProcess[];
  let dir: string;
  let issuerPki: TestPki;

  beforeAll(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'wallet-verifier-replicas-'));
    issuerPki = createTestPki({ leafSan: `URI:${ISSUER}` });
    const env = {
      WALLET_VERIFIER_PUBLIC_URL: PUBLIC,
      WALLET_VERIFIER_SERVICES_FILE: servicesYaml(dir, issuerPki.rootPem),
      WALLET_VERIFIER_TRUSTED_ROOTS_FILE: join(dir, 'roots.pem'),
      WALLET_STORAGE_SQLITE_PATH: join(dir, 'wallet.db'),
      WALLET_CACHE_TYPE: 'redis',
      WALLET_CACHE_REDIS_URL: redis.url,
      WALLET_CACHE_REDIS_KEY_PREFIX: uniquePrefix('verifier-replicas'),
    };
    // One after the other, so the second finds the key rings the first created.
    replicas = [await startBuiltApp('verifier', env)];
    replicas.push(await startBuiltApp('verifier', env));
  });

  afterAll(async () => {
    await Promise.all((replicas ?? []).map((r) => r.stop('SIGTERM')));
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('completes a flow whatever replica each request reaches, and the login page hears the answer on the other replica', async () => {
    const [a, b] = replicas.map((r) => r.servers.get('verifier')!) as [string, string];
    const issuer = await createTestSdJwtIssuer(ISSUER, { privateJwk: issuerPki.leafPrivateJwk, x5c: issuerPki.x5c });
    const holder = await createTestSdJwtHolder();
    const credential = await issuer.issue(
      { given_name: 'Erika', address: { country: 'AT' } },
      { _sd: ['given_name', 'address'], address: { _sd: ['country'] } },
      { vct: PID, holderJwk: holder.publicJwk },
    );

    // Both replicas publish the same keys.
    const jwksA = await (await fetch(`${a}/.well-known/jwks`)).json();
    expect(await (await fetch(`${b}/.well-known/jwks`)).json()).toEqual(jwksA);

    // The session starts on A; the login page's event stream is open on A.
    const started = await fetch(`${a}/api/v1/startsiop?client_id=shop&state=r-1&client_callback=${encodeURIComponent(APP_CALLBACK)}`);
    const walletUrl = await started.text();
    const sessionId = started.headers.get('x-session-id')!;
    const events = await fetch(`${a}/api/v1/sessions/${sessionId}/events`);
    expect(events.headers.get('content-type')).toContain('text/event-stream');
    const eventText = events.text();

    // The wallet fetches the request object from B and posts its response to A.
    const result = await runWallet({
      walletUrl,
      credential,
      holderPrivateJwk: holder.privateJwk,
      disclose: { given_name: true, address: { country: true } },
      hostMap: { [`${PUBLIC}/api/v1/request/`]: `${b}/api/v1/request/`, [PUBLIC]: a },
    });
    expect(result).toMatchObject({ status: 200 });

    const message = await eventText;
    const data = JSON.parse(message.split('\n').find((line) => line.startsWith('data: '))!.slice('data: '.length)) as Record<string, unknown>;
    expect(data['status']).toBe('answered');
    const code = new URL(String(data['redirectTo'])).searchParams.get('code')!;

    // The code is exchanged on B; the JWT verifies against A's JWKS. A second exchange on A fails.
    const token = await fetch(`${b}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: APP_CALLBACK }),
    });
    expect(token.status).toBe(200);
    const body = (await token.json()) as { access_token: string };
    const { payload } = await jwtVerify(body.access_token, createLocalJWKSet(jwksA as JSONWebKeySet), { audience: 'shop' });
    expect(payload).toMatchObject({ first_name: 'Erika', country: 'AT' });
    const again = await fetch(`${a}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code }),
    });
    expect(again.status).toBe(400);
  });
  it('grants across replicas: a nonce from A is taken on B once; refresh tokens rotate across replicas and a reuse on either revokes the family', async () => {
    const [a, b] = replicas.map((r) => r.servers.get('verifier')!) as [string, string];
    const issuer = await createTestSdJwtIssuer(ISSUER, { privateJwk: issuerPki.leafPrivateJwk, x5c: issuerPki.x5c });
    const holder = await createTestSdJwtHolder();
    const credential = await issuer.issue(
      { given_name: 'Erika', address: { country: 'AT' } },
      { _sd: ['given_name', 'address'], address: { _sd: ['country'] } },
      { vct: PID, holderJwk: holder.publicJwk },
    );
    const post = async (origin: string, path: string, params: Record<string, string> = {}) => {
      const response = await fetch(`${origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) });
      return { status: response.status, body: (await response.json()) as Record<string, string> };
    };
    const { c_nonce } = (await post(a, '/services/shop/nonce')).body as { c_nonce: string };
    const vpToken = JSON.stringify({ pid: [await holder.present(credential, { given_name: true, address: { country: true } }, { nonce: c_nonce, aud: 'shop' })] });
    const [first, second] = await Promise.all([
      post(b, '/services/shop/token', { grant_type: 'vp_token', vp_token: vpToken }),
      post(a, '/services/shop/token', { grant_type: 'vp_token', vp_token: vpToken }),
    ]);
    expect([first.status, second.status].sort()).toEqual([200, 400]);
    const r1 = (first.status === 200 ? first : second).body['refresh_token']!;
    const rotated = await post(a, '/services/shop/token', { grant_type: 'refresh_token', refresh_token: r1 });
    expect(rotated.status).toBe(200);
    const r2 = rotated.body['refresh_token']!;
    expect(await post(b, '/services/shop/token', { grant_type: 'refresh_token', refresh_token: r1 })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await post(a, '/services/shop/token', { grant_type: 'refresh_token', refresh_token: r2 })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });
});
