import {
  createDidJwkKey,
  createTestPki,
  createTestSdJwtIssuer,
  startBuiltApp,
  startTestPdp,
  startTestVerifier,
  type ServiceProcess,
  type TestPdp,
  type TestPki,
  type TestVerifier,
  type TestVerifierClient,
  type TestVerifierRequest,
  type TestVerifierRequestOptions,
} from '@wallet/testing';
import {
  createKeyring,
  jwkThumbprint,
  type HeldStoredCredential,
  type Jwk,
  type PresentationConsentRequest,
  type PresentationResult,
} from '@wallet/wallet-client';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessToken, engineUrl, loopbackEngineEnv, walletClient } from './engine-fixtures';

const ISSUER = 'https://issuer.example';
const PID = 'https://credentials.example/pid';
const MEMBERSHIP = 'https://credentials.example/membership';
const LICENSE = 'https://credentials.example/driving-licence';
const ADMIN = 'engine-third-party-verifier-admin-token-'.padEnd(48, 'x');
const PRE_REGISTERED = 'shop-pre-registered';
/** The engine's limit on what it fetches: a request object above it is refused. */
const MAX_RESPONSE_BYTES = 65_536;

const pidQuery = {
  credentials: [
    {
      id: 'pid',
      format: 'dc+sd-jwt',
      meta: { vct_values: [PID] },
      claims: [{ path: ['given_name'] }, { path: ['address', 'country'] }],
    },
  ],
};

/**
 * OpenID4VP from the wallet side against a verifier we did not write: the
 * verifier peer makes and signs its requests with `@openid4vc/openid4vp`
 * (Openid4vpVerifier) and verifies every presentation with
 * `@sd-jwt/sd-jwt-vc` (issuer signature, key binding, nonce, audience,
 * sd_hash). The wallet is the engine in the built all-in-one plus the client
 * library (`EngineClient.present`, keyring, local matching and consent).
 */
