import {
  createTestPki,
  createTestSdJwtHolder,
  createTestSdJwtIssuer,
  startBuiltApp,
  type ServiceProcess,
  type TestPki,
  type TestSdJwtHolder,
  type TestSdJwtIssuer,
  createDidJwkSdJwtIssuer,
  createDidJwkKey,
} from '@wallet/testing';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHeaderAndPayload, StatusList } from '@sd-jwt/jwt-status-list';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { APP_CALLBACK, ISSUER, PID, PUBLIC, runWallet, servicesYaml } from './verifier-fixtures';
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT, type JSONWebKeySet, type JWK } from 'jose';

describe('verifier: OpenID4VP with a wallet built from @openid4vc/openid4vp and @sd-jwt/sd-jwt-vc', () => {
  let verifier: ServiceProcess;
  let base: string;
  let issuerPki: TestPki;
  let verifierPki: TestPki;
  let issuer: TestSdJwtIssuer;
  let holder: TestSdJwtHolder;
  let credential: string;
  let verifierEnv: Record<string, string>;
  let statusServer: Server;
  let statusUri: string;
  const pdpQueries: Array<{ subject: { id: string }; resource: { type: string } }> = [];
  const jwtIssuer = { did: '', privateJwk: {} as JWK };
  const jwtHolder = { did: '', privateJwk: {} as JWK };

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
    // A status list host on loopback: entry 1 is revoked, entry 2 suspended. Signed by the issuer (x5c).
    const list = new StatusList([0, 1, 2, 0], 2);
    const tirEntry = (claims: string[]) => ({
      did: ISSUER,
      attributes: [{ body: Buffer.from(JSON.stringify({ credentialsType: PID, claims: claims.map((name) => ({ name })) })).toString('base64') }],
    });
    statusServer = createServer((req, res) => {
      const url = req.url ?? '/';
      // A FIWARE/EBSI-style trusted issuers list, and an AuthZEN PDP that trusts ISSUER when it shows its x5c.
      if (url.startsWith('/tir/') || url.startsWith('/tir-narrow/')) {
        const listed = decodeURIComponent(url.slice(url.indexOf('/', 1) + 1)) === ISSUER;
        const entry = tirEntry(url.startsWith('/tir/') ? ['given_name', 'address'] : ['given_name']);
        res.writeHead(listed ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(listed ? entry : {}));
        return;
      }
      if (url === '/evaluation') {
        let raw = '';
        req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
        req.on('end', () => {
          const query = JSON.parse(raw) as { subject: { id: string }; resource: { type: string } };
          pdpQueries.push(query);
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ decision: query.subject.id === ISSUER && query.resource.type === 'x5c' }));
        });
        return;
      }
      void (async () => {
        const { header, payload } = createHeaderAndPayload(list, { iss: ISSUER, sub: statusUri, iat: Math.floor(Date.now() / 1000) }, { alg: 'ES256', typ: 'statuslist+jwt' });
        const jwt = await new SignJWT(payload as never)
          .setProtectedHeader({ ...header, x5c: issuerPki.x5c } as never)
          .sign(await importJWK(issuerPki.leafPrivateJwk, 'ES256'));
        res.writeHead(req.url === '/lists/1' ? 200 : 404, { 'content-type': 'application/statuslist+jwt' }).end(jwt);
      })();
    });
    await new Promise<void>((resolve) => statusServer.listen(0, '127.0.0.1', resolve));
    statusUri = `http://127.0.0.1:${(statusServer.address() as AddressInfo).port}/lists/1`;
    const helper = `http://127.0.0.1:${(statusServer.address() as AddressInfo).port}`;
    const trustScope = (trust: Record<string, unknown>) => ({
      dcql: { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: [PID] }, claims: [{ path: ['given_name'] }] }] },
      trust: [{ type: PID, ...trust }],
    });
    // A W3C JWT VC issuer and holder, both did:jwk.
    for (const party of [jwtIssuer, jwtHolder]) Object.assign(party, createDidJwkKey());
    const extraScopes = {
      employee: {
        dcql: { credentials: [{ id: 'employee', format: 'jwt_vc_json', meta: { type_values: [['VerifiableCredential', 'EmployeeCredential']] }, claims: [{ path: ['role'], values: ['admin', 'operator'] }] }] },
        trust: [{ type: 'EmployeeCredential', issuers: [{ id: jwtIssuer.did }] }],
        token: { type: 'mapping', claims: { role: 'employee.role', name: 'employee.name' } },
      },
      tir: trustScope({ registry: { url: `${helper}/tir` } }),
      'tir-narrow': trustScope({ registry: { url: `${helper}/tir-narrow` } }),
      pdp: trustScope({ authzen: true }),
    };
    const dir = mkdtempSync(join(tmpdir(), 'wallet-verifier-e2e-'));
    writeFileSync(join(dir, 'verifier-chain.pem'), verifierPki.chainPem);
    writeFileSync(join(dir, 'verifier-key.pem'), verifierPki.leafKeyPem);
    verifierEnv = {
      WALLET_VERIFIER_PUBLIC_URL: PUBLIC,
      // The status list host of this test is on loopback over http; production allows neither.
      WALLET_OUTBOUND_ALLOW_HTTP: 'true',
      WALLET_OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8',
      WALLET_VERIFIER_SERVICES_FILE: servicesYaml(dir, issuerPki.rootPem, extraScopes),
      WALLET_TRUST_PDP_URL: helper,
      WALLET_TRUST_PDP_ALLOW_HTTP: 'true',
      WALLET_TRUST_PDP_ALLOW_CIDRS: '127.0.0.0/8',
      WALLET_VERIFIER_TRUSTED_ROOTS_FILE: join(dir, 'roots.pem'),
      WALLET_VERIFIER_X509_CERTIFICATE_FILE: join(dir, 'verifier-chain.pem'),
      WALLET_VERIFIER_X509_PRIVATE_KEY_FILE: join(dir, 'verifier-key.pem'),
    };
    verifier = await startBuiltApp('verifier', verifierEnv);
    base = verifier.servers.get('verifier')!;
  });

  afterAll(async () => {
    await verifier?.stop('SIGTERM');
    statusServer?.close();
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

  it('request_uri_method=post: the wallet POSTs its wallet_nonce and the signed request echoes it', async () => {
    const { walletUrl, sessionId } = await start({ client_id: 'shop', client_callback: APP_CALLBACK, request_uri_method: 'post' });
    expect(new URL(walletUrl).searchParams.get('request_uri_method')).toBe('post');
    const direct = await fetch(`${base}/api/v1/request/${sessionId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ wallet_nonce: 'wn-123', wallet_metadata: '{}' }),
    });
    expect(direct.headers.get('content-type')).toContain('application/oauth-authz-req+jwt');
    const [, payload] = (await direct.text()).split('.');
    expect(JSON.parse(Buffer.from(payload!, 'base64url').toString())).toMatchObject({ wallet_nonce: 'wn-123', state: sessionId });
    const result = await wallet(walletUrl, { requestUriMethodPost: true });
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(200);
    expect(await status(sessionId)).toMatchObject({ status: 'answered' });
  });

  it('request object: an unknown id is a 404 and a malformed wallet_nonce a 400, as OAuth error JSON', async () => {
    const unknown = await fetch(`${base}/api/v1/request/no-such-request`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toContain('application/json');
    expect(await unknown.json()).toMatchObject({ error: 'invalid_request_uri' });
    const { sessionId } = await start({ client_id: 'shop', client_callback: APP_CALLBACK, request_uri_method: 'post' });
    for (const nonce of ['n'.repeat(257), 'with space']) {
      const bad = await fetch(`${base}/api/v1/request/${sessionId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ wallet_nonce: nonce }),
      });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: 'invalid_request', error_description: 'wallet_nonce is malformed' });
    }
  });

  it('Presentation Exchange: a definition instead of a DCQL query, answered with a presentation_submission', async () => {
    for (const [requestMode, responseMode] of [
      ['byReference', 'direct_post'],
      ['byValue', 'direct_post.jwt'],
    ]) {
      const { walletUrl, sessionId } = await start({
        client_id: 'shop',
        scope: 'pex',
        client_callback: APP_CALLBACK,
        request_mode: requestMode!,
        response_mode: responseMode!,
      });
      const result = await wallet(walletUrl);
      expect(result.error).toBeUndefined();
      expect(result.status).toBe(200);
      const code = codeOf((await status(sessionId))['redirectTo']);
      const token = await exchange({ grant_type: 'authorization_code', code });
      const { payload } = await jwtVerify(String(token.body['access_token']), await jwks());
      expect(payload).toMatchObject({ given_name: 'Erika', address: { country: 'DE' }, credential_types: [PID], scope: 'pex' });
    }
    // A submission for another definition, and a presentation without a required field, are refused.
    let { walletUrl } = await start({ client_id: 'shop', scope: 'pex', client_callback: APP_CALLBACK });
    expect(JSON.stringify((await wallet(walletUrl, { definitionId: 'other-pd' })).body)).toMatch(/another presentation definition/);
    ({ walletUrl } = await start({ client_id: 'shop', scope: 'pex', client_callback: APP_CALLBACK }));
    expect(JSON.stringify((await wallet(walletUrl, { disclose: { given_name: true } })).body)).toMatch(/query_not_satisfied/);
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

  it('checks the status list through the guarded outbound client: valid passes, revoked and suspended are refused', async () => {
    const withStatus = (idx: number) =>
      issuer.issue(
        { given_name: 'Erika', address: { country: 'DE' }, status: { status_list: { idx, uri: statusUri } } },
        { _sd: ['given_name', 'address'], address: { _sd: ['country'] } },
        { vct: PID, holderJwk: holder.publicJwk },
      );
    const outcomes: Array<{ status?: number; body?: unknown }> = [];
    for (const idx of [0, 1, 2]) {
      const { walletUrl } = await start({ client_id: 'shop', client_callback: APP_CALLBACK });
      outcomes.push(await wallet(walletUrl, { credential: await withStatus(idx) }));
    }
    expect(outcomes[0]).toMatchObject({ status: 200 });
    expect(outcomes[1]).toMatchObject({ status: 400, body: { error: 'access_denied', reason: 'revoked' } });
    expect(outcomes[2]).toMatchObject({ status: 400, body: { error: 'access_denied', reason: 'suspended' } });
  });

  it('asks a trusted issuers registry and the AuthZEN PDP per credential type', async () => {
    const run = async (scope: string, extra: Record<string, unknown> = {}) => {
      const { walletUrl } = await start({ client_id: 'shop', scope, client_callback: APP_CALLBACK });
      return wallet(walletUrl, extra);
    };
    expect(await run('tir')).toMatchObject({ status: 200 });
    expect(await run('tir-narrow')).toMatchObject({ status: 400, body: { reason: 'claim_not_allowed' } });
    expect(await run('tir-narrow', { disclose: { given_name: true } })).toMatchObject({ status: 200 });
    expect(await run('pdp')).toMatchObject({ status: 200 });
    expect(pdpQueries.at(-1)).toMatchObject({ subject: { id: ISSUER }, resource: { type: 'x5c' } });
    // A did:jwk issuer: its key resolves offline, but neither the registry nor the PDP knows it.
    const stranger = await createDidJwkSdJwtIssuer();
    const foreign = await stranger.issue({ given_name: 'Eve' }, { _sd: ['given_name'] }, { vct: PID, holderJwk: holder.publicJwk });
    for (const scope of ['tir', 'pdp']) {
      expect(await run(scope, { credential: foreign, disclose: { given_name: true } })).toMatchObject({ status: 400, body: { reason: 'untrusted_issuer' } });
    }
  });

  it('verifies a W3C VP in JWT form (jwt_vc_json): holder binding, issuer trust and the DCQL type and values', async () => {
    const issueVc = async (subject: string, role: string) =>
      new SignJWT({ vc: { type: ['VerifiableCredential', 'EmployeeCredential'], credentialSubject: { id: subject, name: 'Erika', role } } })
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: `${jwtIssuer.did}#0` })
        .setIssuer(jwtIssuer.did)
        .setSubject(subject)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(await importJWK(jwtIssuer.privateJwk, 'ES256'));
    const present = async (credential: string) => {
      const { walletUrl, sessionId } = await start({ client_id: 'shop', scope: 'employee', client_callback: APP_CALLBACK });
      return { result: await wallet(walletUrl, { jwtVc: { credential, holderPrivateJwk: jwtHolder.privateJwk, holderDid: jwtHolder.did } }), sessionId };
    };
    const { result, sessionId } = await present(await issueVc(jwtHolder.did, 'admin'));
    expect(result).toMatchObject({ status: 200 });
    const token = await exchange({ grant_type: 'authorization_code', code: codeOf((await status(sessionId))['redirectTo']) });
    const { payload } = await jwtVerify(String(token.body['access_token']), await jwks());
    expect(payload).toMatchObject({ role: 'admin', name: 'Erika', sub: jwtHolder.did });
    // Another holder's credential, and a value the query does not allow.
    expect((await present(await issueVc('did:example:someone-else', 'admin'))).result).toMatchObject({ status: 400, body: { reason: 'key_binding_invalid' } });
    expect((await present(await issueVc(jwtHolder.did, 'guest'))).result).toMatchObject({ status: 400, body: { reason: 'query_not_satisfied' } });
  });

  it('signs application tokens with RS256 when configured (verifier.tokenAlg)', async () => {
    const rsa = await startBuiltApp('verifier', { ...verifierEnv, WALLET_VERIFIER_TOKEN_ALG: 'RS256' });
    try {
      const rsaBase = rsa.servers.get('verifier')!;
      const started = await fetch(`${rsaBase}/api/v1/startsiop?client_id=shop&client_callback=${encodeURIComponent(APP_CALLBACK)}`);
      const sessionId = started.headers.get('x-session-id')!;
      const result = await wallet(await started.text(), { hostMap: { [PUBLIC]: rsaBase } });
      expect(result.status).toBe(200);
      const answered = (await (await fetch(`${rsaBase}/api/v1/sessions/${sessionId}/status`)).json()) as Record<string, unknown>;
      const response = await fetch(`${rsaBase}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: codeOf(answered['redirectTo']) }),
      });
      const token = String(((await response.json()) as Record<string, unknown>)['access_token']);
      const keys = (await (await fetch(`${rsaBase}/.well-known/jwks`)).json()) as JSONWebKeySet;
      expect(keys.keys.map((k) => k.kty)).toEqual(['RSA']);
      const { protectedHeader } = await jwtVerify(token, createLocalJWKSet(keys), { audience: 'shop' });
      expect(protectedHeader.alg).toBe('RS256');
      const discovery = (await (await fetch(`${rsaBase}/services/shop/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      expect(discovery['id_token_signing_alg_values_supported']).toEqual(['RS256']);
    } finally {
      await rsa.stop('SIGTERM');
    }
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
