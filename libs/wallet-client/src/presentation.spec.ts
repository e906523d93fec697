import type { ClientMessageOf, JsonObject, ServerMessage } from '@wallet/engine-protocol';
import { verifyJwtVp, verifySdJwtVc } from '@wallet/protocol';
import { createDidJwkKey, createTestSdJwtIssuer, type TestSdJwtIssuer } from '@wallet/testing';
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT, type JWK, type KeyLike } from 'jose';
import { createHash } from 'node:crypto';
import { WebSocket } from 'ws';
import { FakeEngine, flowComplete, flowId, flowStarted, presentationComplete, question, VERIFIER, type FakeConnection } from '../test/fake-engine';
import { EngineClient } from './engine-client';
import { ClientFailureError, EngineFlowError, EngineResultError } from './errors';
import { createKeyring, type Keyring } from './keyring';
import type { HeldStoredCredential, PresentationConsentRequest, PresentationChoice, WalletHandlers } from './types';

const FLOW = flowId(7);
const LINK = 'openid4vp://?client_id=x509_san_dns%3Averifier.example&request_uri=https%3A%2F%2Fverifier.example%2Frequest%2F1';
const NONCE = 'n-0S6_WzA2Mj';
const AUD = VERIFIER.client_id;
const PID = 'urn:eu.europa.ec.eudi:pid:1';
const MDL = 'urn:example:mdl';

const pidClaims = {
  given_name: 'Erika',
  family_name: 'Mustermann',
  birthdate: '1964-08-12',
  age_equal_or_over: { '18': true, '65': false },
  address: { street_address: 'Heidestraße 17', locality: 'Köln', country: 'DE' },
  nationalities: ['DE', 'FR'],
};
const pidFrame = {
  _sd: ['given_name', 'family_name', 'birthdate', 'age_equal_or_over', 'address', 'nationalities'],
  age_equal_or_over: { _sd: ['18', '65'] },
  address: { _sd: ['street_address', 'locality', 'country'] },
  nationalities: { _sd: [0, 1] },
};

/** A holder key made the way an issuance makes it: a proof the keyring signs with a new key. */
async function newHolderKey(keyring: Keyring): Promise<JWK> {
  const proof = await keyring.sign({ id: 'p1', purpose: 'proof', header: { typ: 'openid4vci-proof+jwt' }, payload: { nonce: 'c' }, algs: ['ES256'] }, { flowId: 'issuance' });
  return decodeProtectedHeader(proof).jwk as JWK;
}

let engine: FakeEngine;
let issuer: TestSdJwtIssuer;
let issuerKey: KeyLike | Uint8Array;
let keyring: Keyring;
let wallet: HeldStoredCredential[];
let diplomaIssuerKey: KeyLike | Uint8Array;
const clients: EngineClient[] = [];

beforeAll(async () => {
  issuer = await createTestSdJwtIssuer('https://issuer.example');
  issuerKey = await importJWK(issuer.publicJwk, 'ES256');
  keyring = createKeyring();
  const diplomaIssuer = createDidJwkKey();
  diplomaIssuerKey = await importJWK(diplomaIssuer.publicJwk, 'ES256');
  const holderJwk = await newHolderKey(keyring);
  const holderDid = `did:jwk:${Buffer.from(JSON.stringify(holderJwk)).toString('base64url')}`;
  const diploma = await new SignJWT({ vc: { type: ['VerifiableCredential', 'UniversityDegreeCredential'], credentialSubject: { id: holderDid, degree: 'BSc' } } })
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: diplomaIssuer.kid })
    .setIssuer(diplomaIssuer.did)
    .setSubject(holderDid)
    .setIssuedAt()
    .sign(await importJWK(diplomaIssuer.privateJwk, 'ES256'));
  wallet = [
    { id: 'w-pid', format: 'dc+sd-jwt', credential: await issuer.issue(pidClaims, pidFrame, { vct: PID, holderJwk: await newHolderKey(keyring) }) },
    { id: 'w-mdl', format: 'dc+sd-jwt', credential: await issuer.issue({ category: 'B' }, { _sd: ['category'] }, { vct: MDL, holderJwk: await newHolderKey(keyring) }) },
    { id: 'w-diploma', format: 'jwt_vc_json', credential: diploma },
    { id: 'w-mdoc', format: 'mso_mdoc', credential: 'omdkb2NUeXBl' },
  ];
});