describe('engine: OpenID4VP to a third-party verifier, through the client library', () => {
  let proc: ServiceProcess;
  let pdp: TestPdp;
  let verifier: TestVerifier;
  let dir: string;
  let url: string;
  let token: string;
  let verifierPki: TestPki;
  let attesterPki: TestPki;
  let roguePki: TestPki;
  let preRegisteredKey: ReturnType<typeof createDidJwkKey>;
  const keyring = createKeyring();
  const held: HeldStoredCredential[] = [];
  /** Effective client ids the PDP refuses. */
  const distrusted = new Set<string>();

  beforeAll(async () => {
    const issuerPki = createTestPki({ leafSan: `URI:${ISSUER}` });
    verifierPki = createTestPki({ leafSan: 'DNS:localhost' });
    attesterPki = createTestPki({ leafSan: 'DNS:attester.example' });
    // Same SAN as the real verifier, but its root is not among the engine's trusted roots.
    roguePki = createTestPki({ leafSan: 'DNS:localhost' });
    const issuer = await createTestSdJwtIssuer(ISSUER, { privateJwk: issuerPki.leafPrivateJwk, x5c: issuerPki.x5c });

    // The holder key lives in the client's keyring; the credentials are bound to it.
    const privateJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as Jwk;
    const publicJwk = { kty: 'EC' as const, crv: 'P-256' as const, x: privateJwk.x!, y: privateJwk.y! };
    await keyring.importKeys([{ jkt: await jwkThumbprint(publicJwk), purpose: 'proof', publicJwk, privateJwk, createdAt: new Date().toISOString() }]);
    held.push({
      id: 'pid-1',
      format: 'dc+sd-jwt',
      credential: await issuer.issue(
        { given_name: 'Erika', family_name: 'Mustermann', birthdate: '1964-08-12', address: { country: 'DE', locality: 'Berlin', street_address: 'Heidestrasse 17' } },
        { _sd: ['given_name', 'family_name', 'birthdate', 'address'], address: { _sd: ['country', 'locality', 'street_address'] } },
        { vct: PID, holderJwk: publicJwk },
      ),
    });
    held.push({
      id: 'membership-1',
      format: 'dc+sd-jwt',
      credential: await issuer.issue({ member_id: 'M-4711', level: 'gold' }, { _sd: ['member_id', 'level'] }, { vct: MEMBERSHIP, holderJwk: publicJwk }),
    });

    verifier = await startTestVerifier({ host: 'localhost', issuerKeys: [issuer.publicJwk] });
    pdp = await startTestPdp((q) => q.action.name === 'credential-verifier' && !distrusted.has(q.subject.id));
    dir = mkdtempSync(join(tmpdir(), 'wallet-engine-3p-vp-'));
    writeFileSync(join(dir, 'engine-roots.pem'), [issuerPki.rootPem, verifierPki.rootPem, attesterPki.rootPem].join('\n'));
    proc = await startBuiltApp('all-in-one', {
      ...loopbackEngineEnv(pdp.url),
      WALLET_SERVER_ADMIN_TOKEN: ADMIN,
      WALLET_ENGINE_TRUSTED_ROOTS_FILE: join(dir, 'engine-roots.pem'),
      WALLET_ENGINE_MAX_RESPONSE_BYTES: String(MAX_RESPONSE_BYTES),
      WALLET_ENGINE_FLOW_STARTS_PER_MINUTE: '200',
    });
    url = engineUrl(proc.servers.get('wallet')!);
    token = await accessToken(proc.servers.get('wallet')!);

    // The pre-registered verifier: the tenant's admin registers its client id and request signing key.
    preRegisteredKey = createDidJwkKey();
    const registered = await fetch(`${proc.servers.get('admin')}/admin/tenants/default/verifiers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Registered Shop', url: verifier.url, client_id: PRE_REGISTERED, jwks: [{ ...preRegisteredKey.publicJwk, alg: 'ES256', use: 'sig' }] }),
    });
    expect(registered.status).toBe(201);
  });

  afterAll(async () => {
    await proc?.stop('SIGTERM');
    await verifier?.close();
    await pdp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const clients = (): Record<string, TestVerifierClient> => ({
    x509_san_dns: { prefix: 'x509_san_dns', pki: verifierPki },
    x509_hash: { prefix: 'x509_hash', pki: verifierPki },
    decentralized_identifier: { prefix: 'decentralized_identifier', key: createDidJwkKey() },
    verifier_attestation: { prefix: 'verifier_attestation', identifier: 'attested-shop', attester: attesterPki, name: 'Attested Shop' },
    'pre-registered': { prefix: 'pre-registered', clientId: PRE_REGISTERED, privateJwk: preRegisteredKey.privateJwk },
  });

  /** Presents through the client library; the user agrees to what the client suggests. */
  async function present(link: string): Promise<{ result?: PresentationResult; error?: { name: string; code: string; message: string }; consents: PresentationConsentRequest[] }> {
    const consents: PresentationConsentRequest[] = [];
    const { client } = walletClient(
      url,
      token,
      {
        credentials: async () => held,
        consentToPresentation: async (request) => {
          consents.push(request);
          return request.suggestion ?? 'decline';
        },
        signWith: keyring.signWith,
      },
      { keyring },
    );
    try {
      return { result: await client.present(link), consents };
    } catch (error) {
      const e = error as { name: string; code: string; message: string };
      return { error: { name: e.name, code: e.code, message: e.message }, consents };
    } finally {
      await client.close();
    }
  }

  /** The one presentation the verifier verified for this request. */
  function verified(request: TestVerifierRequest) {
    expect(request.responses).toHaveLength(1);
    const response = request.responses[0]!;
    expect(response.rejected).toBeUndefined();
    expect(response.error).toBeUndefined();
    return response;
  }

  it.each([
    ['x509_san_dns', 'get', 'direct_post.jwt'],
    ['x509_san_dns', 'post', 'direct_post'],
    ['x509_hash', 'post', 'direct_post.jwt'],
    ['decentralized_identifier', 'get', 'direct_post'],
    ['verifier_attestation', 'post', 'direct_post.jwt'],
    ['pre-registered', 'get', 'direct_post'],
  ] as const)('%s verifier (request_uri_method %s, %s): verifies exactly given_name and address.country', async (prefix, method, responseMode) => {
    const request = await verifier.createRequest({ client: clients()[prefix]!, dcqlQuery: pidQuery, requestUriMethod: method, responseMode, clientName: 'Metadata Name' });
    const { result, error, consents } = await present(request.link);
    expect(error).toBeUndefined();

    // The request object was fetched once, with the method the link names; a POST echoes the wallet's nonce.
    expect(request.fetches).toHaveLength(1);
    const fetched = request.fetches[0]!;
    expect(fetched.method).toBe(method.toUpperCase());
    if (method === 'post') {
      expect(fetched.walletNonce).toMatch(/^[\w-]{16,}$/);
      expect(decodeJwt(fetched.requestObject)['wallet_nonce']).toBe(fetched.walletNonce);
      expect(fetched.walletMetadataProblem).toBeUndefined();
      expect(fetched.walletMetadata).toMatchObject({ vp_formats_supported: { 'dc+sd-jwt': expect.any(Object) }, response_modes_supported: expect.arrayContaining([responseMode]) });
    } else {
      expect(fetched.walletNonce).toBeUndefined();
    }

    // What the user was asked, and what the flow reports.
    expect(consents).toHaveLength(1);
    expect(consents[0]!.verifier).toMatchObject({ client_id: request.effectiveClientId, client_id_prefix: prefix, request_signed: true, trust: { trusted: true, source: 'pdp' } });
    if (prefix === 'pre-registered') expect(consents[0]!.verifier.name).toBe('Registered Shop');
    if (prefix === 'verifier_attestation') expect(consents[0]!.verifier.name).toBe('Attested Shop');
    expect(result).toMatchObject({ verifier: { client_id: request.effectiveClientId, client_id_prefix: prefix }, redirect_uri: request.redirectUri });

    // The PDP judged this verifier with its key material (for an attestation: the attester's chain).
    // Its decisions are cached, so a verifier seen in an earlier test may not be asked again.
    const asked = pdp.queries.filter((q) => q.subject.id === request.effectiveClientId);
    expect(asked.length).toBeGreaterThan(0);
    for (const query of asked) {
      expect(query.resource).toEqual(
        'x5c' in request.publicKey
          ? { type: 'x5c', id: request.effectiveClientId, key: request.publicKey.x5c }
          : { type: 'jwk', id: request.effectiveClientId, key: [expect.objectContaining({ x: request.publicKey.jwk.x, y: request.publicKey.jwk.y })] },
      );
    }

    // What the third-party verifier received and verified.
    const response = verified(request);
    expect(response.responseMode).toBe(responseMode);
    if (responseMode === 'direct_post.jwt') {
      expect(response.jarmType).toBe('Encrypted');
      expect(response.jweHeader).toMatchObject({ alg: 'ECDH-ES', enc: 'A256GCM', kid: `enc-${request.id}` });
    } else {
      expect(response.jweHeader).toBeUndefined();
    }
    expect(response.presentations).toHaveLength(1);
    const [presentation] = response.presentations;
    expect(presentation!.queryId).toBe('pid');
    expect(presentation!.disclosures).toEqual(['address', 'country', 'given_name']);
    expect(presentation!.claims).toMatchObject({ iss: ISSUER, vct: PID, given_name: 'Erika', address: { country: 'DE' } });
    expect(presentation!.claims).not.toHaveProperty('family_name');
    expect(presentation!.claims).not.toHaveProperty('birthdate');
    expect(presentation!.claims['address']).toEqual({ country: 'DE' });
    expect(presentation!.kb.header).toMatchObject({ typ: 'kb+jwt', alg: 'ES256' });
    expect(presentation!.kb.payload).toMatchObject({ aud: request.effectiveClientId, nonce: request.nonce, sd_hash: expect.any(String) });
    expect(presentation!.kb.payload).not.toHaveProperty('transaction_data_hashes');
  });

  it('claim_sets: the verifier receives the claims of one set only, the first the credential meets', async () => {
    const request = await verifier.createRequest({
      client: clients()['x509_san_dns']!,
      responseMode: 'direct_post.jwt',
      dcqlQuery: {
        credentials: [
          {
            id: 'pid',
            format: 'dc+sd-jwt',
            meta: { vct_values: [PID] },
            claims: [
              { id: 'nationalities', path: ['nationalities'] },
              { id: 'given_name', path: ['given_name'] },
              { id: 'family_name', path: ['family_name'] },
              { id: 'country', path: ['address', 'country'] },
              { id: 'birthdate', path: ['birthdate'] },
            ],
            // The first set asks for a claim the credential lacks; the second is met; the third is never used.
            claim_sets: [['nationalities', 'family_name'], ['given_name', 'country'], ['family_name', 'birthdate']],
          },
        ],
      },
    });
    const { result, error, consents } = await present(request.link);
    expect(error).toBeUndefined();
    expect(result?.redirect_uri).toBe(request.redirectUri);
    expect(consents[0]!.queries[0]!.candidates[0]!.claimSet).toBe(1);
    const [presentation] = verified(request).presentations;
    expect(presentation!.disclosures).toEqual(['address', 'country', 'given_name']);
    expect(presentation!.claims).toMatchObject({ given_name: 'Erika', address: { country: 'DE' } });
    for (const absent of ['family_name', 'birthdate', 'nationalities']) expect(presentation!.claims).not.toHaveProperty(absent);
  });

  it('credential_sets: the verifier receives one option of the required set and nothing optional', async () => {
    const request = await verifier.createRequest({
      client: clients()['decentralized_identifier']!,
      dcqlQuery: {
        credentials: [
          { id: 'licence', format: 'dc+sd-jwt', meta: { vct_values: [LICENSE] }, claims: [{ path: ['licence_number'] }] },
          pidQuery.credentials[0],
          { id: 'membership', format: 'dc+sd-jwt', meta: { vct_values: [MEMBERSHIP] }, claims: [{ path: ['member_id'] }] },
        ],
        credential_sets: [
          // The wallet holds no licence, so the PID answers this set.
          { options: [['licence'], ['pid']], required: true },
          { options: [['membership']], required: false },
        ],
      },
    });
    const { result, error, consents } = await present(request.link);
    expect(error).toBeUndefined();
    expect(result?.redirect_uri).toBe(request.redirectUri);
    expect(consents[0]!.suggestion).toEqual({ credentials: { pid: ['pid-1'] } });
    const response = verified(request);
    expect(response.presentations.map((p) => p.queryId)).toEqual(['pid']);
    expect(response.presentations[0]!.disclosures).toEqual(['address', 'country', 'given_name']);
    expect(response.presentations[0]!.claims).not.toHaveProperty('member_id');
  });

  it('transaction data: the KB-JWT carries the hash of each item naming the query, and the verifier checks it', async () => {
    const payment = { type: 'payment_confirmation', credential_ids: ['pid'], transaction_data_hashes_alg: ['sha-256'], amount: '42.00', currency: 'EUR', payee: 'Shop' };
    const request = await verifier.createRequest({ client: clients()['x509_hash']!, dcqlQuery: pidQuery, responseMode: 'direct_post.jwt', transactionData: [payment] });
    const { error, consents } = await present(request.link);
    expect(error).toBeUndefined();
    // The user saw the transaction.
    expect(consents[0]!.transactionData).toEqual([{ data: payment, encoded: request.transactionData[0], appliesTo: ['pid'] }]);
    const response = verified(request);
    const expectedHash = createHash('sha256').update(request.transactionData[0]!).digest('base64url');
    expect(response.presentations[0]!.kb.payload).toMatchObject({ transaction_data_hashes: [expectedHash], transaction_data_hashes_alg: 'sha-256' });
    // @openid4vc/openid4vp's own check of the hashes against the request's transaction data.
    expect(response.transactionData).toEqual([
      expect.objectContaining({ credentialId: 'pid', presentations: [expect.objectContaining({ presentationIndex: 0, hash: expectedHash, hashAlg: 'sha-256', credentialHashIndex: 0 })] }),
    ]);
  });

  it('a declined request reaches the verifier as access_denied, with no presentation', async () => {
    const request = await verifier.createRequest({ client: clients()['x509_san_dns']!, dcqlQuery: pidQuery });
    const { client } = walletClient(url, token, { credentials: async () => held, consentToPresentation: async () => 'decline', signWith: keyring.signWith }, { keyring });
    await expect(client.present(request.link)).rejects.toMatchObject({ name: 'EngineFlowError', code: 'declined' });
    await client.close();
    expect(request.responses).toEqual([{ responseMode: 'direct_post', error: 'access_denied', presentations: [] }]);
  });

  describe('refusals: the flow ends with a typed error, the user is not asked and the verifier receives nothing', () => {
    /** Why the engine refused the request's signature, as it tells the client. */
    const untrustedChain = /^the request signature or its key is not trusted \(.*(trusted root|chain).*\)$/;
    const unregisteredKey = /^the request is not signed by a key of a verifier the tenant registered$/;
    const refusals: Array<[string, () => TestVerifierRequestOptions, string, RegExp]> = [
      [
        'an x509_san_dns request whose chain leads to no trusted root',
        () => ({ client: { prefix: 'x509_san_dns', pki: roguePki }, dcqlQuery: pidQuery }),
        'invalid_request',
        untrustedChain,
      ],
      [
        'a pre-registered client id whose request is signed by a key the tenant did not register',
        () => ({ client: { prefix: 'pre-registered', clientId: PRE_REGISTERED, privateJwk: createDidJwkKey().privateJwk }, dcqlQuery: pidQuery }),
        'invalid_request',
        unregisteredKey,
      ],
      [
        'a verifier attestation signed by an attester whose chain leads to no trusted root',
        () => ({ client: { prefix: 'verifier_attestation', identifier: 'attested-shop', attester: roguePki }, dcqlQuery: pidQuery }),
        'invalid_request',
        untrustedChain,
      ],
      [
        'a verifier attestation whose redirect_uris do not list the response_uri',
        () => ({ client: { prefix: 'verifier_attestation', identifier: 'attested-shop', attester: attesterPki, redirectUris: ['https://elsewhere.example/cb'] }, dcqlQuery: pidQuery }),
        'invalid_request',
        /response_uri is not one the verifier attestation allows/,
      ],
      [
        'a direct_post.jwt request without an encryption key',
        () => ({ client: { prefix: 'x509_san_dns', pki: verifierPki }, dcqlQuery: pidQuery, responseMode: 'direct_post.jwt', omitEncryptionKey: true }),
        'invalid_request',
        /needs an EC encryption key/,
      ],
      [
        'a direct_post.jwt request with only content encryptions the wallet does not support',
        () => ({ client: { prefix: 'x509_san_dns', pki: verifierPki }, dcqlQuery: pidQuery, responseMode: 'direct_post.jwt', encValues: ['A192GCM'] }),
        'invalid_request',
        /no content encryption this wallet supports/,
      ],
      [
        'a request object fetched with POST that does not echo the wallet_nonce',
        () => ({ client: { prefix: 'x509_san_dns', pki: verifierPki }, dcqlQuery: pidQuery, requestUriMethod: 'post', echoWalletNonce: false }),
        'invalid_request',
        /wallet_nonce/,
      ],
      [
        'an x509_san_dns request whose response_uri host is not the SAN',
        () => ({ client: { prefix: 'x509_san_dns', pki: verifierPki }, dcqlQuery: pidQuery, responseUriHost: '127.0.0.1' }),
        'invalid_request',
        /x509_san_dns/,
      ],
      [
        'a request object for another audience than the wallet',
        () => ({ client: { prefix: 'x509_san_dns', pki: verifierPki }, dcqlQuery: pidQuery, jarClaims: { aud: 'https://another-wallet.example' } }),
        'invalid_request',
        /another audience/,
      ],
      [
        'an expired request object',
        () => ({
          client: { prefix: 'x509_san_dns', pki: verifierPki },
          dcqlQuery: pidQuery,
          jarClaims: { iat: Math.floor(Date.now() / 1000) - 3_600, exp: Math.floor(Date.now() / 1000) - 3_000 },
        }),
        'invalid_request',
        /'exp' is in the past|expired/,
      ],
      [
        `a request object over the engine's ${MAX_RESPONSE_BYTES}-byte limit`,
        () => ({ client: { prefix: 'x509_san_dns', pki: verifierPki }, dcqlQuery: pidQuery, jarClaims: { padding: 'x'.repeat(MAX_RESPONSE_BYTES + 1_024) } }),
        'upstream_failed',
        new RegExp(`more than ${MAX_RESPONSE_BYTES} bytes`),
      ],
    ];

    it.each(refusals)('%s', async (_what, options, code, message) => {
      const request = await verifier.createRequest(options());
      const asked = pdp.queries.length;
      const { result, error, consents } = await present(request.link);
      expect(result).toBeUndefined();
      expect(error).toMatchObject({ name: 'EngineFlowError', code });
      expect(error!.message).toMatch(message);
      // The engine did fetch the request (the refusal is about its content), then stopped before trust, user and verifier.
      expect(request.fetches).toHaveLength(1);
      expect(pdp.queries.length).toBe(asked);
      expect(consents).toEqual([]);
      expect(request.responses).toEqual([]);
    });

    it('a verifier the PDP refuses: untrusted_verifier', async () => {
      const request = await verifier.createRequest({ client: clients()['decentralized_identifier']!, dcqlQuery: pidQuery, responseMode: 'direct_post.jwt' });
      distrusted.add(request.effectiveClientId);
      const { result, error, consents } = await present(request.link);
      expect(result).toBeUndefined();
      expect(error).toMatchObject({ name: 'EngineFlowError', code: 'untrusted_verifier' });
      expect(pdp.queries.filter((q) => q.subject.id === request.effectiveClientId)).toEqual([
        expect.objectContaining({ action: expect.objectContaining({ name: 'credential-verifier' }), resource: expect.objectContaining({ type: 'jwk' }) }),
      ]);
      expect(request.fetches).toHaveLength(1);
      expect(consents).toEqual([]);
      expect(request.responses).toEqual([]);
    });
  });

  it('the request objects the peer serves are what a verifier of OpenID4VP 1.0 signs', async () => {
    // A sanity check of the peer itself, so the refusals above are refusals of the one thing changed.
    const request = await verifier.createRequest({ client: clients()['x509_san_dns']!, dcqlQuery: pidQuery, requestUriMethod: 'post', responseMode: 'direct_post.jwt' });
    const served = await fetch(new URL(request.link).searchParams.get('request_uri')!.replace('localhost', '127.0.0.1'));
    expect(served.headers.get('content-type')).toBe('application/oauth-authz-req+jwt');
    const jwt = await served.text();
    expect(decodeProtectedHeader(jwt)).toMatchObject({ typ: 'oauth-authz-req+jwt', alg: 'ES256', x5c: verifierPki.x5c });
    expect(decodeJwt(jwt)).toMatchObject({
      aud: 'https://self-issued.me/v2',
      client_id: request.clientId,
      response_uri: request.responseUri,
      response_mode: 'direct_post.jwt',
      nonce: request.nonce,
      state: request.state,
      dcql_query: pidQuery,
      client_metadata: { jwks: { keys: [expect.objectContaining({ kid: `enc-${request.id}`, use: 'enc' })] } },
    });
    expect(new URL(request.link).searchParams.get('request_uri_method')).toBe('post');
  });
});
