import {
  createTestPki,
  createTestSdJwtHolder,
  createTestSdJwtIssuer,
  PasskeyTestClient,
  startBuiltApp,
  type ServiceProcess,
  type TestPki,
} from '@wallet/testing';
import { compactVerify, createLocalJWKSet, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, type JSONWebKeySet, type JWK } from 'jose';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_CALLBACK, ISSUER, PID, PUBLIC, servicesYaml } from './verifier/verifier-fixtures';

/**
 * Two replicas of a service started at the same moment on one fresh store
 * (SQLite file, nothing in it), again and again: they create the signing keys
 * once between them, serve the same JWKS, and what either signs verifies
 * against the other's keys. Before key rings were compare-and-set, each
 * replica could create (and sign with) a key of its own.
 */

const ROUNDS = 5;

const jwksOf = async (url: string): Promise<JSONWebKeySet> => {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return (await response.json()) as JSONWebKeySet;
};

async function startPair(app: string, env: Record<string, string>): Promise<[ServiceProcess, ServiceProcess]> {
  const started = await Promise.allSettled([startBuiltApp(app, env), startBuiltApp(app, env)]);
  const up = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (up.length < 2) {
    await Promise.all(up.map((p) => p.stop()));
    throw (started.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason;
  }
  return up as [ServiceProcess, ServiceProcess];
}

describe('signing keys of replicas started together on a fresh store', () => {
  let issuerPki: TestPki;

  beforeAll(() => {
    issuerPki = createTestPki({ leafSan: `URI:${ISSUER}` });
  });

  it(`verifier: request objects and tokens of either replica verify against the other's keys (${ROUNDS} fresh stores)`, async () => {
    const issuer = await createTestSdJwtIssuer(ISSUER, { privateJwk: issuerPki.leafPrivateJwk, x5c: issuerPki.x5c });
    const holder = await createTestSdJwtHolder();
    const credential = await issuer.issue(
      { given_name: 'Erika', address: { country: 'AT' } },
      { _sd: ['given_name', 'address'], address: { _sd: ['country'] } },
      { vct: PID, holderJwk: holder.publicJwk },
    );
    for (let round = 0; round < ROUNDS; round++) {
      const dir = mkdtempSync(join(tmpdir(), 'wallet-key-rings-verifier-'));
      let replicas: ServiceProcess[] = [];
      try {
        replicas = await startPair('verifier', {
          WALLET_VERIFIER_PUBLIC_URL: PUBLIC,
          WALLET_VERIFIER_SERVICES_FILE: servicesYaml(dir, issuerPki.rootPem),
          WALLET_VERIFIER_TRUSTED_ROOTS_FILE: join(dir, 'roots.pem'),
          WALLET_STORAGE_SQLITE_PATH: join(dir, 'wallet.db'),
        });
        const origins = replicas.map((r) => r.servers.get('verifier')!);
        const jwks = await Promise.all(origins.map((o) => jwksOf(`${o}/.well-known/jwks`)));
        expect(jwks[1]).toEqual(jwks[0]);
        expect(jwks[0]!.keys).toHaveLength(1);

        // A session started on each replica: both name the same request key, and each request object
        // verifies with the key the other replica's client id names.
        const requests = await Promise.all(
          origins.map(async (origin) => {
            const started = await fetch(`${origin}/api/v1/startsiop?client_id=shop&state=r${round}&client_callback=${encodeURIComponent(APP_CALLBACK)}`);
            expect(started.status).toBe(200);
            const requestUri = new URL(await started.text()).searchParams.get('request_uri')!;
            const response = await fetch(requestUri.replace(PUBLIC, origin));
            expect(response.status).toBe(200);
            return response.text();
          }),
        );
        const clientIds = requests.map((jwt) => String(decodeJwt(jwt)['client_id']));
        expect(clientIds[1]).toBe(clientIds[0]);
        const did = clientIds[0]!.replace(/^decentralized_identifier:/, '');
        const didKey = JSON.parse(Buffer.from(did.slice('did:jwk:'.length), 'base64url').toString('utf8')) as JWK;
        for (const jwt of requests) {
          expect(decodeProtectedHeader(jwt).kid).toBe(`${did}#0`);
          await expect(compactVerify(jwt, await importJWK(didKey, 'ES256'))).resolves.toBeTruthy();
        }

        // A token from each replica verifies against the other replica's JWKS.
        for (const [i, origin] of origins.entries()) {
          const post = (path: string, params: Record<string, string> = {}) =>
            fetch(`${origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) });
          const { c_nonce } = (await (await post('/services/shop/nonce')).json()) as { c_nonce: string };
          const vpToken = JSON.stringify({ pid: [await holder.present(credential, { given_name: true, address: { country: true } }, { nonce: c_nonce, aud: 'shop' })] });
          const answer = await post('/services/shop/token', { grant_type: 'vp_token', vp_token: vpToken });
          expect(answer.status).toBe(200);
          const { access_token } = (await answer.json()) as { access_token: string };
          const other = jwks[(i + 1) % 2]!;
          const { payload } = await jwtVerify(access_token, createLocalJWKSet(other), { audience: 'shop' });
          expect(payload).toMatchObject({ first_name: 'Erika' });
        }
      } finally {
        await Promise.all(replicas.map((r) => r.stop()));
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }, 240_000);

  it(`auth: access tokens of either replica verify against the other's JWKS (${ROUNDS} fresh stores)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const dir = mkdtempSync(join(tmpdir(), 'wallet-key-rings-auth-'));
      let replicas: ServiceProcess[] = [];
      try {
        replicas = await startPair('auth', { WALLET_STORAGE_TYPE: 'sqlite', WALLET_STORAGE_SQLITE_PATH: join(dir, 'auth.db') });
        const origins = replicas.map((r) => r.servers.get('auth')!);
        const jwks = await Promise.all(origins.map((o) => jwksOf(`${o}/auth/.well-known/jwks.json`)));
        expect(jwks[1]).toEqual(jwks[0]);
        expect(jwks[0]!.keys).toHaveLength(1);
        for (const [i, origin] of origins.entries()) {
          const session = await new PasskeyTestClient({ baseUrl: origin }).registered();
          const other = jwks[(i + 1) % 2]!;
          await expect(jwtVerify(session.appToken, createLocalJWKSet(other))).resolves.toBeTruthy();
          // And the other replica accepts it.
          const info = await fetch(`${origins[(i + 1) % 2]}/user/session/account-info`, { headers: { authorization: `Bearer ${session.appToken}` } });
          expect(info.status).toBe(200);
        }
      } finally {
        await Promise.all(replicas.map((r) => r.stop()));
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }, 240_000);
});