beforeEach(async () => {
  engine = await FakeEngine.start();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const connection of engine.connections) expect(connection.refused).toEqual([]);
  await engine.stop();
});

function makeClient(handlers: Partial<WalletHandlers> = {}): EngineClient {
  const client = new EngineClient({
    url: engine.url,
    WebSocket,
    getToken: () => 'token-1',
    reconnect: { baseDelayMs: 5, maxDelayMs: 20 },
    timeoutMs: 2_000,
    pingIntervalMs: 0,
    handlers: { sign: keyring.sign, signWith: keyring.signWith, credentials: async () => wallet, ...handlers },
  });
  clients.push(client);
  return client;
}

/** Starts a presentation and returns the engine's side of it once the flow runs. */
async function startPresentation(client: EngineClient): Promise<{ conn: FakeConnection; result: ReturnType<EngineClient['present']> }> {
  const result = client.present(LINK);
  result.catch(() => undefined); // observed by each test
  const conn = await engine.nextConnection();
  const start = await conn.next('flow_start');
  expect(start).toMatchObject({ protocol: 'oid4vp', params: { request: LINK } });
  conn.send(flowStarted(start, FLOW));
  return { conn, result };
}

function presentationRequest(messageId: string, query: { dcql_query: JsonObject } | { presentation_definition: JsonObject }, extra: { transaction_data?: JsonObject[]; transaction_data_encoded?: string[] } = {}): ServerMessage {
  return question('presentation_request', FLOW, messageId, { verifier: VERIFIER, query, nonce: NONCE, audience: AUD, ...extra });
}

const verifyPid = (presentation: string) => verifySdJwtVc(presentation, { resolveIssuerKey: async () => issuerKey, nonce: NONCE, audience: AUD });

/** The claims a verified SD-JWT VC discloses, without those always visible. */
function userClaims(claims: Record<string, unknown>): Record<string, unknown> {
  const { iss: _iss, vct: _vct, cnf: _cnf, iat: _iat, ...rest } = claims;
  return rest;
}

