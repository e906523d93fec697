import type { ClientMessageOf, ServerMessage, SignItem } from '@wallet/engine-protocol';
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { WebSocket } from 'ws';
import { FakeEngine, flowComplete, flowId, flowStarted, ISSUER, question, type FakeConnection } from '../test/fake-engine';
import { EngineClient } from './engine-client';
import { ClientFailureError, EngineConnectionError, EngineFlowError, EngineRequestError, RedirectError } from './errors';
import { createKeyring, type Keyring } from './keyring';
import { memoryStorage } from './storage';
import type { EngineTransport } from './transport';
import type { EngineClientOptions, WalletHandlers } from './types';

const FLOW_A = flowId(1);
const FLOW_B = flowId(2);
const OFFER = 'openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fissuer.example%2Foffers%2F1';

const tick = (ms = 20) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `check` passes (for effects that happen on the client's side of the socket). */
async function until(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await tick(10);
  }
}

/** Verifies a JWS against the `jwk` in its own header; returns the header, payload text and key thumbprint. */
async function verifyJws(jws: string) {
  const header = decodeProtectedHeader(jws);
  const jwk = header.jwk as JWK;
  const { payload } = await compactVerify(jws, await importJWK(jwk, 'ES256'));
  return { header, payload: new TextDecoder().decode(payload), jkt: await calculateJwkThumbprint(jwk) };
}

let engine: FakeEngine;
const clients: EngineClient[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => process.off('unhandledRejection', onUnhandled));

beforeEach(async () => {
  engine = await FakeEngine.start();
  unhandled.length = 0;
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  // Every frame the client sent must be a valid protocol message.
  for (const connection of engine.connections) expect(connection.refused).toEqual([]);
  await engine.stop();
  await tick();
  expect(unhandled).toEqual([]);
});

interface Setup {
  client: EngineClient;
  keyring: Keyring;
  events: string[];
}

function makeClient(options: Partial<Omit<EngineClientOptions, 'handlers'>> & { handlers?: Partial<WalletHandlers>; keyring?: Keyring } = {}): Setup {
  const keyring = options.keyring ?? createKeyring();
  const events: string[] = [];
  const { handlers, keyring: _keyring, ...rest } = options;
  const client = new EngineClient({
    url: engine.url,
    WebSocket,
    getToken: () => 'token-1',
    reconnect: { baseDelayMs: 5, maxDelayMs: 20 },
    timeoutMs: 2_000,
    pingIntervalMs: 0,
    logger: (event) => void events.push(event),
    ...rest,
    handlers: { sign: keyring.sign, ...handlers },
  });
  clients.push(client);
  return { client, keyring, events };
}

/** Starts a flow from the engine's side: reads `flow_start`, answers `flow_started`. */
async function started(connection: FakeConnection, flow: string): Promise<ClientMessageOf<'flow_start'>> {
  const start = await connection.next('flow_start');
  connection.send(flowStarted(start, flow));
  return start;
}

