import {
  createTestPki,
  createTestSdJwtHolder,
  createTestSdJwtIssuer,
  startBuiltApp,
  type ServiceProcess,
  type TestPki,
  type TestSdJwtHolder,
  type TestSdJwtIssuer,
} from '@wallet/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JSONWebKeySet, type JWK, type KeyLike } from 'jose';
import { APP_CALLBACK, ISSUER, PID, PUBLIC, runWallet, servicesYaml } from './verifier-fixtures';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const VP_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:vp_token';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

describe('verifier grants: vp_token, token exchange, refresh tokens, private_key_jwt', () => {
  let verifier: ServiceProcess;
  let base: string;
  let issuerPki: TestPki;
  let issuer: TestSdJwtIssuer;
  let holder: TestSdJwtHolder;
  let credential: string;
  let clientKey: KeyLike;
  let otherKey: KeyLike;

  beforeAll(async () => {
    issuerPki = createTestPki({ leafSan: `URI:${ISSUER}` });
    issuer = await createTestSdJwtIssuer(ISSUER, { privateJwk: issuerPki.leafPrivateJwk, x5c: issuerPki.x5c });
    holder = await createTestSdJwtHolder();
    credential = await issuer.issue(
      { given_name: 'Erika', family_name: 'Mustermann', address: { country: 'DE', locality: 'Köln' } },
      { _sd: ['given_name', 'family_name', 'address'], address: { _sd: ['country', 'locality'] } },
      { vct: PID, holderJwk: holder.publicJwk },
    );
    const client = await generateKeyPair('ES256', { extractable: true });
    clientKey = client.privateKey as KeyLike;
    otherKey = (await generateKeyPair('ES256')).privateKey as KeyLike;
    const clientJwk: JWK = { ...(await exportJWK(client.publicKey)), kid: 'm2m-1', alg: 'ES256', use: 'sig' };
    const dir = mkdtempSync(join(tmpdir(), 'wallet-verifier-grants-'));
    verifier = await startBuiltApp('verifier', {
      WALLET_VERIFIER_PUBLIC_URL: PUBLIC,
      WALLET_VERIFIER_SERVICES_FILE: servicesYaml(dir, issuerPki.rootPem, {}, [
        { id: 'm2m', tokenEndpointAuthMethod: 'private_key_jwt', clientJwks: { keys: [clientJwk] }, refreshTokenTtlSeconds: 600 },
      ]),
      WALLET_VERIFIER_TRUSTED_ROOTS_FILE: join(dir, 'roots.pem'),
    });
    base = verifier.servers.get('verifier')!;
  });

  afterAll(async () => {
    await verifier?.stop('SIGTERM');
  });

  const post = async (path: string, params: Record<string, string> = {}) => {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
  };
  const nonce = async (service: string) => {
    const answer = await post(`/services/${service}/nonce`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.body['expires_in']).toEqual(expect.any(Number));
    return String(answer.body['c_nonce']);
  };
  const present = (kb: { nonce: string; aud: string }, frame: Record<string, unknown> = { given_name: true, address: { country: true } }) =>
    holder.present(credential, frame, kb);
  const dcql = (presentation: string) => JSON.stringify({ pid: [presentation] });
  const jwks = async () => createLocalJWKSet((await (await fetch(`${base}/.well-known/jwks`)).json()) as JSONWebKeySet);
  const assertion = (
    claims: Record<string, unknown> = {},
    options: { key?: KeyLike | Uint8Array; alg?: string; aud?: string; exp?: number } = {},
  ) =>
    new SignJWT({ jti: randomUUID(), ...claims })
      .setProtectedHeader({ alg: options.alg ?? 'ES256', kid: 'm2m-1' })
      .setIssuer('m2m')
      .setSubject('m2m')
      .setAudience(options.aud ?? `${PUBLIC}/services/m2m/token`)
      .setIssuedAt()
      .setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 120)
      .sign(options.key ?? clientKey);
  const clientAuth = async (jwt?: string) => ({ client_assertion_type: ASSERTION_TYPE, client_assertion: jwt ?? (await assertion()) });

  it('vp_token grant: a fresh nonce, a KB-JWT with that nonce and aud = the service id, the same token response', async () => {
    const c_nonce = await nonce('shop');
    const answer = await post('/services/shop/token', { grant_type: 'vp_token', vp_token: dcql(await present({ nonce: c_nonce, aud: 'shop' })), scope: 'openid login' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ token_type: 'Bearer', scope: 'login', refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    const { payload } = await jwtVerify(String(answer.body['access_token']), await jwks(), { audience: 'shop', issuer: `${PUBLIC}/services/shop` });
    expect(payload).toMatchObject({ first_name: 'Erika', country: 'DE', client_id: 'shop', scope: 'login' });
    expect(payload.sub).toMatch(/^urn:ietf:params:oauth:jwk-thumbprint:sha-256:/);

    // The nonce is single-use, also with a fresh presentation.
    const reused = await post('/services/shop/token', { grant_type: 'vp_token', vp_token: dcql(await present({ nonce: c_nonce, aud: 'shop' })) });
    expect(reused).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: expect.stringMatching(/nonce/) } });
  });

  it('vp_token grant: refuses a wrong nonce, another client\'s nonce, a wrong aud, an unsatisfied query and a missing client', async () => {
    const wrong = await post('/services/shop/token', { grant_type: 'vp_token', vp_token: dcql(await present({ nonce: randomBytes(32).toString('base64url'), aud: 'shop' })) });
    expect(wrong).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });

    const foreign = await nonce('shop-x509');
    const crossed = await post('/services/shop/token', { grant_type: 'vp_token', vp_token: dcql(await present({ nonce: foreign, aud: 'shop' })) });
    expect(crossed).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: expect.stringMatching(/another client/) } });

    const badAud = await post('/services/shop/token', { grant_type: 'vp_token', vp_token: dcql(await present({ nonce: await nonce('shop'), aud: `${PUBLIC}/services/shop` })) });
    expect(badAud).toMatchObject({ status: 400, body: { reason: 'audience_mismatch' } });

    const partial = await post('/services/shop/token', { grant_type: 'vp_token', vp_token: dcql(await present({ nonce: await nonce('shop'), aud: 'shop' }, { given_name: true })) });
    expect(partial).toMatchObject({ status: 400, body: { reason: 'query_not_satisfied' } });

    const noClient = await post('/token', { grant_type: 'vp_token', vp_token: dcql(await present({ nonce: await nonce('shop'), aud: 'shop' })) });
    expect(noClient).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    const noKb = await post('/services/shop/token', { grant_type: 'vp_token', vp_token: dcql(`${credential.split('~')[0]}~`) });
    expect(noKb).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('vp_token grant for a Presentation Exchange scope, with presentation_submission', async () => {
    const presentation = await present({ nonce: await nonce('shop'), aud: 'shop' });
    const submission = { id: 's-1', definition_id: 'pid-pd', descriptor_map: [{ id: 'pid', format: 'vc+sd-jwt', path: '$' }] };
    const answer = await post('/token', { grant_type: 'vp_token', client_id: 'shop', scope: 'pex', vp_token: presentation, presentation_submission: JSON.stringify(submission) });
    expect(answer.status).toBe(200);
    const { payload } = await jwtVerify(String(answer.body['access_token']), await jwks(), { audience: 'shop' });
    expect(payload).toMatchObject({ given_name: 'Erika', address: { country: 'DE' }, scope: 'pex' });
  });

  it('token exchange (RFC 8693) with a VP as subject token', async () => {
    const subject = dcql(await present({ nonce: await nonce('shop'), aud: 'shop' }));
    const wrongType = await post('/services/shop/token', { grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: 'urn:ietf:params:oauth:token-type:jwt' });
    expect(wrongType).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: expect.stringContaining(VP_TOKEN_TYPE) } });
    // The refused request did not consume the nonce: the type is checked first.
    const answer = await post('/services/shop/token', { grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: VP_TOKEN_TYPE, scope: 'whole' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', scope: 'whole' });
    expect(answer.body['refresh_token']).toBeUndefined();
    const { payload } = await jwtVerify(String(answer.body['access_token']), await jwks(), { audience: 'shop' });
    expect(payload['verifiableCredential']).toEqual([expect.objectContaining({ iss: ISSUER, vct: PID, given_name: 'Erika' })]);
    const replay = await post('/services/shop/token', { grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: VP_TOKEN_TYPE });
    expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('refresh tokens from the code flow rotate; reusing a rotated one revokes the whole family', async () => {
    const started = await fetch(`${base}/api/v1/startsiop?${new URLSearchParams({ client_id: 'shop', client_callback: APP_CALLBACK })}`);
    const walletUrl = await started.text();
    const sessionId = started.headers.get('x-session-id')!;
    const result = await runWallet({
      walletUrl,
      credential,
      holderPrivateJwk: holder.privateJwk,
      disclose: { given_name: true, address: { country: true } },
      hostMap: { [PUBLIC]: base },
    });
    expect(result.status).toBe(200);
    const status = (await (await fetch(`${base}/api/v1/sessions/${sessionId}/status`)).json()) as Record<string, unknown>;
    const code = new URL(String(status['redirectTo'])).searchParams.get('code')!;
    const first = await post('/token', { grant_type: 'authorization_code', code, redirect_uri: APP_CALLBACK });
    expect(first.status).toBe(200);
    const r1 = String(first.body['refresh_token']);

    const second = await post('/services/shop/token', { grant_type: 'refresh_token', refresh_token: r1 });
    expect(second.status).toBe(200);
    const r2 = String(second.body['refresh_token']);
    expect(r2).not.toBe(r1);
    const { payload } = await jwtVerify(String(second.body['access_token']), await jwks(), { audience: 'shop' });
    expect(payload).toMatchObject({ first_name: 'Erika', country: 'DE', scope: 'login' });

    // Another client cannot use it (and does not use it up).
    expect(await post('/services/shop-x509/token', { grant_type: 'refresh_token', refresh_token: r2 })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const third = await post('/services/shop/token', { grant_type: 'refresh_token', refresh_token: r2 });
    expect(third.status).toBe(200);
    const r3 = String(third.body['refresh_token']);
    // The vp_token grant starts families too.
    const fresh = await post('/services/shop/token', { grant_type: 'vp_token', vp_token: dcql(await present({ nonce: await nonce('shop'), aud: 'shop' })) });
    expect(fresh.status).toBe(200);

    // r1 was rotated: presenting it again revokes its family, so r3 (the live member) is refused too.
    const reuse = await post('/services/shop/token', { grant_type: 'refresh_token', refresh_token: r1 });
    expect(reuse).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: expect.stringMatching(/revoked/) } });
    expect(await post('/services/shop/token', { grant_type: 'refresh_token', refresh_token: r3 })).toMatchObject({
      status: 400,
      body: { error: 'invalid_grant', error_description: expect.stringMatching(/revoked/) },
    });
    // Another family is untouched.
    expect((await post('/services/shop/token', { grant_type: 'refresh_token', refresh_token: String(fresh.body['refresh_token']) })).status).toBe(200);
    expect(await post('/services/shop/token', { grant_type: 'refresh_token', refresh_token: 'x' })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('private_key_jwt: a signed single-use assertion authenticates the client; bad or replayed ones are 401 invalid_client', async () => {
    const grant = async (auth: Record<string, string>, path = '/services/m2m/token') =>
      post(path, { grant_type: 'vp_token', vp_token: dcql(await present({ nonce: await nonce('m2m'), aud: 'm2m' })), ...auth });
    const good = await clientAuth();
    const ok = await grant(good);
    expect(ok.status).toBe(200);
    expect(ok.body['refresh_token']).toEqual(expect.any(String));
    // At /token the assertion names the client; the issuer URL is also accepted as aud.
    const viaIssuerAud = await clientAuth(await assertion({}, { aud: `${PUBLIC}/services/m2m` }));
    expect((await grant(viaIssuerAud, '/token')).status).toBe(200);

    const refused: Array<[string, Record<string, string>]> = [
      ['no assertion', {}],
      ['a replayed jti', good],
      ['a key the client did not register', await clientAuth(await assertion({}, { key: otherKey }))],
      ['another audience', await clientAuth(await assertion({}, { aud: 'https://elsewhere.example/token' }))],
      ['an expired assertion', await clientAuth(await assertion({}, { exp: Math.floor(Date.now() / 1000) - 600 }))],
      ['a far-future expiry', await clientAuth(await assertion({}, { exp: Math.floor(Date.now() / 1000) + 86_400 }))],
      ['a symmetric algorithm', await clientAuth(await assertion({}, { alg: 'HS256', key: randomBytes(32) }))],
      ['a wrong assertion type', { client_assertion_type: 'urn:example:other', client_assertion: await assertion() }],
      ['another client_id', { ...(await clientAuth()), client_id: 'shop' }],
    ];
    for (const [name, auth] of refused) {
      const answer = await grant(auth);
      expect({ name, status: answer.status, error: answer.body['error'] }).toEqual({ name, status: 401, error: 'invalid_client' });
      expect(JSON.stringify(answer.body)).not.toContain(auth['client_assertion'] ?? '-no-assertion-');
    }
    // Refresh for a private_key_jwt client needs the assertion too.
    const refresh = String(ok.body['refresh_token']);
    expect(await post('/services/m2m/token', { grant_type: 'refresh_token', refresh_token: refresh })).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect((await post('/services/m2m/token', { grant_type: 'refresh_token', refresh_token: refresh, ...(await clientAuth()) })).status).toBe(200);
    // A public client may not send an assertion.
    expect((await post('/services/shop/token', { grant_type: 'refresh_token', refresh_token: 'x', ...(await clientAuth()) })).status).toBe(401);
  });

  it('discovery lists the grants, auth methods and signing algorithms', async () => {
    const shop = (await (await fetch(`${base}/services/shop/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(shop).toMatchObject({
      grant_types_supported: ['authorization_code', 'refresh_token', 'vp_token', TOKEN_EXCHANGE],
      token_endpoint_auth_methods_supported: ['none'],
      nonce_endpoint: `${PUBLIC}/services/shop/nonce`,
    });
    const m2m = (await (await fetch(`${base}/services/m2m/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(m2m).toMatchObject({ token_endpoint_auth_methods_supported: ['private_key_jwt'] });
    expect(m2m['token_endpoint_auth_signing_alg_values_supported']).toEqual(expect.arrayContaining(['ES256', 'EdDSA', 'RS256']));
    expect(m2m['token_endpoint_auth_signing_alg_values_supported']).not.toContain('HS256');
    expect((await post('/services/nobody/nonce')).body).toMatchObject({ error: 'invalid_client' });
  });
});