describe('EngineClient.present', () => {
  it('matches locally, shows exactly the claims, and presents only those; the verifier accepts it', async () => {
    const seen: PresentationConsentRequest[] = [];
    const client = makeClient({
      consentToPresentation: async (request) => {
        seen.push(request);
        return request.suggestion!;
      },
    });
    const { conn, result } = await startPresentation(client);
    conn.send(
      presentationRequest('q1', {
        dcql_query: {
          credentials: [
            {
              id: 'pid',
              format: 'dc+sd-jwt',
              meta: { vct_values: [PID] },
              claims: [{ path: ['given_name'] }, { path: ['address', 'locality'] }, { path: ['age_equal_or_over', '18'], values: [true] }],
            },
          ],
        },
      }),
    );
    const response = await conn.next('presentation_response');

    expect(seen).toHaveLength(1);
    const [consent] = seen as [PresentationConsentRequest];
    expect(consent).toMatchObject({ flowId: FLOW, verifier: VERIFIER, queryLanguage: 'dcql', satisfiable: true, credentialSets: null, transactionData: [] });
    expect(consent.queries).toHaveLength(1);
    expect(consent.queries[0]!.candidates).toHaveLength(1);
    const [candidate] = consent.queries[0]!.candidates;
    expect(candidate!.credential).toMatchObject({ id: 'w-pid', format: 'dc+sd-jwt', vct: PID });
    expect(candidate!.claims).toEqual([
      { path: ['given_name'], value: 'Erika' },
      { path: ['address', 'locality'], value: 'Köln' },
      { path: ['age_equal_or_over', '18'], value: true },
    ]);
    expect(userClaims(candidate!.disclosed)).toEqual({ given_name: 'Erika', address: { locality: 'Köln' }, age_equal_or_over: { '18': true } });
    expect(candidate!.disclosesEverything).toBe(false);

    expect(response.error).toBeUndefined();
    expect(Object.keys(response.vp_token ?? {})).toEqual(['pid']);
    const verified = await verifyPid(response.vp_token!['pid']![0]!);
    expect(userClaims(verified.claims)).toEqual({ given_name: 'Erika', address: { locality: 'Köln' }, age_equal_or_over: { '18': true } });

    conn.send(presentationComplete(FLOW, 'https://verifier.example/done'));
    await expect(result).resolves.toEqual({ flow_id: FLOW, verifier: VERIFIER, redirect_uri: 'https://verifier.example/done' });
    await conn.next('flow_ack');
  });

  it('discloses no selectively disclosable claim for a credential query without claims', async () => {
    const client = makeClient({ consentToPresentation: async (request) => request.suggestion! });
    const { conn } = await startPresentation(client);
    conn.send(presentationRequest('q1', { dcql_query: { credentials: [{ id: 'mdl', format: 'dc+sd-jwt', meta: { vct_values: [MDL] } }] } }));
    const response = await conn.next('presentation_response');
    const presentation = response.vp_token!['mdl']![0]!;
    expect(presentation.split('~')).toHaveLength(2);
    expect(userClaims((await verifyPid(presentation)).claims)).toEqual({});
  });

  it('lets the user choose among credential set alternatives', async () => {
    let consent: PresentationConsentRequest | undefined;
    const client = makeClient({
      consentToPresentation: async (request) => {
        consent = request;
        return { credentials: { diploma: 'w-diploma' } };
      },
    });
    const { conn } = await startPresentation(client);
    conn.send(
      presentationRequest('q1', {
        dcql_query: {
          credentials: [
            { id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: [PID] }, claims: [{ path: ['family_name'] }] },
            { id: 'diploma', format: 'jwt_vc_json', meta: { type_values: [['UniversityDegreeCredential']] }, claims: [{ path: ['degree'] }] },
            { id: 'loyalty', format: 'dc+sd-jwt', meta: { vct_values: ['urn:loyalty'] } },
          ],
          credential_sets: [{ options: [['pid'], ['diploma']] }, { options: [['loyalty']], required: false }],
        },
      }),
    );
    const response = await conn.next('presentation_response');
    expect(consent!.credentialSets).toEqual([
      { required: true, options: [{ credentials: ['pid'], satisfiable: true }, { credentials: ['diploma'], satisfiable: true }], satisfiable: true },
      { required: false, options: [{ credentials: ['loyalty'], satisfiable: false }], satisfiable: false },
    ]);
    expect(consent!.suggestion).toEqual({ credentials: { pid: ['w-pid'] } });
    const diploma = consent!.queries.find((q) => q.id === 'diploma')!.candidates[0]!;
    expect(diploma).toMatchObject({ disclosesEverything: true, claims: [{ path: ['degree'], value: 'BSc' }], disclosed: { degree: 'BSc' } });

    expect(Object.keys(response.vp_token!)).toEqual(['diploma']);
    const vp = response.vp_token!['diploma']![0]!;
    const verified = await verifyJwtVp(vp, { resolveIssuerKey: async () => diplomaIssuerKey, nonce: NONCE, audience: AUD });
    expect(verified.credentials[0]).toMatchObject({ claims: { degree: 'BSc' } });
  });

  it('answers declined when the user declines, and the flow ends with declined', async () => {
    const client = makeClient({ consentToPresentation: async () => 'decline' });
    const { conn, result } = await startPresentation(client);
    conn.send(presentationRequest('q1', { dcql_query: { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: [PID] } }] } }));
    const response = await conn.next('presentation_response');
    expect(response).toEqual({ type: 'presentation_response', flow_id: FLOW, message_id: 'q1', error: { code: 'declined' } });
    conn.send({ type: 'flow_error', flow_id: FLOW, code: 'declined', message: 'the user declined' });
    await expect(result).rejects.toEqual(new EngineFlowError('declined', 'the user declined', FLOW));
  });

  it('declines without a consent handler, without reading the credentials', async () => {
    const credentials = jest.fn(async () => wallet);
    const client = makeClient({ credentials });
    const { conn } = await startPresentation(client);
    conn.send(presentationRequest('q1', { dcql_query: { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: {} }] } }));
    const response = await conn.next('presentation_response');
    expect(response.error).toMatchObject({ code: 'declined' });
    expect(response.vp_token).toBeUndefined();
    expect(credentials).not.toHaveBeenCalled();
  });

  it('tells the user when nothing matches, and fails a choice that does not answer the query', async () => {
    let consent: PresentationConsentRequest | undefined;
    const client = makeClient({
      consentToPresentation: async (request) => {
        consent = request;
        return { credentials: { pid: 'w-mdl' } };
      },
    });
    const { conn } = await startPresentation(client);
    conn.send(presentationRequest('q1', { dcql_query: { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: [PID] }, claims: [{ path: ['passport_number'] }] }] } }));
    const response = await conn.next('presentation_response');
    expect(consent).toMatchObject({ satisfiable: false, suggestion: null, queries: [{ id: 'pid', candidates: [] }] });
    expect(response.error).toMatchObject({ code: 'failed', message: expect.stringMatching(/does not answer "pid"/) });
  });

  it('answers a Presentation Exchange definition with presentations and a submission', async () => {
    let consent: PresentationConsentRequest | undefined;
    const client = makeClient({
      consentToPresentation: async (request) => {
        consent = request;
        return request.suggestion!;
      },
    });
    const { conn } = await startPresentation(client);
    conn.send(
      presentationRequest('q1', {
        presentation_definition: {
          id: 'pd-1',
          input_descriptors: [
            {
              id: 'pid',
              purpose: 'Age check',
              format: { 'vc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'] } },
              constraints: {
                limit_disclosure: 'required',
                fields: [
                  { path: ['$.vct'], filter: { type: 'string', const: PID } },
                  { path: ['$.birthdate'], filter: { type: 'string', pattern: '^19' } },
                  { path: ['$.nationalities[*]'], filter: { enum: ['FR'] } },
                ],
              },
            },
          ],
        },
      }),
    );
    const response = await conn.next('presentation_response');
    expect(consent).toMatchObject({ queryLanguage: 'presentation_exchange', credentialSets: null, queries: [{ id: 'pid', purpose: 'Age check', multiple: false }] });
    expect(consent!.queries[0]!.candidates.map((c) => c.credential.id)).toEqual(['w-pid']);
    expect(response.presentations).toHaveLength(1);
    expect(response.presentation_submission).toEqual({ id: expect.any(String), definition_id: 'pd-1', descriptor_map: [{ id: 'pid', format: 'dc+sd-jwt', path: '$' }] });
    const verified = await verifyPid(response.presentations![0]!);
    expect(userClaims(verified.claims)).toEqual({ birthdate: '1964-08-12', nationalities: ['FR'] });
  });

  it('binds transaction data: the key-binding JWT carries the hash of each applicable item', async () => {
    const items = [
      { type: 'payment', credential_ids: ['pid'], amount: '42.00 EUR', payee: 'Shop' },
      { type: 'unrelated', credential_ids: ['other'] },
    ];
    const encoded = items.map((item) => Buffer.from(JSON.stringify(item)).toString('base64url'));
    let consent: PresentationConsentRequest | undefined;
    const client = makeClient({
      consentToPresentation: async (request) => {
        consent = request;
        return { credentials: { pid: 'w-pid' } } satisfies PresentationChoice;
      },
    });
    const { conn } = await startPresentation(client);
    conn.send(
      presentationRequest(
        'q1',
        {
          dcql_query: {
            credentials: [
              { id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: [PID] }, claims: [{ path: ['family_name'] }] },
              { id: 'other', format: 'dc+sd-jwt', meta: { vct_values: [MDL] } },
            ],
            credential_sets: [{ options: [['pid']] }, { options: [['other']], required: false }],
          },
        },
        { transaction_data: items, transaction_data_encoded: encoded },
      ),
    );
    const response = await conn.next('presentation_response');
    expect(consent!.transactionData).toEqual([
      { data: items[0], encoded: encoded[0], appliesTo: ['pid'] },
      { data: items[1], encoded: encoded[1], appliesTo: ['other'] },
    ]);
    const presentation = response.vp_token!['pid']![0]!;
    await expect(verifyPid(presentation)).resolves.toBeDefined();
    expect(decodeJwt(presentation.split('~').pop()!)).toMatchObject({
      nonce: NONCE,
      aud: AUD,
      transaction_data_hashes: [createHash('sha256').update(encoded[0]!).digest('base64url')],
      transaction_data_hashes_alg: 'sha-256',
    });
  });

  it('answers a re-sent question with the same reply, asking the user once', async () => {
    const consent = jest.fn(async (request: PresentationConsentRequest) => request.suggestion!);
    const client = makeClient({ consentToPresentation: consent });
    const { conn } = await startPresentation(client);
    const request = presentationRequest('q1', { dcql_query: { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: [PID] }, claims: [{ path: ['given_name'] }] }] } });
    conn.send(request);
    const first = await conn.next('presentation_response');
    conn.send(request);
    const second = await conn.next('presentation_response');
    expect(second).toEqual(first);
    expect(consent).toHaveBeenCalledTimes(1);
  });

  it('lets a custom present handler replace the built-in path', async () => {
    const present = jest.fn(async () => ({ vp_token: { pid: ['eyJhbGciOiJFUzI1NiJ9.e30.c2ln~'] } }));
    const consent = jest.fn(async () => 'decline' as const);
    const client = makeClient({ present, consentToPresentation: consent });
    const { conn } = await startPresentation(client);
    conn.send(presentationRequest('q1', { dcql_query: { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: {} }] } }));
    expect(await conn.next('presentation_response')).toMatchObject({ vp_token: { pid: ['eyJhbGciOiJFUzI1NiJ9.e30.c2ln~'] } });
    expect(present).toHaveBeenCalledWith(expect.objectContaining({ type: 'presentation_request', nonce: NONCE }));
    expect(consent).not.toHaveBeenCalled();
  });

  it('reports a handler failure with its code', async () => {
    const client = makeClient({
      consentToPresentation: async () => {
        throw new ClientFailureError('unsupported', 'no screen');
      },
    });
    const { conn } = await startPresentation(client);
    conn.send(presentationRequest('q1', { dcql_query: { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: {} }] } }));
    expect((await conn.next('presentation_response')).error).toEqual({ code: 'unsupported', message: 'no screen' });
  });

  it('resumes a presentation flow with protocol oid4vp', async () => {
    const client = makeClient();
    await client.connect();
    const conn = await engine.nextConnection();
    const result = client.resume(FLOW, { protocol: 'oid4vp' });
    const resume: ClientMessageOf<'flow_resume'> = await conn.next('flow_resume');
    conn.send({ type: 'flow_status', message_id: resume.message_id!, flow_id: FLOW, protocol: 'oid4vp', status: 'complete' });
    conn.send(presentationComplete(FLOW));
    await expect(result).resolves.toEqual({ flow_id: FLOW, verifier: VERIFIER });
  });
});

describe('issuance results', () => {
  it('rejects an issuance result without credentials, and a result of the other protocol', async () => {
    const client = makeClient();
    const first = client.receiveCredential('openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fissuer.example%2Fo');
    const conn = await engine.nextConnection();
    conn.send(flowStarted(await conn.next('flow_start'), FLOW));
    const { credentials: _credentials, ...incomplete } = flowComplete(FLOW);
    conn.send(incomplete);
    await expect(first).rejects.toEqual(new EngineResultError('incomplete_result', `the engine completed issuance flow ${FLOW} without credentials`, FLOW));

    const other = flowId(8);
    const second = client.resume(other);
    const resume = await conn.next('flow_resume');
    conn.send({ type: 'flow_status', message_id: resume.message_id!, flow_id: other, protocol: 'oid4vp', status: 'complete' });
    conn.send(presentationComplete(other));
    await expect(second).rejects.toMatchObject({ name: 'EngineResultError', code: 'wrong_protocol', flowId: other });
  });
});
