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
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';

const PID = 'https://credentials.example.com/pid';
const ISSUER = 'https://issuer.example';
const APP_CALLBACK = 'https://app.example/callback';
const HOLDER_SCRIPT = join(__dirname, 'holder-wallet.mjs');
/** The verifier's public origin, as behind a TLS-terminating proxy; the wallet maps it to the test process. */
const PUBLIC = 'https://verifier.example';

interface WalletResult {
  status?: number;
  body?: Record<string, unknown> | string;
  clientId?: string;
  responseMode?: string;
  error?: string;
}

/** Runs the third-party wallet as its own process (the @openid4vc packages are ESM-only). */
function runWallet(input: Record<string, unknown>): Promise<WalletResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [HOLDER_SCRIPT, JSON.stringify(input)], { timeout: 30_000 }, (error, stdout) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as WalletResult);
      } catch {
        reject(error ?? new Error(`wallet printed no result: ${stdout}`));
      }
    });
  });
}

const servicesYaml = (dir: string, issuerRoot: string) => {
  const file = join(dir, 'services.yaml');
  const scope = (claims: string[] | null, token: Record<string, unknown>) => ({
    dcql: {
      credentials: [
        {
          id: 'pid',
          format: 'dc+sd-jwt',
          meta: { vct_values: [PID] },
          claims: [{ path: ['given_name'] }, { path: ['address', 'country'], values: ['DE', 'AT'] }],
        },
      ],
    },
    trust: [{ type: PID, issuers: [{ id: ISSUER, ...(claims ? { claims } : {}) }] }],
    token,
  });
  const service = (id: string, extra: Record<string, unknown> = {}) => ({
    id,
    defaultScope: 'login',
    scopes: {
      login: scope(null, { type: 'mapping', claims: { first_name: 'pid.given_name', country: 'pid.address.country' } }),
      whole: scope(null, { type: 'credential' }),
      narrow: scope(['given_name'], { type: 'flat' }),
    },
    redirectUris: [APP_CALLBACK],
    ...extra,
  });
  writeFileSync(
    file,
    JSON.stringify({
      services: [
        service('shop'),
        service('shop-x509', { clientIdPrefix: 'x509_san_dns' }),
        service('shop-hash', { clientIdPrefix: 'x509_hash' }),
      ],
    }),
  );
  writeFileSync(join(dir, 'roots.pem'), issuerRoot);
  return file;
};

