import {
  Oauth2Client,
  Oauth2ClientErrorResponseError,
  clientAuthenticationAnonymous,
  clientAuthenticationNone,
  decodeJwt,
  type ClientAuthenticationCallback,
  type HashAlgorithm,
  type Jwk,
  type JwtSignerJwk,
  type RequestDpopOptions,
  type SignJwtCallback,
} from '@openid4vc/oauth2';
import {
  Openid4vciClient,
  Openid4vciRetrieveCredentialsError,
  Openid4vciSendNotificationError,
  Openid4vciVersion,
  type IssuerMetadataResult,
} from '@openid4vc/openid4vci';
import { digest, ES256 } from '@sd-jwt/crypto-nodejs';
import { SDJwtVcInstance, TypeMetadataFormatSchema } from '@sd-jwt/sd-jwt-vc';
import {
  SignJWT,
  calculateJwkThumbprint,
  compactDecrypt,
  compactVerify,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
  type KeyLike,
} from 'jose';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { request } from 'undici';
import { startTestIssuer, type TestIssuer, type TestIssuerOptions } from './oid4vci-issuer-peer';

type Json = Record<string, unknown>;
interface WalletKey {
  publicJwk: Jwk;
  privateKey: KeyLike;
  signer: JwtSignerJwk;
}

// ---- the wallet side: @openid4vc clients plus jose keys ----
const walletKeys = new Map<string, KeyLike>();
async function walletKey(): Promise<WalletKey> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const { kty, crv, x, y } = await exportJWK(publicKey);
  const publicJwk: Jwk = { kty: kty!, crv, x, y };
  walletKeys.set(x!, privateKey);
  return { publicJwk, privateKey, signer: { method: 'jwk', alg: 'ES256', publicJwk } };
}
const signJwt: SignJwtCallback = async (signer, { header, payload }) => {
  if (signer.method !== 'jwk') throw new Error('wallet: jwk signers only');
  const key = walletKeys.get(signer.publicJwk.x ?? '');
  if (!key) throw new Error('wallet: unknown key');
  const jwt = await new SignJWT(payload as JWTPayload).setProtectedHeader(header as JWTHeaderParameters).sign(key);
  return { jwt, signerJwk: signer.publicJwk };
};
const walletCallbacks = (clientAuthentication: ClientAuthenticationCallback = clientAuthenticationAnonymous()) => ({
  hash: (data: Uint8Array, alg: HashAlgorithm) => createHash(alg.replace('-', '')).update(data).digest(),
  generateRandom: (n: number) => randomBytes(n),
  signJwt,
  clientAuthentication,
});
const client = new Openid4vciClient({ callbacks: walletCallbacks() });
const oauth2Client = new Oauth2Client({ callbacks: walletCallbacks() });

const thumbprint = (jwk: Jwk | JWK) => calculateJwkThumbprint(jwk as JWK, 'sha256');
const nowS = () => Math.floor(Date.now() / 1000);

async function http(url: string, init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {}) {
  const res = await request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, body: init.body ?? null });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as Json };
}

/** The HTTP answer behind a rejected client call. */
async function refusal(promise: Promise<unknown>): Promise<{ status: number; body: Json; headers: Headers }> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  const response =
    error instanceof Oauth2ClientErrorResponseError
      ? error.response
      : error instanceof Openid4vciRetrieveCredentialsError || error instanceof Openid4vciSendNotificationError
        ? error.response.response
        : undefined;
  if (!response) throw new Error(`expected an HTTP refusal, got ${String(error)}`);
  return { status: response.status, body: (await response.clone().json()) as Json, headers: response.headers };
}

/** Offer → metadata → token, pre-authorized code flow. */
async function preAuthorized(peer: TestIssuer, options: { configurationIds?: string[]; dpopKey?: WalletKey } = {}) {
  const { link } = await peer.createOffer({ configurationIds: options.configurationIds ?? ['pid_sd_jwt'] });
  const offer = await client.resolveCredentialOffer(link);
  const md = await client.resolveIssuerMetadata(offer.credential_issuer);
  const token = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer: offer,
    issuerMetadata: md,
    ...(options.dpopKey ? { dpop: { signer: options.dpopKey.signer } } : {}),
  });
  return { md, offer, token, accessToken: token.accessTokenResponse.access_token };
}

async function proofs(md: IssuerMetadataResult, configurationId: string, keys: WalletKey[], nonce?: string, issuedAt?: Date) {
  const cNonce = nonce ?? (await client.requestNonce({ issuerMetadata: md })).c_nonce;
  const jwts: string[] = [];
  for (const key of keys) {
    const { jwt } = await client.createCredentialRequestJwtProof({
      issuerMetadata: md,
      credentialConfigurationId: configurationId,
      signer: key.signer,
      nonce: cNonce,
      ...(issuedAt ? { issuedAt } : {}),
    });
    jwts.push(jwt);
  }
  return jwts;
}

/** Nonce, proofs and credential request, as a wallet does them. */
async function requestCredentials(
  md: IssuerMetadataResult,
  accessToken: string,
  configurationId: string,
  keys: WalletKey[],
  dpop?: RequestDpopOptions,
) {
  return client.retrieveCredentials({
    issuerMetadata: md,
    credentialConfigurationId: configurationId,
    accessToken,
    proofs: { jwt: await proofs(md, configurationId, keys) },
    ...(dpop ? { dpop } : {}),
  });
}

function credentialStrings(response: { credentials?: unknown[] | undefined }): string[] {
  return (response.credentials ?? []).map((c) => (c as { credential: string }).credential);
}

/** The first of `items`; a test that expected one and got none fails here, saying what was missing. */
function firstItem<T>(items: readonly T[], what: string): T {
  const [item] = items;
  if (item === undefined) throw new Error(`expected ${what}, got none`);
  return item;
}

/** The issuer-signed JWT of an SD-JWT (the part before the first `~`). */
const issuerJwt = (sdJwt: string) => firstItem(sdJwt.split('~'), 'an issuer-signed JWT');
const authorizationServer = (md: IssuerMetadataResult) => firstItem(md.authorizationServers, 'an authorization server');