/** Expects the promise to reject, and returns the reason. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('EngineClient', () => {
  it('connects with the token and reads the handshake answer', async () => {
    engine.flows = [{ flow_id: FLOW_A, protocol: 'oid4vci', status: 'deferred', updated_at: new Date().toISOString() }];
    const { client } = makeClient({ clientInfo: { name: 'test-wallet', version: '1.2.3' } });
    const ok = await client.connect();
    expect(ok).toMatchObject({ type: 'handshake_ok', protocol_version: '2.0', session: { user_id: 'u1' } });
    expect(await client.connect()).toBe(ok);
    const connection = await engine.nextConnection();
    expect(connection.handshake).toMatchObject({ token: 'token-1', client: { name: 'test-wallet', version: '1.2.3' } });
    expect(connection.handshake.message_id).toBe(ok.message_id);
    expect(client.flows()).toEqual(engine.flows);
    expect(engine.opened).toBe(1);
  });

  it('answers sign requests: payload as given, jwk header verifies, a key per proof item, one DPoP key honouring jkt', async () => {
    const { client, keyring } = makeClient();
    const result = client.receiveCredential(OFFER, { batchSize: 2, redirectUri: 'https://wallet.example/cb' });
    const connection = await engine.nextConnection();
    const start = await started(connection, FLOW_A);
    expect(start.params).toEqual({ offer: OFFER, batch_size: 2, redirect_uri: 'https://wallet.example/cb' });

    const dpopItem: SignItem = {
      id: 'dpop-1',
      purpose: 'dpop',
      header: { typ: 'dpop+jwt' },
      payload: { jti: 'j1', htm: 'POST', htu: 'https://as.example/token', iat: 1_700_000_000 },
      algs: ['ES256'],
    };
    connection.send(question('sign_request', FLOW_A, 'q-1', { items: [dpopItem] }));
    const first = await connection.next('sign_response');
    expect(first).toMatchObject({ flow_id: FLOW_A, message_id: 'q-1' });
    const dpop1 = await verifyJws(first.signatures![0]!.jws);
    expect(dpop1.payload).toBe(JSON.stringify(dpopItem.payload));
    expect(dpop1.header).toEqual({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String) } });
    expect(dpop1.jkt).toBe(await keyring.dpopJkt(FLOW_A));

    const proof = (id: string): SignItem => ({
      id,
      purpose: 'proof',
      header: { typ: 'openid4vci-proof+jwt' },
      payload: { aud: 'https://issuer.example', iat: 1_700_000_001, nonce: 'c-nonce' },
      algs: ['ES256'],
    });
    const dpopItem2: SignItem = { ...dpopItem, id: 'dpop-2', jkt: dpop1.jkt, payload: { ...dpopItem.payload, jti: 'j2', ath: 'x' } };
    connection.send(question('sign_request', FLOW_A, 'q-2', { items: [proof('p1'), proof('p2'), dpopItem2] }));
    const second = await connection.next('sign_response');
    expect(second.signatures!.map((s) => s.id)).toEqual(['p1', 'p2', 'dpop-2']);
    const [p1, p2, dpop2] = await Promise.all(second.signatures!.map((s) => verifyJws(s.jws)));
    expect(p1!.payload).toBe(JSON.stringify(proof('p1').payload));
    expect(p1!.header['typ']).toBe('openid4vci-proof+jwt');
    expect(new Set([p1!.jkt, p2!.jkt, dpop1.jkt]).size).toBe(3);
    expect(dpop2!.jkt).toBe(dpop1.jkt);
    expect(dpop2!.payload).toBe(JSON.stringify(dpopItem2.payload));
    expect(keyring.key(p1!.jkt)).toMatchObject({ purpose: 'proof', flowId: FLOW_A });

    connection.send(flowComplete(FLOW_A));
    await expect(result).resolves.toEqual(flowComplete(FLOW_A));
    expect(await connection.next('flow_ack')).toMatchObject({ flow_id: FLOW_A });
  });

  it('asks for consent, a selection and a transaction code', async () => {
    const consent = jest.fn(async () => true);
    const askTxCode = jest.fn(async () => '493536');
    const { client } = makeClient({ handlers: { consent, askTxCode } });
    const result = client.receiveCredential({ credential_issuer: 'https://issuer.example', credential_configuration_ids: ['pid', 'mdl'] });
    const connection = await engine.nextConnection();
    const start = await started(connection, FLOW_A);
    expect(start.params).toEqual({ offer: { credential_issuer: 'https://issuer.example', credential_configuration_ids: ['pid', 'mdl'] } });

    const options = [
      { credential_configuration_id: 'pid', format: 'dc+sd-jwt', display: [] },
      { credential_configuration_id: 'mdl', format: 'mso_mdoc', display: [] },
    ];
    connection.send(question('selection_request', FLOW_A, 's-1', { issuer: ISSUER, options }));
    expect(await connection.next('selection_response')).toEqual({ type: 'selection_response', flow_id: FLOW_A, message_id: 's-1', credential_configuration_id: 'pid' });
    connection.send(question('consent_request', FLOW_A, 'c-1', { issuer: ISSUER, credentials: [options[0]!] }));
    expect(await connection.next('consent_response')).toEqual({ type: 'consent_response', flow_id: FLOW_A, message_id: 'c-1', accept: true });
    expect(consent).toHaveBeenCalledWith(expect.objectContaining({ message_id: 'c-1', issuer: ISSUER }));
    connection.send(question('tx_code_request', FLOW_A, 't-1', { tx_code: { input_mode: 'numeric', length: 6, description: 'Check your mail' } }));
    expect(await connection.next('tx_code_response')).toEqual({ type: 'tx_code_response', flow_id: FLOW_A, message_id: 't-1', tx_code: '493536' });
    expect(askTxCode).toHaveBeenCalledWith(expect.objectContaining({ tx_code: { input_mode: 'numeric', length: 6, description: 'Check your mail' } }));

    connection.send(flowComplete(FLOW_A));
    await expect(result).resolves.toMatchObject({ flow_id: FLOW_A });
  });

  it('falls back to defaults and turns handler failures into failure replies', async () => {
    let signCalls = 0;
    const { client } = makeClient({
      handlers: {
        sign: async () => {
          signCalls++;
          if (signCalls === 1) throw new Error('secure element unavailable');
          if (signCalls === 2) throw new ClientFailureError('declined', 'user cancelled');
          return 'not a jws';
        },
        chooseCredential: async () => {
          throw new Error('boom');
        },
      },
    });
    const result = client.receiveCredential(OFFER);
    const connection = await engine.nextConnection();
    await started(connection, FLOW_A);
    const items: SignItem[] = [{ id: 'p1', purpose: 'proof', header: {}, payload: {}, algs: ['ES256'] }];
    const reply = async (messageId: string) => {
      connection.send(question('sign_request', FLOW_A, messageId, { items }));
      return (await connection.next('sign_response')).error;
    };
    expect(await reply('a')).toEqual({ code: 'failed', message: 'secure element unavailable' });
    expect(await reply('b')).toEqual({ code: 'declined', message: 'user cancelled' });
    expect(await reply('c')).toMatchObject({ code: 'failed' });

    connection.send(question('selection_request', FLOW_A, 's', { issuer: ISSUER, options: [] }));
    expect((await connection.next('selection_response')).error).toEqual({ code: 'failed', message: 'boom' });
    // No consent handler: the engine's trust decision stands.
    connection.send(question('consent_request', FLOW_A, 'c1', { issuer: ISSUER, credentials: [] }));
    expect((await connection.next('consent_response')).accept).toBe(true);
    const untrusted = { ...ISSUER, trust: { trusted: false, reason: 'not listed', source: 'pdp' as const } };
    connection.send(question('consent_request', FLOW_A, 'c2', { issuer: untrusted, credentials: [] }));
    expect((await connection.next('consent_response')).accept).toBe(false);
    // No tx code handler.
    connection.send(question('tx_code_request', FLOW_A, 't', { tx_code: { input_mode: 'text' } }));
    expect((await connection.next('tx_code_response')).error).toMatchObject({ code: 'unsupported' });

    connection.send({ type: 'flow_error', flow_id: FLOW_A, code: 'declined', message: 'the user declined' });
    const error = await rejection(result);
    expect(error).toBeInstanceOf(EngineFlowError);
    expect(error).toMatchObject({ code: 'declined', flowId: FLOW_A, message: 'the user declined' });
    // A failed flow is acknowledged too: its result was delivered.
    expect(await connection.next('flow_ack')).toMatchObject({ flow_id: FLOW_A });
  });

  it('matches replies by flow and message id when two flows interleave', async () => {
    const askTxCode = jest.fn(async (request: { flow_id: string }) => {
      // Flow A's user is slower: its answer comes after B's.
      if (request.flow_id === FLOW_A) await tick(80);
      return request.flow_id === FLOW_A ? 'code-a' : 'code-b';
    });
    const { client } = makeClient({ handlers: { askTxCode } });
    const a = client.receiveCredential('offer-a');
    const b = client.receiveCredential('offer-b');
    const connection = await engine.nextConnection();
    const startA = await connection.next('flow_start');
    const startB = await connection.next('flow_start');
    const [forA, forB] = 'offer' in startA.params && startA.params.offer === 'offer-a' ? [startA, startB] : [startB, startA];
    // Answered out of order, and both questions use the same message id.
    connection.send(flowStarted(forB, FLOW_B));
    connection.send(flowStarted(forA, FLOW_A));
    connection.send(question('tx_code_request', FLOW_A, 'm-1', { tx_code: { input_mode: 'text' } }));
    connection.send(question('tx_code_request', FLOW_B, 'm-1', { tx_code: { input_mode: 'text' } }));
    const firstReply = await connection.next('tx_code_response');
    const secondReply = await connection.next('tx_code_response');
    expect(firstReply).toMatchObject({ flow_id: FLOW_B, message_id: 'm-1', tx_code: 'code-b' });
    expect(secondReply).toMatchObject({ flow_id: FLOW_A, message_id: 'm-1', tx_code: 'code-a' });

    connection.send(flowComplete(FLOW_B));
    connection.send({ type: 'flow_error', flow_id: FLOW_A, code: 'invalid_tx_code', message: 'wrong code' });
    await expect(b).resolves.toMatchObject({ flow_id: FLOW_B });
    await expect(a).rejects.toMatchObject({ name: 'EngineFlowError', code: 'invalid_tx_code', flowId: FLOW_A });
  });

  it('reconnects after a drop, resumes, and answers the re-sent question without asking the user again', async () => {
    let release: (code: string) => void = () => undefined;
    const askTxCode = jest.fn(() => new Promise<string>((resolve) => (release = resolve)));
    let tokens = 0;
    const getToken = jest.fn((context: { refresh: boolean }): string => `token-${++tokens}-${context.refresh}`);
    const onFlowStatus = jest.fn();
    const { client, events } = makeClient({ getToken, handlers: { askTxCode, onFlowStatus } });
    const result = client.receiveCredential(OFFER);
    const first = await engine.nextConnection();
    await started(first, FLOW_A);
    first.send(question('tx_code_request', FLOW_A, 't-1', { tx_code: { input_mode: 'numeric' } }));
    await until(() => askTxCode.mock.calls.length === 1);

    // The socket drops while the user is still typing.
    first.terminate();
    const second = await engine.nextConnection();
    expect(engine.tokens).toEqual(['token-1-false', 'token-2-false']);
    const resume = await second.next('flow_resume');
    expect(resume.flow_id).toBe(FLOW_A);
    second.send({ type: 'flow_status', message_id: resume.message_id!, flow_id: FLOW_A, protocol: 'oid4vci', status: 'waiting' });
    second.send(question('tx_code_request', FLOW_A, 't-1', { tx_code: { input_mode: 'numeric' } }));
    await tick(50);
    release('1234');
    expect(await second.next('tx_code_response')).toEqual({ type: 'tx_code_response', flow_id: FLOW_A, message_id: 't-1', tx_code: '1234' });
    expect(askTxCode).toHaveBeenCalledTimes(1);
    expect(onFlowStatus).toHaveBeenCalledWith(expect.objectContaining({ flow_id: FLOW_A, status: 'waiting' }));
    expect(events).toEqual(expect.arrayContaining(['disconnected', 'question_repeated']));

    second.send(flowComplete(FLOW_A));
    await expect(result).resolves.toMatchObject({ flow_id: FLOW_A });
    expect(first.frames.filter((f) => f.type === 'tx_code_response')).toEqual([]);
  });

  it('re-sends a remembered reply after a going-away close, and the flow completes later (deferred)', async () => {
    const sign = jest.fn(createKeyring().sign);
    const onProgress = jest.fn();
    const { client } = makeClient({ handlers: { sign, onProgress } });
    const result = client.receiveCredential(OFFER);
    const first = await engine.nextConnection();
    await started(first, FLOW_A);
    const items: SignItem[] = [{ id: 'p1', purpose: 'proof', header: { typ: 'openid4vci-proof+jwt' }, payload: { nonce: 'n' }, algs: ['ES256'] }];
    first.send(question('sign_request', FLOW_A, 'q-1', { items }));
    const answered = await first.next('sign_response');
    first.send({ type: 'flow_progress', flow_id: FLOW_A, step: 'deferred' });
    await until(() => onProgress.mock.calls.length === 1);

    first.close(1001, 'shutting down');
    const second = await engine.nextConnection();
    const resume = await second.next('flow_resume');
    // This replica did not see the answer: it asks again, with the same message id.
    second.send({ type: 'flow_status', message_id: resume.message_id!, flow_id: FLOW_A, protocol: 'oid4vci', status: 'waiting' });
    second.send(question('sign_request', FLOW_A, 'q-1', { items }));
    expect(await second.next('sign_response')).toEqual(answered);
    expect(sign).toHaveBeenCalledTimes(1);

    second.send({ type: 'flow_progress', flow_id: FLOW_A, step: 'deferred_polled' });
    await tick(50);
    second.send(flowComplete(FLOW_A));
    await expect(result).resolves.toMatchObject({ flow_id: FLOW_A });
    expect(onProgress.mock.calls.map(([message]) => message.step)).toEqual(['deferred', 'deferred_polled']);
  });

  it('fails a flow_start that was in flight when the connection dropped, rather than starting a second flow', async () => {
    const { client } = makeClient();
    const result = client.receiveCredential(OFFER);
    const first = await engine.nextConnection();
    await first.next('flow_start');
    first.terminate();
    const error = await rejection(result);
    expect(error).toBeInstanceOf(EngineConnectionError);
    expect(error).toMatchObject({ code: 'connection_lost' });
    const second = await engine.nextConnection();
    await tick(50);
    expect(second.pending('flow_start')).toEqual([]);
  });

  it('resumes an authorization code flow on the page the redirect lands on', async () => {
    const storage = memoryStorage();
    const openAuthorizationUrl = jest.fn(async () => undefined); // the page navigates away
    const first = makeClient({ storage, handlers: { openAuthorizationUrl } });
    const abandoned = first.client.receiveCredential(OFFER, { redirectUri: 'https://wallet.example/cb' });
    const connection1 = await engine.nextConnection();
    await started(connection1, FLOW_A);
    const authorization = { url: 'https://as.example/authorize?client_id=wallet&state=st-123', redirect_uri: 'https://wallet.example/cb', state: 'st-123' };
    connection1.send(question('authorization_request', FLOW_A, 'az-1', authorization));
    await until(() => openAuthorizationUrl.mock.calls.length === 1);
    const abandonedError = rejection(abandoned);
    await first.client.close();
    expect(await abandonedError).toMatchObject({ code: 'closed' });
    expect(connection1.pending('authorization_response')).toEqual([]);

    // The next page: a new client, the same (session) storage.
    const secondOpen = jest.fn(async () => undefined);
    const second = makeClient({ storage, handlers: { openAuthorizationUrl: secondOpen } });
    await expect(second.client.resumeAfterRedirect('https://wallet.example/cb?code=c0de&state=unknown')).rejects.toBeInstanceOf(RedirectError);
    const result = second.client.resumeAfterRedirect('https://wallet.example/cb?code=c0de&state=st-123&iss=https%3A%2F%2Fas.example');
    const connection2 = await engine.nextConnection();
    const resume = await connection2.next('flow_resume');
    expect(resume.flow_id).toBe(FLOW_A);
    connection2.send({ type: 'flow_status', message_id: resume.message_id!, flow_id: FLOW_A, protocol: 'oid4vci', status: 'waiting' });
    connection2.send(question('authorization_request', FLOW_A, 'az-1', authorization));
    expect(await connection2.next('authorization_response')).toEqual({
      type: 'authorization_response',
      flow_id: FLOW_A,
      message_id: 'az-1',
      code: 'c0de',
      state: 'st-123',
      iss: 'https://as.example',
    });
    expect(secondOpen).not.toHaveBeenCalled();
    connection2.send(flowComplete(FLOW_A));
    await expect(result).resolves.toMatchObject({ flow_id: FLOW_A });
    await until(() => storage.get('wallet-client:authorization:st-123') === undefined);
  });

  it('finds a pushed-authorization flow (no state in its URL) by the state the engine names, on the same client', async () => {
    const openAuthorizationUrl = jest.fn(async () => undefined);
    const { client } = makeClient({ handlers: { openAuthorizationUrl } });
    const result = client.receiveCredential(OFFER, { redirectUri: 'https://wallet.example/cb' });
    const connection = await engine.nextConnection();
    await started(connection, FLOW_A);
    const authorization = { url: 'https://as.example/authorize?client_id=wallet&request_uri=urn%3Apar%3A1', redirect_uri: 'https://wallet.example/cb', state: 'par-state' };
    connection.send(question('authorization_request', FLOW_A, 'az-1', authorization));
    await until(() => openAuthorizationUrl.mock.calls.length === 1);

    await expect(client.resumeAfterRedirect('https://elsewhere.example/cb?code=x&state=s')).rejects.toMatchObject({ code: 'unknown_state' });
    await expect(client.resumeAfterRedirect('https://elsewhere.example/cb?code=x&state=par-state')).rejects.toMatchObject({ code: 'unknown_state' });
    const resumed = client.resumeAfterRedirect('https://wallet.example/cb?code=c0de&state=par-state');
    const resume = await connection.next('flow_resume');
    connection.send({ type: 'flow_status', message_id: resume.message_id!, flow_id: FLOW_A, protocol: 'oid4vci', status: 'waiting' });
    connection.send(question('authorization_request', FLOW_A, 'az-1', authorization));
    expect(await connection.next('authorization_response')).toMatchObject({ message_id: 'az-1', code: 'c0de', state: 'par-state' });
    expect(openAuthorizationUrl).toHaveBeenCalledTimes(1);
    connection.send(flowComplete(FLOW_A));
    await expect(Promise.all([result, resumed])).resolves.toEqual([flowComplete(FLOW_A), flowComplete(FLOW_A)]);
  });

  it('gets a fresh token once when the engine refuses one (4401), and gives up when it refuses that too', async () => {
    engine.authorize = (token) => (token === 'fresh' ? 'ok' : 'unauthenticated');
    const getToken = jest.fn(({ refresh }: { refresh: boolean }) => (refresh ? 'fresh' : 'stale'));
    const { client } = makeClient({ getToken });
    await client.connect();
    expect(getToken.mock.calls).toEqual([[{ refresh: false }], [{ refresh: true }]]);
    expect(engine.tokens).toEqual(['stale', 'fresh']);

    // A 4401 on an open connection: reconnect with a fresh token.
    const connection = await engine.nextConnection();
    connection.close(4401, 'token revoked');
    await engine.nextConnection();
    expect(getToken.mock.calls.at(-1)).toEqual([{ refresh: true }]);

    engine.authorize = () => 'unauthenticated';
    const refused = jest.fn(() => 'whatever');
    const other = makeClient({ getToken: refused });
    const error = await rejection(other.client.connect());
    expect(error).toBeInstanceOf(EngineConnectionError);
    expect(error).toMatchObject({ code: 'unauthenticated', closeCode: 4401 });
    expect(refused).toHaveBeenCalledTimes(2);
  });

  it.each([
    [1002, 'protocol_error'],
    [1007, 'protocol_error'],
    [1009, 'frame_too_large'],
    [4403, 'forbidden_origin'],
  ])('does not reconnect after close %i (the engine would refuse again): pending waits fail with %s', async (closeCode, code) => {
    const { client, events } = makeClient();
    const result = client.receiveCredential(OFFER);
    const connection = await engine.nextConnection();
    await started(connection, FLOW_A);
    const resume = client.resume(FLOW_B);
    await connection.next('flow_resume');
    connection.close(closeCode, 'refused');
    const error = await rejection(result);
    expect(error).toBeInstanceOf(EngineConnectionError);
    expect(error).toMatchObject({ code, closeCode, flowId: FLOW_A });
    expect(await rejection(resume)).toMatchObject({ name: 'EngineConnectionError', code, closeCode });
    await tick(100);
    expect(engine.opened).toBe(1);
    expect(events).toContain('reconnect_refused');
    expect(events).not.toContain('reconnect_wait');
  });

  it.each([1001, 1013, 4408, 4429, 1006 /* not the engine's: transient */])('reconnects and resumes after close %i', async (closeCode) => {
    const { client } = makeClient();
    const result = client.receiveCredential(OFFER);
    const connection = await engine.nextConnection();
    await started(connection, FLOW_A);
    if (closeCode === 1006) connection.terminate();
    else connection.close(closeCode, 'transient');
    const again = await engine.nextConnection();
    expect(await again.next('flow_resume')).toMatchObject({ flow_id: FLOW_A });
    again.send(flowComplete(FLOW_A));
    await expect(result).resolves.toMatchObject({ flow_id: FLOW_A });
  });

  it('does not retry a forbidden origin (4403)', async () => {
    engine.authorize = () => 'forbidden_origin';
    const { client } = makeClient();
    await expect(client.connect()).rejects.toMatchObject({ name: 'EngineConnectionError', code: 'forbidden_origin' });
    await tick(100);
    expect(engine.opened).toBe(1);
  });

  it('gives up after the allowed reconnect attempts and rejects the flow wait with its id', async () => {
    const { client } = makeClient({ reconnect: { attempts: 2, baseDelayMs: 5, maxDelayMs: 10 } });
    const result = client.receiveCredential(OFFER);
    const connection = await engine.nextConnection();
    await started(connection, FLOW_A);
    await engine.stop();
    const error = await rejection(result);
    expect(error).toMatchObject({ name: 'EngineConnectionError', code: 'connect_failed', flowId: FLOW_A });
    engine = await FakeEngine.start(); // for afterEach
  });

  it('rejects a refused flow_start with the engine\'s error', async () => {
    const { client } = makeClient();
    const result = client.receiveCredential(OFFER);
    const connection = await engine.nextConnection();
    const start = await connection.next('flow_start');
    connection.send({ type: 'error', message_id: start.message_id, code: 'rate_limited', message: 'too many flow starts', path: '/params' });
    const error = await rejection(result);
    expect(error).toBeInstanceOf(EngineRequestError);
    expect(error).toMatchObject({ code: 'rate_limited', message: 'too many flow starts', path: '/params' });
    // Invalid parameters never leave the client.
    await expect(client.receiveCredential(OFFER, { batchSize: 0 })).rejects.toMatchObject({ code: 'invalid_message', path: '/params/batch_size' });
  });

  it('ignores invalid server frames and carries on', async () => {
    const askTxCode = jest.fn(async () => '1');
    const { client, events } = makeClient({ handlers: { askTxCode } });
    const result = client.receiveCredential(OFFER);
    const connection = await engine.nextConnection();
    await started(connection, FLOW_A);
    connection.sendRaw('not json');
    connection.sendRaw('["array"]');
    connection.sendRaw(JSON.stringify({ type: 'surprise' }));
    connection.sendRaw(JSON.stringify({ type: 'flow_complete', flow_id: FLOW_A }));
    connection.sendRaw(JSON.stringify({ type: 'tx_code_request', flow_id: FLOW_A, message_id: 'x', expires_at: 'soon', tx_code: { input_mode: 'numeric' } }));
    connection.sendRaw(Buffer.from([1, 2, 3]));
    connection.send(flowComplete(FLOW_A));
    await expect(result).resolves.toMatchObject({ flow_id: FLOW_A });
    expect(events.filter((event) => event === 'invalid_frame')).toHaveLength(5);
    expect(events).toContain('transport_error'); // the binary frame
    expect(askTxCode).not.toHaveBeenCalled();
  });

  it('cancels a flow, sends notifications, and acknowledges on request', async () => {
    let started_: string | undefined;
    const { client } = makeClient();
    const result = client.receiveCredential(OFFER, { ack: false, onStarted: (id) => (started_ = id) });
    const connection = await engine.nextConnection();
    await started(connection, FLOW_A);
    await until(() => started_ === FLOW_A);
    const cancelled = client.cancel(FLOW_A);
    const cancel = await connection.next('flow_cancel');
    connection.send({ type: 'flow_error', flow_id: FLOW_A, message_id: cancel.message_id!, code: 'cancelled', message: 'cancelled by the client' });
    await cancelled;
    await expect(result).rejects.toMatchObject({ code: 'cancelled' });
    await tick(50);
    expect(connection.pending('flow_ack')).toEqual([]); // ack: false

    const notified = client.notify(FLOW_B, 'n-1', 'credential_accepted', 'stored');
    const notification = await connection.next('notification');
    expect(notification).toMatchObject({ flow_id: FLOW_B, notification_id: 'n-1', event: 'credential_accepted', event_description: 'stored' });
    connection.send({ type: 'notification_result', message_id: notification.message_id!, flow_id: FLOW_B, notification_id: 'n-1', status: 'sent' });
    await expect(notified).resolves.toMatchObject({ status: 'sent' });

    await client.ack(FLOW_A);
    expect(await connection.next('flow_ack')).toMatchObject({ flow_id: FLOW_A });
  });

  it('resumes a flow listed in the handshake, and fails a resume of a flow the engine no longer has', async () => {
    const { client } = makeClient();
    const result = client.resume(FLOW_A);
    const connection = await engine.nextConnection();
    const resume = await connection.next('flow_resume');
    connection.send({ type: 'flow_status', message_id: resume.message_id!, flow_id: FLOW_A, protocol: 'oid4vci', status: 'complete' });
    connection.send(flowComplete(FLOW_A));
    await expect(result).resolves.toMatchObject({ flow_id: FLOW_A });

    const gone = client.resume(FLOW_B);
    const resumeB = await connection.next('flow_resume');
    connection.send({ type: 'error', message_id: resumeB.message_id!, flow_id: FLOW_B, code: 'unknown_flow', message: 'no such flow' });
    await expect(gone).rejects.toMatchObject({ name: 'EngineRequestError', code: 'unknown_flow' });
  });

  it('reconnects when pings go unanswered', async () => {
    engine.answerPings = false;
    const { client, events } = makeClient({ pingIntervalMs: 30, timeoutMs: 100 });
    await client.connect();
    await engine.nextConnection();
    await until(() => events.includes('ping_timeout'));
    engine.answerPings = true;
    await engine.nextConnection();
    await until(() => events.filter((event) => event === 'connected').length === 2);
  });

  it('runs over any EngineTransport, without a socket', async () => {
    const sent: string[] = [];
    const transport: EngineTransport = {
      send(text) {
        sent.push(text);
        const frame = JSON.parse(text) as { type: string; message_id?: string };
        const reply = (message: ServerMessage) => setTimeout(() => transport.onmessage?.(JSON.stringify(message)));
        if (frame.type === 'handshake') {
          reply({
            type: 'handshake_ok',
            message_id: frame.message_id!,
            protocol_version: '2.0',
            session: { tenant_id: 't', user_id: 'u', expires_at: new Date(Date.now() + 60_000).toISOString() },
            capabilities: { protocols: ['oid4vci'], oid4vci: { versions: [], grants: [], features: [], formats: [], proof_types: [] }, resume: false },
            limits: { max_frame_bytes: 1, messages_per_second: 1, flow_starts_per_minute: 1, max_concurrent_flows: 1 },
            flows: [],
          });
        } else if (frame.type === 'flow_start') {
          reply({ type: 'flow_started', message_id: frame.message_id!, flow_id: FLOW_A, protocol: 'oid4vci' });
          reply(flowComplete(FLOW_A));
        }
      },
      close() {
        setTimeout(() => transport.onclose?.(1000, ''));
      },
      onopen: null,
      onmessage: null,
      onclose: null,
      onerror: null,
    };
    const client = new EngineClient({ transport: () => (setTimeout(() => transport.onopen?.()), transport), getToken: () => 't', handlers: { sign: createKeyring().sign }, pingIntervalMs: 0 });
    clients.push(client);
    await expect(client.receiveCredential(OFFER)).resolves.toMatchObject({ flow_id: FLOW_A });
    await tick();
    expect(sent.map((text) => (JSON.parse(text) as { type: string }).type)).toEqual(['handshake', 'flow_start', 'flow_ack']);
  });
});