describe('verifier: OpenID4VP with a wallet built from @openid4vc/openid4vp and @sd-jwt/sd-jwt-vc', () => {
  let verifier: ServiceProcess;
  let base: string;
  let issuerPki: TestPki;
  let verifierPki: TestPki;
  let issuer: TestSdJwtIssuer;
  let holder: TestSdJwtHolder;
  let credential: string;

  beforeAll(async () => {
    issuerPki = createTestPki({ leafSan: `URI:${ISSUER}` });
    verifierPki = createTestPki({ leafSan: 'DNS:verifier.example' });
    issuer = await createTestSdJwtIssuer(ISSUER, { privateJwk: issuerPki.leafPrivateJwk, x5c: issuerPki.x5c });
    holder = await createTestSdJwtHolder();
    credential = await issuer.issue(
      { given_name: 'Erika', family_name: 'Mustermann', address: { country: 'DE', locality: 'Köln' } },
      { _sd: ['given_name', 'family_name', 'address'], address: { _sd: ['country', 'locality'] } },
      { vct: PID, holderJwk: holder.publicJwk },
    );
    const dir = mkdtempSync(join(tmpdir(), 'wallet-verifier-e2e-'));
    writeFileSync(join(dir, 'verifier-chain.pem'), verifierPki.chainPem);
    writeFileSync(join(dir, 'verifier-key.pem'), verifierPki.leafKeyPem);
    verifier = await startBuiltApp('verifier', {
      WALLET_VERIFIER_PUBLIC_URL: PUBLIC,
      WALLET_VERIFIER_SERVICES_FILE: servicesYaml(dir, issuerPki.rootPem),
      WALLET_VERIFIER_TRUSTED_ROOTS_FILE: join(dir, 'roots.pem'),
      WALLET_VERIFIER_X509_CERTIFICATE_FILE: join(dir, 'verifier-chain.pem'),
      WALLET_VERIFIER_X509_PRIVATE_KEY_FILE: join(dir, 'verifier-key.pem'),
    });
    base = verifier.servers.get('verifier')!;
  });

  afterAll(async () => {
    await verifier?.stop('SIGTERM');
  });

  const start = async (params: Record<string, string>) => {
    const response = await fetch(`${base}/api/v1/startsiop?${new URLSearchParams(params)}`);
    expect(response.status).toBe(200);
    return { walletUrl: await response.text(), sessionId: response.headers.get('x-session-id')! };
  };
  const wallet = (walletUrl: string, extra: Record<string, unknown> = {}) =>
    runWallet({
      walletUrl,
      credential,
      holderPrivateJwk: holder.privateJwk,
      disclose: { given_name: true, address: { country: true } },
      trustedRootPem: verifierPki.rootPem,
      hostMap: { [PUBLIC]: base },
      ...extra,
    });
  const status = async (sessionId: string) => (await (await fetch(`${base}/api/v1/sessions/${sessionId}/status`)).json()) as Record<string, unknown>;
  const exchange = async (params: Record<string, string>, path = '/token') => {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const jwks = async () => createLocalJWKSet((await (await fetch(`${base}/.well-known/jwks`)).json()) as JSONWebKeySet);
  const codeOf = (redirectTo: unknown) => new URL(String(redirectTo)).searchParams.get('code')!;

  it.each([
    ['shop', 'byReference', 'direct_post', /^decentralized_identifier:did:jwk:/],
    ['shop', 'byValue', 'direct_post.jwt', /^decentralized_identifier:did:jwk:/],
    ['shop-x509', 'byReference', 'direct_post.jwt', /^x509_san_dns:verifier\.example$/],
    ['shop-hash', 'byValue', 'direct_post', /^x509_hash:[A-Za-z0-9_-]{43}$/],
    ['shop', 'urlEncoded', 'direct_post', /^redirect_uri:https:\/\/verifier\.example\/api\/v1\/authentication_response$/],
  ])('cross-device: %s, %s, %s, then the code exchange and a JWT that verifies against the JWKS', async (service, requestMode, responseMode, clientIdPattern) => {
    const { walletUrl, sessionId } = await start({
      client_id: service,
      state: 'app-state-1',
      client_callback: APP_CALLBACK,
      request_mode: requestMode,
      response_mode: responseMode,
    });
    expect(walletUrl.startsWith('openid4vp://?')).toBe(true);
    expect(await status(sessionId)).toEqual({ status: 'pending' });
    const result = await wallet(walletUrl);
    expect(result.error).toBeUndefined();
    expect({ body: result.body, status: result.status }).toEqual({ body: {}, status: 200 });
    expect(result.responseMode).toBe(responseMode);
    expect(result.clientId).toMatch(clientIdPattern);

    const answered = await status(sessionId);
    expect(answered['status']).toBe('answered');
    const redirect = new URL(String(answered['redirectTo']));
    expect(`${redirect.origin}${redirect.pathname}`).toBe(APP_CALLBACK);
    expect(redirect.searchParams.get('state')).toBe('app-state-1');

    const token = await exchange({ grant_type: 'authorization_code', code: codeOf(answered['redirectTo']), redirect_uri: APP_CALLBACK }, `/services/${service}/token`);
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({ token_type: 'Bearer', scope: 'login' });
    const { payload } = await jwtVerify(String(token.body['access_token']), await jwks(), { audience: service });
    expect(payload).toMatchObject({ first_name: 'Erika', country: 'DE', client_id: service });
    expect(payload['family_name']).toBeUndefined();
    expect(payload.sub).toMatch(/^urn:ietf:params:oauth:jwk-thumbprint:sha-256:/);
  });

  it('same-device with PKCE: the wallet gets the redirect, a wrong verifier and a reused code are refused', async () => {
    const verifierValue = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifierValue).digest('base64url');
    const redirect = await fetch(
      `${base}/api/v1/authorization?${new URLSearchParams({
        response_type: 'code',
        client_id: 'shop',
        redirect_uri: APP_CALLBACK,
        state: 's-2',
        scope: 'openid whole',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        flow: 'same_device',
      })}`,
      { redirect: 'manual' },
    );
    expect(redirect.status).toBe(302);
    const walletUrl = redirect.headers.get('location')!;
    const result = await wallet(walletUrl);
    expect(result.status).toBe(200);
    const redirectUri = String((result.body as Record<string, unknown>)['redirect_uri']);
    expect(redirectUri.startsWith(`${APP_CALLBACK}?`)).toBe(true);
    const code = codeOf(redirectUri);
    expect((await exchange({ grant_type: 'authorization_code', code, code_verifier: randomBytes(32).toString('base64url') })).body).toMatchObject({
      error: 'invalid_grant',
    });
    // The failed attempt consumed the code: a code is single-use whatever happens.
    const again = await exchange({ grant_type: 'authorization_code', code, code_verifier: verifierValue });
    expect(again).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('a good code exchange works once; the whole credential shape carries issuer and type', async () => {
    const { walletUrl, sessionId } = await start({ client_id: 'shop', scope: 'whole', client_callback: APP_CALLBACK });
    expect((await wallet(walletUrl)).status).toBe(200);
    const code = codeOf((await status(sessionId))['redirectTo']);
    const first = await exchange({ grant_type: 'authorization_code', code });
    expect(first.status).toBe(200);
    const { payload } = await jwtVerify(String(first.body['access_token']), await jwks());
    expect(payload['verifiableCredential']).toEqual([
      expect.objectContaining({ iss: ISSUER, vct: PID, given_name: 'Erika', address: { country: 'DE' } }),
    ]);
    expect((await exchange({ grant_type: 'authorization_code', code })).body).toMatchObject({ error: 'invalid_grant' });
  });

  it.each<[string, Record<string, unknown>, Record<string, string>, RegExp]>([
    ['a wrong nonce', { tamper: { nonce: 'not-the-nonce' } }, {}, /nonce_mismatch/],
    ['a wrong audience', { tamper: { aud: 'x509_san_dns:evil.example' } }, {}, /audience_mismatch/],
    ['a missing key-binding JWT', { tamper: { dropKb: true } }, {}, /key_binding_missing/],
    ['a stale key-binding JWT', { tamper: { iatOffset: -3600 } }, {}, /key_binding_stale/],
    ['an answer that does not satisfy the query', { disclose: { given_name: true } }, {}, /query_not_satisfied/],
    ['an issuer not allowed for a claim', {}, { scope: 'narrow' }, /claim_not_allowed/],
  ])('refuses %s', async (_name, walletOptions, startParams, reason) => {
    const { walletUrl, sessionId } = await start({ client_id: 'shop', client_callback: APP_CALLBACK, ...startParams });
    const result = await wallet(walletUrl, walletOptions);
    expect(result.status).toBe(400);
    expect(JSON.stringify(result.body)).toMatch(reason);
    expect(await status(sessionId)).toMatchObject({ status: 'failed' });
  });

  it('refuses an untrusted issuer, an expired credential and a replayed response', async () => {
    const stranger = await createTestSdJwtIssuer(ISSUER);
    const foreign = await stranger.issue({ given_name: 'Eve', address: { country: 'DE' } }, { _sd: ['given_name'] }, { vct: PID, holderJwk: holder.publicJwk });
    let { walletUrl } = await start({ client_id: 'shop', client_callback: APP_CALLBACK });
    expect(JSON.stringify((await wallet(walletUrl, { credential: foreign })).body)).toMatch(/issuer_key_unresolved|invalid_signature/);

    const now = Math.floor(Date.now() / 1000);
    const expired = await issuer.issue(
      { given_name: 'Erika', address: { country: 'DE' } },
      { _sd: ['given_name'] },
      { vct: PID, holderJwk: holder.publicJwk, iat: now - 7200, exp: now - 3600 },
    );
    ({ walletUrl } = await start({ client_id: 'shop', client_callback: APP_CALLBACK }));
    expect(JSON.stringify((await wallet(walletUrl, { credential: expired, disclose: { given_name: true } })).body)).toMatch(/expired/);

    ({ walletUrl } = await start({ client_id: 'shop', client_callback: APP_CALLBACK }));
    expect((await wallet(walletUrl)).status).toBe(200);
    const replay = await wallet(walletUrl);
    expect(replay.status).toBe(400);
    expect(JSON.stringify(replay.body)).toMatch(/already answered/);
  });

  it('serves a login page with an inline QR code, PNG and SVG images, and OIDC discovery', async () => {
    const page = await fetch(`${base}/api/v1/loginQR?client_id=shop&state=x&client_callback=${encodeURIComponent(APP_CALLBACK)}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<svg');
    expect(html).toContain('openid4vp://?client_id=');
    const png = await fetch(`${base}/api/v1/qr?client_id=shop&format=png&client_callback=${encodeURIComponent(APP_CALLBACK)}`);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await png.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG');
    const discovery = (await (await fetch(`${base}/services/shop/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({
      issuer: `${PUBLIC}/services/shop`,
      token_endpoint: `${PUBLIC}/services/shop/token`,
      jwks_uri: `${PUBLIC}/.well-known/jwks`,
      code_challenge_methods_supported: ['S256'],
    });
    const unknown = await fetch(`${base}/api/v1/startsiop?client_id=nobody`);
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: 'invalid_client' });
    const badRedirect = await fetch(`${base}/api/v1/startsiop?client_id=shop&client_callback=${encodeURIComponent('https://evil.example/cb')}`);
    expect(badRedirect.status).toBe(400);
  });
});