/** Verifies an SD-JWT VC with @sd-jwt against the key the peer publishes at /.well-known/jwt-vc-issuer. */
async function verifySdJwt(peer: TestIssuer, credential: string) {
  const { jwks } = (await http(`${peer.url}/.well-known/jwt-vc-issuer`)).json() as { jwks: { keys: Array<JWK & { kid: string }> } };
  const header = decodeProtectedHeader(issuerJwt(credential));
  const jwk = jwks.keys.find((k) => k.kid === header.kid)!;
  const verified = await new SDJwtVcInstance({ hasher: digest, verifier: await ES256.getVerifier(jwk) }).verify(credential);
  return { header: verified.header, payload: verified.payload as Json & { cnf: { jwk: JWK } } };
}

describe('startTestIssuer (OpenID4VCI issuer peer)', () => {
  const peers: TestIssuer[] = [];
  const start = async (options?: TestIssuerOptions) => {
    const peer = await startTestIssuer(options);
    peers.push(peer);
    return peer;
  };
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
  });

  it('serves OpenID4VCI 1.0 issuer metadata, AS metadata, SD-JWT VC type metadata and the jwt-vc-issuer keys', async () => {
    const peer = await start();
    expect(peer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const md = await client.resolveIssuerMetadata(peer.url);
    expect(md.originalDraftVersion).toBe(Openid4vciVersion.V1);
    const configs = md.credentialIssuer.credential_configurations_supported;
    expect(Object.keys(configs).sort()).toEqual(['diploma_jwt', 'mdl_mdoc', 'pid_sd_jwt']);
    expect(configs.pid_sd_jwt).toMatchObject({
      format: 'dc+sd-jwt',
      vct: `${peer.url}/vct/pid`,
      scope: 'pid',
      cryptographic_binding_methods_supported: ['jwk'],
      proof_types_supported: { jwt: { proof_signing_alg_values_supported: ['ES256'] } },
      credential_metadata: { display: [{ name: 'Test PID', logo: { uri: `${peer.url}/logo.png` } }] },
    });
    expect(configs.diploma_jwt).toMatchObject({
      format: 'jwt_vc_json',
      credential_definition: { type: ['VerifiableCredential', 'UniversityDegreeCredential'] },
    });
    expect(configs.mdl_mdoc).toMatchObject({ format: 'mso_mdoc', doctype: 'org.iso.18013.5.1.mDL' });
    expect(md.credentialIssuer).toMatchObject({ nonce_endpoint: `${peer.url}/nonce`, notification_endpoint: `${peer.url}/notification` });
    expect(md.credentialIssuer.batch_credential_issuance).toBeUndefined();
    expect(md.credentialIssuer.credential_response_encryption).toBeUndefined();
    expect(md.credentialIssuer.deferred_credential_endpoint).toBeUndefined();
    const as = authorizationServer(md);
    expect(as).toMatchObject({
      issuer: peer.url,
      pushed_authorization_request_endpoint: `${peer.url}/par`,
      code_challenge_methods_supported: ['S256'],
    });
    expect(as.require_pushed_authorization_requests).toBeUndefined();
    expect(as.dpop_signing_alg_values_supported).toBeUndefined();

    const typeMetadata = TypeMetadataFormatSchema.parse((await http(`${peer.url}/vct/pid`)).json());
    expect(typeMetadata).toMatchObject({ vct: `${peer.url}/vct/pid`, name: 'Test PID', display: [{ locale: 'en', name: 'Test PID' }] });
    expect(typeMetadata.claims?.map((c) => c.path)).toEqual([['given_name'], ['family_name'], ['birthdate']]);
    const jwtVcIssuer = (await http(`${peer.url}/.well-known/jwt-vc-issuer`)).json();
    expect(jwtVcIssuer).toMatchObject({ issuer: peer.url, jwks: { keys: [{ kty: 'EC', crv: 'P-256', kid: 'issuer-key-1' }] } });
    const logo = await http(`${peer.url}/logo.png`);
    expect([logo.status, logo.headers['content-type']]).toEqual([200, 'image/png']);
  });

  it('pre-authorized code without tx_code: Bearer token, single-use c_nonce, bound credentials limited to the offer', async () => {
    const peer = await start();
    const holder = await walletKey();
    const { link, offer: offerJson, txCode } = await peer.createOffer({ configurationIds: ['pid_sd_jwt', 'mdl_mdoc'] });
    expect(link.startsWith('openid-credential-offer://?credential_offer=')).toBe(true);
    expect(txCode).toBeUndefined();
    expect(offerJson).toMatchObject({ credential_issuer: peer.url, credential_configuration_ids: ['pid_sd_jwt', 'mdl_mdoc'] });
    const offer = await client.resolveCredentialOffer(link);
    const md = await client.resolveIssuerMetadata(offer.credential_issuer);
    const token = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer: offer, issuerMetadata: md });
    const accessToken = token.accessTokenResponse.access_token;
    expect(token.accessTokenResponse).toMatchObject({ token_type: 'Bearer', expires_in: 300 });
    expect(typeof token.accessTokenResponse.refresh_token).toBe('string');
    expect(token.accessTokenResponse.c_nonce).toBeUndefined();
    expect(decodeJwt({ jwt: accessToken }).payload).toMatchObject({ iss: peer.url, aud: peer.url });

    const proof = firstItem(await proofs(md, 'pid_sd_jwt', [holder]), 'a proof');
    const send = () =>
      client.retrieveCredentials({ issuerMetadata: md, credentialConfigurationId: 'pid_sd_jwt', accessToken, proofs: { jwt: [proof] } });
    const pid = await send();
    const credential = firstItem(credentialStrings(pid.credentialResponse), 'a credential');
    expect(typeof pid.credentialResponse.notification_id).toBe('string');
    const { header, payload } = await verifySdJwt(peer, credential);
    expect(header).toMatchObject({ typ: 'dc+sd-jwt', alg: 'ES256', kid: 'issuer-key-1' });
    expect(payload).toMatchObject({ iss: peer.url, vct: `${peer.url}/vct/pid`, given_name: 'Erika', birthdate: '1984-01-26' });
    expect(await thumbprint(payload.cnf.jwk)).toBe(await thumbprint(holder.publicJwk));
    expect(credential.split('~').length).toBeGreaterThanOrEqual(4); // issuer JWT + three disclosures
    expect(peer.issued).toEqual([credential]);

    const replay = await refusal(send());
    expect([replay.status, replay.body.error]).toEqual([400, 'invalid_nonce']);

    const mdl = await requestCredentials(md, accessToken, 'mdl_mdoc', [holder]);
    const mdoc = firstItem(credentialStrings(mdl.credentialResponse), 'a credential');
    expect(mdoc).toMatch(/^[\w-]+$/);
    const decoded = JSON.parse(Buffer.from(mdoc, 'base64url').toString('utf8')) as { docType: string; deviceKey: JWK };
    expect(decoded.docType).toBe('org.iso.18013.5.1.mDL');
    expect(await thumbprint(decoded.deviceKey)).toBe(await thumbprint(holder.publicJwk));

    const notOffered = await refusal(requestCredentials(md, accessToken, 'diploma_jwt', [holder]));
    expect([notOffered.status, notOffered.body.error]).toEqual([400, 'invalid_credential_request']);

    const reused = await refusal(client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer: offer, issuerMetadata: md }));
    expect([reused.status, reused.body.error]).toEqual([400, 'invalid_grant']);
    expect(peer.requests.every((r) => !r.dpop)).toBe(true);
    expect(peer.requests.filter((r) => r.path === '/credential').map((r) => r.status)).toEqual([200, 400, 200, 400]);
  });

  it('tx_code, offer by reference, c_nonce in responses without a nonce endpoint: jwt_vc_json diploma', async () => {
    const peer = await start({ nonceEndpoint: false, refreshTokens: false });
    const holder = await walletKey();
    const { link, offer: offerJson, txCode } = await peer.createOffer({
      configurationIds: ['diploma_jwt'],
      byReference: true,
      txCode: { length: 4 },
    });
    expect(txCode).toMatch(/^\d{4}$/);
    expect(new URL(link).searchParams.get('credential_offer_uri')).toMatch(new RegExp(`^${peer.url}/offers/[\\w-]+$`));
    expect(new URL(link).searchParams.get('credential_offer')).toBeNull();
    expect(offerJson).toMatchObject({
      grants: { 'urn:ietf:params:oauth:grant-type:pre-authorized_code': { tx_code: { input_mode: 'numeric', length: 4 } } },
    });
    const offer = await client.resolveCredentialOffer(link);
    expect(offer).toEqual(offerJson);
    expect(peer.requests.some((r) => r.method === 'GET' && r.path.startsWith('/offers/') && r.status === 200)).toBe(true);
    const md = await client.resolveIssuerMetadata(peer.url);
    expect(md.credentialIssuer.nonce_endpoint).toBeUndefined();

    if (txCode === undefined) throw new Error('expected a tx_code with the offer');
    const wrongCode = txCode === '0000' ? '1111' : '0000';
    const wrong = await refusal(
      client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer: offer, issuerMetadata: md, txCode: wrongCode }),
    );
    expect([wrong.status, wrong.body.error]).toEqual([400, 'invalid_grant']);
    const token = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer: offer, issuerMetadata: md, txCode });
    const firstNonce = token.accessTokenResponse.c_nonce!;
    expect(typeof firstNonce).toBe('string');
    expect(token.accessTokenResponse.refresh_token).toBeUndefined();

    const result = await client.retrieveCredentials({
      issuerMetadata: md,
      credentialConfigurationId: 'diploma_jwt',
      accessToken: token.accessTokenResponse.access_token,
      proofs: { jwt: await proofs(md, 'diploma_jwt', [holder], firstNonce) },
    });
    expect(result.credentialResponse.c_nonce).toEqual(expect.any(String));
    expect(result.credentialResponse.c_nonce).not.toBe(firstNonce);
    const vc = firstItem(credentialStrings(result.credentialResponse), 'a credential');
    const { jwks } = (await http(`${peer.url}/.well-known/jwt-vc-issuer`)).json() as { jwks: { keys: JWK[] } };
    const { payload, protectedHeader } = await jwtVerify(vc, await importJWK(firstItem(jwks.keys, 'an issuer key'), 'ES256'), { issuer: peer.url });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'JWT', kid: 'issuer-key-1' });
    expect(payload.sub).toBeUndefined();
    expect(payload.vc).toMatchObject({
      type: ['VerifiableCredential', 'UniversityDegreeCredential'],
      credentialSubject: { degree: { type: 'BachelorDegree' } },
    });
    expect(await thumbprint((payload.cnf as { jwk: JWK }).jwk)).toBe(await thumbprint(holder.publicJwk));

    const text = await peer.createOffer({ txCode: { input_mode: 'text', length: 8 } });
    expect(text.txCode).toMatch(/^[A-Z0-9]{8}$/);
    expect(text.offer).toMatchObject({
      grants: { 'urn:ietf:params:oauth:grant-type:pre-authorized_code': { tx_code: { input_mode: 'text', length: 8 } } },
    });
  });

  it('authorization code with PAR and PKCE: redirect with code, state and iss; single-use codes and request_uris', async () => {
    const peer = await start({ par: 'required' });
    const holder = await walletKey();
    const redirectUri = 'http://127.0.0.1:1/callback';
    const parClient = new Openid4vciClient({ callbacks: walletCallbacks(clientAuthenticationNone({ clientId: 'wallet-app' })) });
    const { link } = await peer.createOffer({ grant: 'authorization_code', issuerState: 'issuer-state-1' });
    const offer = await parClient.resolveCredentialOffer(link);
    expect(offer.grants).toEqual({ authorization_code: { issuer_state: 'issuer-state-1' } });
    const md = await parClient.resolveIssuerMetadata(peer.url);
    expect(authorizationServer(md).require_pushed_authorization_requests).toBe(true);

    const started = await parClient.initiateAuthorization({
      credentialOffer: offer,
      issuerMetadata: md,
      clientId: 'wallet-app',
      redirectUri,
      scope: 'pid',
    });
    if (started.authorizationFlow !== 'Oauth2Redirect') throw new Error('expected a redirect flow');
    const pkceCodeVerifier = started.pkce?.codeVerifier;
    if (pkceCodeVerifier === undefined) throw new Error('expected the client to use PKCE');
    const authorizationUrl = new URL(started.authorizationRequestUrl);
    expect(authorizationUrl.origin + authorizationUrl.pathname).toBe(`${peer.url}/authorize`);
    expect(authorizationUrl.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(authorizationUrl.searchParams.get('client_id')).toBe('wallet-app');
    expect(peer.requests.find((r) => r.path === '/par')?.status).toBe(201);

    const redirect = await http(started.authorizationRequestUrl);
    expect(redirect.status).toBe(302);
    const location = String(redirect.headers.location);
    expect(location.startsWith(`${redirectUri}?`)).toBe(true);
    const callback = parClient.parseAndVerifyAuthorizationResponseRedirectUrl({
      url: location,
      authorizationServerMetadata: authorizationServer(md),
    });
    expect(callback).toMatchObject({ iss: peer.url });
    if (!('code' in callback) || typeof callback.code !== 'string') throw new Error('expected a code');
    const requestUriAgain = await http(started.authorizationRequestUrl);
    expect([requestUriAgain.status, requestUriAgain.json().error]).toEqual([400, 'invalid_request']);

    const token = await parClient.retrieveAuthorizationCodeAccessTokenFromOffer({
      credentialOffer: offer,
      issuerMetadata: md,
      authorizationCode: callback.code,
      pkceCodeVerifier,
      redirectUri,
    });
    expect(token.accessTokenResponse.token_type).toBe('Bearer');
    expect(decodeJwt({ jwt: token.accessTokenResponse.access_token }).payload).toMatchObject({ client_id: 'wallet-app' });
    const codeAgain = await refusal(
      parClient.retrieveAuthorizationCodeAccessTokenFromOffer({
        credentialOffer: offer,
        issuerMetadata: md,
        authorizationCode: callback.code,
        pkceCodeVerifier,
        redirectUri,
      }),
    );
    expect([codeAgain.status, codeAgain.body.error]).toEqual([400, 'invalid_grant']);
    const pid = await parClient.retrieveCredentials({
      issuerMetadata: md,
      credentialConfigurationId: 'pid_sd_jwt',
      accessToken: token.accessTokenResponse.access_token,
      proofs: { jwt: await proofs(md, 'pid_sd_jwt', [holder]) },
    });
    const { payload } = await verifySdJwt(peer, firstItem(credentialStrings(pid.credentialResponse), 'a credential'));
    expect(await thumbprint(payload.cnf.jwk)).toBe(await thumbprint(holder.publicJwk));

    // Openid4vciClient 0.4.6 drops `state` (even from additionalRequestPayload), so these go through Oauth2Client.
    const parOauth2Client = new Oauth2Client({ callbacks: walletCallbacks(clientAuthenticationNone({ clientId: 'wallet-app' })) });
    const codeFor = async () => {
      const next = await parOauth2Client.createAuthorizationRequestUrl({
        authorizationServerMetadata: authorizationServer(md),
        clientId: 'wallet-app',
        redirectUri,
        scope: 'pid',
        state: 'wallet-state',
        resource: peer.url,
        pkceCodeVerifier,
      });
      const answer = await http(next.authorizationRequestUrl);
      const back = new URL(String(answer.headers.location));
      expect([back.searchParams.get('state'), back.searchParams.get('iss')]).toEqual(['wallet-state', peer.url]);
      return back.searchParams.get('code')!;
    };
    // A wrong PKCE verifier and a different redirect_uri are refused.
    const wrongVerifier = await refusal(
      parClient.retrieveAuthorizationCodeAccessTokenFromOffer({
        credentialOffer: offer,
        issuerMetadata: md,
        authorizationCode: await codeFor(),
        pkceCodeVerifier: 'x'.repeat(64),
        redirectUri,
      }),
    );
    expect([wrongVerifier.status, wrongVerifier.body.error]).toEqual([400, 'invalid_grant']);
    const wrongRedirect = await refusal(
      parClient.retrieveAuthorizationCodeAccessTokenFromOffer({
        credentialOffer: offer,
        issuerMetadata: md,
        authorizationCode: await codeFor(),
        pkceCodeVerifier,
        redirectUri: 'http://127.0.0.1:1/elsewhere',
      }),
    );
    expect([wrongRedirect.status, wrongRedirect.body.error]).toEqual([400, 'invalid_grant']);

    // PAR is required: a plain query authorization request is refused.
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: 'wallet-app',
      redirect_uri: redirectUri,
      scope: 'pid',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    });
    const direct = await http(`${peer.url}/authorize?${query}`);
    expect([direct.status, direct.json().error]).toEqual([400, 'invalid_request']);
  });

  it('authorization code without PAR takes query parameters, and refuses PKCE plain', async () => {
    const peer = await start({ par: false });
    const md = await client.resolveIssuerMetadata(peer.url);
    expect(authorizationServer(md).pushed_authorization_request_endpoint).toBeUndefined();
    const base = { response_type: 'code', client_id: 'wallet-app', redirect_uri: 'http://127.0.0.1:1/cb', scope: 'pid', state: 's1' };
    const authorize = (params: Record<string, string>) =>
      http(`${peer.url}/authorize?${new URLSearchParams({ ...base, code_challenge: 'a'.repeat(43), ...params })}`);
    const ok = await authorize({ code_challenge_method: 'S256' });
    expect(ok.status).toBe(302);
    const location = new URL(String(ok.headers.location));
    expect([location.searchParams.get('state'), location.searchParams.get('iss')]).toEqual(['s1', peer.url]);
    const plain = await authorize({ code_challenge_method: 'plain' });
    expect([plain.status, plain.json().error]).toEqual([400, 'invalid_request']);
    const noScope = await authorize({ scope: 'unknown', code_challenge_method: 'S256' });
    expect([noScope.status, noScope.json().error]).toEqual([400, 'invalid_scope']);

    // authorization_details: the token response names credential_identifiers, which the credential request must use.
    const verifier = randomBytes(32).toString('base64url');
    const details = [{ type: 'openid_credential', credential_configuration_id: 'diploma_jwt' }];
    const authorized = await http(
      `${peer.url}/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: 'wallet-app',
        redirect_uri: base.redirect_uri,
        authorization_details: JSON.stringify(details),
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      })}`,
    );
    const code = new URL(String(authorized.headers.location)).searchParams.get('code')!;
    const tokenAnswer = await http(`${peer.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: base.redirect_uri,
        code_verifier: verifier,
        client_id: 'wallet-app',
      }).toString(),
    });
    expect(tokenAnswer.status).toBe(200);
    const tokenBody = tokenAnswer.json() as { access_token: string; authorization_details: unknown };
    expect(tokenBody.authorization_details).toEqual([{ ...details[0], credential_identifiers: ['diploma_jwt'] }]);
    const jwts = await proofs(md, 'diploma_jwt', [await walletKey()]);
    const ask = (selector: Json) =>
      http(`${peer.url}/credential`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenBody.access_token}` },
        body: JSON.stringify({ ...selector, proofs: { jwt: jwts } }),
      });
    const byConfiguration = await ask({ credential_configuration_id: 'diploma_jwt' });
    expect([byConfiguration.status, byConfiguration.json().error]).toEqual([400, 'invalid_credential_request']);
    const byIdentifier = await ask({ credential_identifier: 'diploma_jwt' });
    expect(byIdentifier.status).toBe(200);
    const { credential } = firstItem(byIdentifier.json().credentials as Array<{ credential: string }>, 'a credential');
    expect(decodeJwt({ jwt: credential }).payload).toMatchObject({ iss: peer.url });
  });

  it("PAR with DPoP 'nonce': PAR is challenged too, and the code is bound to the DPoP key pushed with it", async () => {
    const peer = await start({ dpop: 'nonce', par: 'required' });
    const dpopKey = await walletKey();
    const redirectUri = 'http://127.0.0.1:1/callback';
    const parClient = new Openid4vciClient({ callbacks: walletCallbacks(clientAuthenticationNone({ clientId: 'wallet-app' })) });
    const offer = await parClient.resolveCredentialOffer((await peer.createOffer({ grant: 'authorization_code' })).link);
    const md = await parClient.resolveIssuerMetadata(peer.url);
    const authorizeOnce = async () => {
      const started = await parClient.createAuthorizationRequestUrlFromOffer({
        credentialOffer: offer,
        issuerMetadata: md,
        clientId: 'wallet-app',
        redirectUri,
        scope: 'pid',
        dpop: { signer: dpopKey.signer },
      });
      if (!started.pkce) throw new Error('expected the client to use PKCE');
      const answer = await http(started.authorizationRequestUrl);
      return {
        started,
        pkceCodeVerifier: started.pkce.codeVerifier,
        code: new URL(String(answer.headers.location)).searchParams.get('code')!,
      };
    };
    const first = await authorizeOnce();
    expect(peer.requests.filter((r) => r.path === '/par').map((r) => [r.status, r.dpop])).toEqual([
      [400, true],
      [201, true],
    ]);
    const thief = await walletKey();
    const stolen = await refusal(
      parClient.retrieveAuthorizationCodeAccessTokenFromOffer({
        credentialOffer: offer,
        issuerMetadata: md,
        authorizationCode: first.code,
        pkceCodeVerifier: first.pkceCodeVerifier,
        redirectUri,
        dpop: { signer: thief.signer },
      }),
    );
    expect([stolen.status, stolen.body.error]).toEqual([400, 'invalid_dpop_proof']);

    const second = await authorizeOnce();
    const token = await parClient.retrieveAuthorizationCodeAccessTokenFromOffer({
      credentialOffer: offer,
      issuerMetadata: md,
      authorizationCode: second.code,
      pkceCodeVerifier: second.pkceCodeVerifier,
      redirectUri,
      dpop: second.started.dpop ?? { signer: dpopKey.signer },
    });
    expect(token.accessTokenResponse.token_type).toBe('DPoP');
    const { payload } = decodeJwt({ jwt: token.accessTokenResponse.access_token });
    expect(payload).toMatchObject({ cnf: { jkt: await thumbprint(dpopKey.publicJwk) } });
    expect(peer.requests.filter((r) => r.path === '/token').map((r) => r.status)).toEqual([400, 400, 200]);
  });

  it("DPoP 'nonce': token and credential endpoints challenge once and the client retries; replays and Bearer are refused", async () => {
    const peer = await start({ dpop: 'nonce' });
    const dpopKey = await walletKey();
    const holder = await walletKey();
    const { md, token, accessToken } = await preAuthorized(peer, { dpopKey });
    expect(authorizationServer(md).dpop_signing_alg_values_supported).toEqual(['ES256']);
    expect(token.accessTokenResponse.token_type).toBe('DPoP');
    expect(decodeJwt({ jwt: accessToken }).payload).toMatchObject({ cnf: { jkt: await thumbprint(dpopKey.publicJwk) } });
    const asNonce = token.dpop?.nonce;
    expect(asNonce).toEqual(expect.any(String));

    const dpop: RequestDpopOptions = { signer: dpopKey.signer, ...(asNonce === undefined ? {} : { nonce: asNonce }) };
    const result = await requestCredentials(md, accessToken, 'pid_sd_jwt', [holder], dpop);
    expect(credentialStrings(result.credentialResponse)).toHaveLength(1);
    const rsNonce = result.dpop?.nonce;
    expect(rsNonce).toEqual(expect.any(String));
    expect(rsNonce).not.toBe(asNonce);

    const seen = (path: string) => peer.requests.filter((r) => r.path === path).map((r) => [r.status, r.dpop]);
    expect(seen('/token')).toEqual([
      [400, true],
      [200, true],
    ]);
    expect(seen('/credential')).toEqual([
      [401, true],
      [200, true],
    ]);

    // A hand-made DPoP proof with the right nonce works once; its replay is refused.
    const notificationId = result.credentialResponse.notification_id!;
    const ath = createHash('sha256').update(accessToken).digest('base64url');
    const dpopProof = (htu: string) =>
      new SignJWT({ htm: 'POST', htu, iat: nowS(), jti: randomBytes(16).toString('base64url'), ath, nonce: rsNonce })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: dpopKey.publicJwk as JWK })
        .sign(dpopKey.privateKey);
    const proof = await dpopProof(`${peer.url}/notification`);
    const send = (headers: Record<string, string>) =>
      http(`${peer.url}/notification`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ notification_id: notificationId, event: 'credential_accepted' }),
      });
    expect((await send({ authorization: `DPoP ${accessToken}`, dpop: proof })).status).toBe(204);
    const replay = await send({ authorization: `DPoP ${accessToken}`, dpop: proof });
    expect([replay.status, replay.json().error]).toEqual([401, 'invalid_dpop_proof']);
    expect(replay.headers['www-authenticate']).toContain('DPoP');
    const bearer = await send({ authorization: `Bearer ${accessToken}` });
    expect(bearer.status).toBe(401);
    expect(peer.notifications).toHaveLength(1);

    // A proof for another URL (htu) is refused by the library's checks.
    const wrongHtu = await dpopProof(`${peer.url}/elsewhere`);
    const htuRefused = await send({ authorization: `DPoP ${accessToken}`, dpop: wrongHtu });
    expect([htuRefused.status, htuRefused.json().error]).toEqual([401, 'invalid_dpop_proof']);
  });

  it('batch of three: one credential per proof, in proof order, each bound to its own key', async () => {
    const peer = await start({ batchSize: 3 });
    const { md, accessToken } = await preAuthorized(peer);
    expect(md.credentialIssuer.batch_credential_issuance).toEqual({ batch_size: 3 });
    const keys = [await walletKey(), await walletKey(), await walletKey()];
    const jwts = await proofs(md, 'pid_sd_jwt', keys);
    const result = await client.retrieveCredentials({
      issuerMetadata: md,
      credentialConfigurationId: 'pid_sd_jwt',
      accessToken,
      proofs: { jwt: jwts },
    });
    const credentials = credentialStrings(result.credentialResponse);
    expect(credentials).toHaveLength(3);
    expect(new Set(credentials).size).toBe(3);
    const bound = await Promise.all(credentials.map(async (c) => thumbprint((await verifySdJwt(peer, c)).payload.cnf.jwk)));
    expect(bound).toEqual(await Promise.all(keys.map((k) => thumbprint(k.publicJwk))));
    expect(peer.issued).toEqual(credentials);

    // Four proofs exceed batch_size (the client would refuse locally, so send them by hand).
    const four = await proofs(md, 'pid_sd_jwt', [...keys, await walletKey()]);
    const tooMany = await http(`${peer.url}/credential`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ credential_configuration_id: 'pid_sd_jwt', proofs: { jwt: four } }),
    });
    expect([tooMany.status, tooMany.json().error]).toEqual([400, 'invalid_credential_request']);
  });

  it('deferred: 202 with transaction_id and interval, issuance_pending twice, then the credential', async () => {
    const peer = await start({ deferred: { pendingPolls: 2, intervalSeconds: 1 } });
    const holder = await walletKey();
    const { md, accessToken } = await preAuthorized(peer);
    expect(md.credentialIssuer.deferred_credential_endpoint).toBe(`${peer.url}/deferred`);
    const first = await requestCredentials(md, accessToken, 'pid_sd_jwt', [holder]);
    expect(first.response.status).toBe(202);
    expect(first.credentialResponse).toMatchObject({ interval: 1 });
    expect(first.credentialResponse.credentials).toBeUndefined();
    const transactionId = first.credentialResponse.transaction_id!;
    expect(peer.issued).toEqual([]);

    const poll = () => client.retrieveDeferredCredentials({ issuerMetadata: md, accessToken, transactionId });
    for (let i = 0; i < 2; i++) {
      const pending = await refusal(poll());
      expect(pending).toMatchObject({ status: 400, body: { error: 'issuance_pending', interval: 1 } });
    }
    const done = await poll();
    const credential = firstItem(credentialStrings(done.deferredCredentialResponse), 'a credential');
    const { payload } = await verifySdJwt(peer, credential);
    expect(await thumbprint(payload.cnf.jwk)).toBe(await thumbprint(holder.publicJwk));
    expect(peer.issued).toEqual([credential]);
    const gone = await refusal(poll());
    expect([gone.status, gone.body.error]).toEqual([400, 'invalid_transaction_id']);
  });

  it('notifications are recorded in order; unknown ids and missing tokens are refused', async () => {
    const peer = await start();
    const { md, accessToken } = await preAuthorized(peer);
    const issue = async () =>
      (await requestCredentials(md, accessToken, 'pid_sd_jwt', [await walletKey()])).credentialResponse.notification_id!;
    const [id1, id2] = [await issue(), await issue()];
    const sent = await client.sendNotification({
      issuerMetadata: md,
      accessToken,
      notification: { notificationId: id1, event: 'credential_accepted', eventDescription: 'stored' },
    });
    expect(sent.response.status).toBe(204);
    await client.sendNotification({ issuerMetadata: md, accessToken, notification: { notificationId: id2, event: 'credential_deleted' } });
    expect(peer.notifications).toEqual([
      { notification_id: id1, event: 'credential_accepted', event_description: 'stored' },
      { notification_id: id2, event: 'credential_deleted' },
    ]);
    const unknown = await refusal(
      client.sendNotification({ issuerMetadata: md, accessToken, notification: { notificationId: 'nope', event: 'credential_failure' } }),
    );
    expect([unknown.status, unknown.body.error]).toEqual([400, 'invalid_notification_id']);
    const anonymous = await http(`${peer.url}/notification`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ notification_id: id1, event: 'credential_accepted' }),
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toEqual(expect.stringContaining('Bearer'));
    expect(peer.notifications).toHaveLength(2);
  });

  it('refresh tokens rotate, are single-use and stay bound to the DPoP key', async () => {
    const peer = await start({ dpop: true });
    const dpopKey = await walletKey();
    const { md, token } = await preAuthorized(peer, { dpopKey });
    const firstRefresh = token.accessTokenResponse.refresh_token!;
    const refresh = (refreshToken: string, signer?: JwtSignerJwk) =>
      oauth2Client.retrieveRefreshTokenAccessToken({
        authorizationServerMetadata: authorizationServer(md),
        refreshToken,
        ...(signer ? { dpop: { signer } } : {}),
      });
    const refreshed = await refresh(firstRefresh, dpopKey.signer);
    const secondRefresh = refreshed.accessTokenResponse.refresh_token!;
    expect(refreshed.accessTokenResponse.token_type).toBe('DPoP');
    expect(secondRefresh).toEqual(expect.any(String));
    expect(secondRefresh).not.toBe(firstRefresh);
    const { payload } = decodeJwt({ jwt: refreshed.accessTokenResponse.access_token });
    expect(payload).toMatchObject({ cnf: { jkt: await thumbprint(dpopKey.publicJwk) } });

    const old = await refusal(refresh(firstRefresh, dpopKey.signer));
    expect([old.status, old.body.error]).toEqual([400, 'invalid_grant']);
    const stolen = await refusal(refresh(secondRefresh, (await walletKey()).signer));
    expect([stolen.status, stolen.body.error]).toEqual([400, 'invalid_dpop_proof']);
    const noDpop = await refusal(refresh(secondRefresh));
    expect([noDpop.status, noDpop.body.error]).toEqual([400, 'invalid_dpop_proof']);

    // The refused attempts did not burn it; the refreshed access token works at the credential endpoint.
    const again = await refresh(secondRefresh, dpopKey.signer);
    const holder = await walletKey();
    const result = await requestCredentials(md, again.accessTokenResponse.access_token, 'pid_sd_jwt', [holder], {
      signer: dpopKey.signer,
    });
    expect(credentialStrings(result.credentialResponse)).toHaveLength(1);
  });

  it('tamper modes produce what they claim, and null resets', async () => {
    const peer = await start();
    const holder = await walletKey();
    const { md, accessToken } = await preAuthorized(peer, { configurationIds: ['pid_sd_jwt', 'diploma_jwt'] });
    const issue = async (configurationId = 'pid_sd_jwt') =>
      firstItem(credentialStrings((await requestCredentials(md, accessToken, configurationId, [holder])).credentialResponse), 'a credential');
    const holderThumbprint = await thumbprint(holder.publicJwk);

    peer.tamper('signature');
    const badSignature = await issue();
    expect(decodeProtectedHeader(issuerJwt(badSignature)).kid).toBe('issuer-key-1');
    await expect(verifySdJwt(peer, badSignature)).rejects.toThrow();
    const badVc = await issue('diploma_jwt');
    const { jwks } = (await http(`${peer.url}/.well-known/jwt-vc-issuer`)).json() as { jwks: { keys: JWK[] } };
    await expect(compactVerify(badVc, await importJWK(firstItem(jwks.keys, 'an issuer key'), 'ES256'))).rejects.toThrow(/signature/);

    peer.tamper('cnf');
    const otherKey = (await verifySdJwt(peer, await issue())).payload;
    expect(await thumbprint(otherKey.cnf.jwk)).not.toBe(holderThumbprint);

    peer.tamper('vct');
    expect((await verifySdJwt(peer, await issue())).payload.vct).toBe(`${peer.url}/vct/other`);

    peer.tamper('expired');
    const expired = await issue();
    const expiredPayload = JSON.parse(Buffer.from(firstItem(issuerJwt(expired).split('.').slice(1), 'a JWT payload'), 'base64url').toString('utf8')) as { exp: number };
    expect(expiredPayload.exp).toBeLessThan(nowS());
    await expect(verifySdJwt(peer, expired)).rejects.toThrow();

    peer.tamper(null);
    const fine = await verifySdJwt(peer, await issue());
    expect(fine.payload.vct).toBe(`${peer.url}/vct/pid`);
    expect(await thumbprint(fine.payload.cnf.jwk)).toBe(holderThumbprint);
    expect(peer.issued).toHaveLength(6);
  });

  it("response encryption 'required': plain requests refused, responses are application/jwt JWEs to the wallet key", async () => {
    const peer = await start({ responseEncryption: 'required' });
    const holder = await walletKey();
    const { md, accessToken } = await preAuthorized(peer);
    expect(md.credentialIssuer.credential_response_encryption).toEqual({
      alg_values_supported: ['ECDH-ES'],
      enc_values_supported: ['A128GCM', 'A256GCM'],
      encryption_required: true,
    });
    const plain = await refusal(requestCredentials(md, accessToken, 'pid_sd_jwt', [holder]));
    expect([plain.status, plain.body.error]).toEqual([400, 'invalid_encryption_parameters']);

    // The @openid4vc client accepts only JSON credential responses, so this request is sent by hand.
    const { publicKey, privateKey } = await generateKeyPair('ECDH-ES', { crv: 'P-256' });
    const encryptionJwk = { ...(await exportJWK(publicKey)), alg: 'ECDH-ES', use: 'enc', kid: 'wallet-enc-1' };
    const answer = await http(`${peer.url}/credential`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({
        credential_configuration_id: 'pid_sd_jwt',
        proofs: { jwt: await proofs(md, 'pid_sd_jwt', [holder]) },
        credential_response_encryption: { jwk: encryptionJwk, alg: 'ECDH-ES', enc: 'A256GCM' },
      }),
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/jwt');
    const { plaintext, protectedHeader } = await compactDecrypt(answer.text, privateKey);
    expect(protectedHeader).toMatchObject({ alg: 'ECDH-ES', enc: 'A256GCM', kid: 'wallet-enc-1' });
    const body = JSON.parse(new TextDecoder().decode(plaintext)) as { credentials: Array<{ credential: string }>; notification_id: string };
    expect(typeof body.notification_id).toBe('string');
    const { payload } = await verifySdJwt(peer, firstItem(body.credentials, 'a credential').credential);
    expect(await thumbprint(payload.cnf.jwk)).toBe(await thumbprint(holder.publicJwk));

    const badEnc = await http(`${peer.url}/credential`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({
        credential_configuration_id: 'pid_sd_jwt',
        proofs: { jwt: await proofs(md, 'pid_sd_jwt', [holder]) },
        credential_response_encryption: { jwk: encryptionJwk, alg: 'ECDH-ES', enc: 'A192CBC-HS384' },
      }),
    });
    expect([badEnc.status, badEnc.json().error]).toEqual([400, 'invalid_encryption_parameters']);
  });

  it("issuerKey 'x5c' with signed metadata: header chains and the metadata JWT verify against trustedRootPem", async () => {
    const peer = await start({ issuerKey: 'x5c', signedMetadata: true });
    const root = new X509Certificate(peer.trustedRootPem!);
    const verifyChain = (x5c: string[]) => {
      const [leaf, intermediate] = x5c.map((der) => new X509Certificate(Buffer.from(der, 'base64')));
      if (!leaf || !intermediate) throw new Error(`expected a leaf and an intermediate certificate, got ${x5c.length}`);
      expect(leaf.verify(intermediate.publicKey)).toBe(true);
      expect(intermediate.verify(root.publicKey)).toBe(true);
      expect(leaf.subjectAltName).toContain('IP Address:127.0.0.1');
      expect(leaf.subjectAltName).toContain(`URI:${peer.url}`);
      return leaf;
    };

    const metadata = (await http(`${peer.url}/.well-known/openid-credential-issuer`)).json() as Json & { signed_metadata: string };
    const signedHeader = decodeProtectedHeader(metadata.signed_metadata);
    expect(signedHeader.typ).toBe('openidvci-issuer-metadata+jwt');
    const metadataLeaf = verifyChain(signedHeader.x5c!);
    const { payload } = await jwtVerify(metadata.signed_metadata, metadataLeaf.publicKey);
    expect(payload).toMatchObject({ sub: peer.url, iss: peer.url, credential_endpoint: `${peer.url}/credential` });
    const negotiated = await http(`${peer.url}/.well-known/openid-credential-issuer`, { headers: { accept: 'application/jwt' } });
    expect([negotiated.headers['content-type'], negotiated.text]).toEqual(['application/jwt', metadata.signed_metadata]);
    expect((await http(`${peer.url}/.well-known/jwt-vc-issuer`)).status).toBe(404);

    const holder = await walletKey();
    const { md, accessToken } = await preAuthorized(peer);
    const result = await requestCredentials(md, accessToken, 'pid_sd_jwt', [holder]);
    const credential = firstItem(credentialStrings(result.credentialResponse), 'a credential');
    const header = decodeProtectedHeader(issuerJwt(credential));
    expect(header.kid).toBeUndefined();
    const leaf = verifyChain(header.x5c!);
    const verifier = await ES256.getVerifier((leaf.publicKey.export({ format: 'jwk' }) as JWK) as never);
    const verified = await new SDJwtVcInstance({ hasher: digest, verifier }).verify(credential);
    expect(verified.payload).toMatchObject({ iss: peer.url, vct: `${peer.url}/vct/pid` });
  });

  it("issuerKey 'did:jwk': iss is the DID and kid is <did>#0", async () => {
    const peer = await start({ issuerKey: 'did:jwk' });
    expect(peer.trustedRootPem).toBeUndefined();
    const holder = await walletKey();
    const { md, accessToken } = await preAuthorized(peer, { configurationIds: ['diploma_jwt'] });
    const result = await requestCredentials(md, accessToken, 'diploma_jwt', [holder]);
    const vc = firstItem(credentialStrings(result.credentialResponse), 'a credential');
    const header = decodeProtectedHeader(vc);
    const did = String(header.kid).replace(/#0$/, '');
    expect(header.kid).toBe(`${did}#0`);
    expect(did).toMatch(/^did:jwk:/);
    const didJwk = JSON.parse(Buffer.from(did.slice('did:jwk:'.length), 'base64url').toString('utf8')) as JWK;
    const { payload } = await jwtVerify(vc, await importJWK(didJwk, 'ES256'), { issuer: did });
    expect(await thumbprint((payload.cnf as { jwk: JWK }).jwk)).toBe(await thumbprint(holder.publicJwk));
  });

  it('refuses stale proofs, missing tokens, oversized bodies and unknown endpoints with OAuth error JSON', async () => {
    const peer = await start();
    const holder = await walletKey();
    const { md, accessToken } = await preAuthorized(peer);
    const stale = await refusal(
      client.retrieveCredentials({
        issuerMetadata: md,
        credentialConfigurationId: 'pid_sd_jwt',
        accessToken,
        proofs: { jwt: await proofs(md, 'pid_sd_jwt', [holder], undefined, new Date(Date.now() - 10 * 60_000)) },
      }),
    );
    expect(stale).toMatchObject({
      status: 400,
      body: { error: 'invalid_proof', error_description: expect.stringContaining('5 minutes') },
    });
    const noProof = await http(`${peer.url}/credential`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ credential_configuration_id: 'pid_sd_jwt' }),
    });
    expect([noProof.status, noProof.json().error]).toEqual([400, 'invalid_proof']);
    const noToken = await http(`${peer.url}/credential`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ credential_configuration_id: 'pid_sd_jwt' }),
    });
    expect(noToken.status).toBe(401);
    expect(noToken.headers['www-authenticate']).toEqual(expect.stringContaining('Bearer'));
    const forged = await http(`${peer.url}/credential`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken.slice(0, -4)}AAAA` },
      body: JSON.stringify({ credential_configuration_id: 'pid_sd_jwt' }),
    });
    expect([forged.status, forged.json().error]).toEqual([401, 'invalid_token']);
    const huge = await http(`${peer.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=x&pad=${'a'.repeat(70 * 1024)}`,
    });
    expect([huge.status, huge.json().error]).toEqual([413, 'invalid_request']);
    const unknownGrant = await http(`${peer.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=password&username=a&password=b',
    });
    expect([unknownGrant.status, unknownGrant.json().error]).toEqual([400, 'unsupported_grant_type']);
    expect((await http(`${peer.url}/nope`)).status).toBe(404);
    expect((await http(`${peer.url}/token`)).status).toBe(405);
  });
});
