import {
  createTestPki,
  createTestSdJwtHolder,
  createTestSdJwtIssuer,
  startBuiltApp,
  startTestPdp,
  type ServiceProcess,
  type TestPdp,
  type TestSdJwtHolder,
} from '@wallet/testing';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_CALLBACK, ISSUER, PID, servicesYaml } from '../verifier/verifier-fixtures';
import { accessToken, authenticatedSocket, engineUrl, loopbackEngineEnv, type RawSocket } from './engine-fixtures';

/** The all-in-one's verifier on a fixed port, so its public URL (and x509 SAN `localhost`) is known before it starts. */
const VERIFIER_PORT = 28_190;
const VERIFIER = `http://localhost:${VERIFIER_PORT}`;
const ADMIN = 'engine-presentation-admin-token-'.padEnd(40, 'x');

/**
 * OpenID4VP from the wallet side, through the engine in the built all-in-one,
 * to this project's verifier (in the same process, reached over loopback as
 * any verifier would be). The client here is a bare socket that presents with
 * the third-party @sd-jwt holder, so what the engine accepts and refuses is
 * tested independently of our client library.
 */
describe('engine: OpenID4VP presentation to our verifier', () => {
  let proc: ServiceProcess;
  let pdp: TestPdp;
  let strictPdp: TestPdp;
  let strictToken: string;
  let lenientToken: string;
  let dir: string;
  let url: string;
  let token: string;
  let holder: TestSdJwtHolder;
  let credential: string;

  beforeAll(async () => {
    const issuerPki = createTestPki({ leafSan: `URI:${ISSUER}` });
    const verifierPki = createTestPki({ leafSan: 'DNS:localhost' });
    const issuer = await createTestSdJwtIssuer(ISSUER, { privateJwk: issuerPki.leafPrivateJwk, x5c: issuerPki.x5c });
    holder = await createTestSdJwtHolder();
    credential = await issuer.issue(
      { given_name: 'Erika', family_name: 'Mustermann', address: { country: 'DE', locality: 'Berlin' } },
      { _sd: ['given_name', 'family_name', 'address'], address: { _sd: ['country', 'locality'] } },
      { vct: PID, holderJwk: holder.publicJwk },
    );
    pdp = await startTestPdp((q) => q.action.name === 'credential-verifier');
    // The PDP of a stricter tenant, which trusts no verifier.
    strictPdp = await startTestPdp(() => false);
    dir = mkdtempSync(join(tmpdir(), 'wallet-engine-vp-'));
    writeFileSync(join(dir, 'verifier-chain.pem'), verifierPki.chainPem);
    writeFileSync(join(dir, 'verifier-key.pem'), verifierPki.leafKeyPem);
    writeFileSync(join(dir, 'engine-roots.pem'), `${issuerPki.rootPem}\n${verifierPki.rootPem}`);
    proc = await startBuiltApp('all-in-one', {
      ...loopbackEngineEnv(pdp.url),
      WALLET_SERVER_ADMIN_TOKEN: ADMIN,
      WALLET_ALL_IN_ONE_VERIFIER_PORT: String(VERIFIER_PORT),
      WALLET_VERIFIER_PUBLIC_URL: VERIFIER,
      WALLET_VERIFIER_SERVICES_FILE: servicesYaml(dir, issuerPki.rootPem),
      WALLET_VERIFIER_TRUSTED_ROOTS_FILE: join(dir, 'roots.pem'),
      WALLET_VERIFIER_X509_CERTIFICATE_FILE: join(dir, 'verifier-chain.pem'),
      WALLET_VERIFIER_X509_PRIVATE_KEY_FILE: join(dir, 'verifier-key.pem'),
      WALLET_ENGINE_TRUSTED_ROOTS_FILE: join(dir, 'engine-roots.pem'),
    });
    url = engineUrl(proc.servers.get('wallet')!);
    token = await accessToken(proc.servers.get('wallet')!);
    const created = await fetch(`${proc.servers.get('admin')}/admin/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'strict', display_name: 'Strict', trust_config: { pdp_url: strictPdp.url } }),
    });
    expect(created.status).toBe(201);
    strictToken = await accessToken(proc.servers.get('wallet')!, 'Strict user', 'strict');
    // A tenant without trust evaluation: the only kind that accepts unsigned (redirect_uri) requests.
    const open = await fetch(`${proc.servers.get('admin')}/admin/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'lenient', display_name: 'Lenient', trust_config: { pdp_url: 'none' } }),
    });
    expect(open.status).toBe(201);
    lenientToken = await accessToken(proc.servers.get('wallet')!, 'Lenient user', 'lenient');
  });

  afterAll(async () => {
    await proc?.stop('SIGTERM');
    await pdp?.close();
    await strictPdp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(params: Record<string, string>): Promise<{ link: string; sessionId: string }> {
    const response = await fetch(`${VERIFIER}/api/v1/startsiop?${new URLSearchParams({ client_callback: APP_CALLBACK, ...params })}`);
    expect(response.status).toBe(200);
    return { link: await response.text(), sessionId: response.headers.get('x-session-id')! };
  }

  async function status(sessionId: string): Promise<Record<string, unknown>> {
    return (await (await fetch(`${VERIFIER}/api/v1/sessions/${sessionId}/status`)).json()) as Record<string, unknown>;
  }

  /** Starts a presentation flow on the engine and returns the question it asks. */
  async function ask(socket: RawSocket, link: string): Promise<{ flowId: string; question: Record<string, unknown> }> {
    socket.send({ type: 'flow_start', message_id: 'vp', protocol: 'oid4vp', params: { request: link } });
    const started = await socket.next('flow_started');
    for (;;) {
      const frame = await socket.next(undefined, 15_000);
      if (frame['type'] === 'flow_progress') continue;
      if (frame['type'] !== 'presentation_request') throw new Error(`expected a presentation_request, got ${JSON.stringify(frame)}`);
      return { flowId: String(started['flow_id']), question: frame };
    }
  }

  const disclose = { given_name: true, address: { country: true } };

  it.each([
    ['shop', 'byReference', 'direct_post', 'get', 'decentralized_identifier'],
    ['shop', 'byReference', 'direct_post.jwt', 'post', 'decentralized_identifier'],
    ['shop', 'byValue', 'direct_post', 'get', 'decentralized_identifier'],
    ['shop-x509', 'byReference', 'direct_post.jwt', 'get', 'x509_san_dns'],
    ['shop-hash', 'byValue', 'direct_post', 'get', 'x509_hash'],
  ])('%s, %s, %s (request_uri_method %s): a %s verifier gets the presentation and the app its JWT', async (service, requestMode, responseMode, method, prefix) => {
    const { link, sessionId } = await start({ client_id: service, state: 's1', request_mode: requestMode, response_mode: responseMode, ...(method === 'post' ? { request_uri_method: 'post' } : {}) });
    const socket = await authenticatedSocket(url, token);
    const { flowId, question } = await ask(socket, link);
    expect(question['verifier']).toMatchObject({ client_id_prefix: prefix, request_signed: true, trust: { trusted: true, source: 'pdp' } });
    expect(question['query']).toMatchObject({ dcql_query: { credentials: [expect.objectContaining({ id: 'pid' })] } });
    const presentation = await holder.present(credential, disclose, { nonce: String(question['nonce']), aud: String(question['audience']) });
    socket.send({ type: 'presentation_response', flow_id: flowId, message_id: question['message_id'], vp_token: { pid: [presentation] } });
    const done = await socket.next('flow_complete', 15_000);
    socket.close();
    expect(done).toMatchObject({ protocol: 'oid4vp', verifier: { client_id_prefix: prefix } });

    const answered = await status(sessionId);
    expect(answered['status']).toBe('answered');
    const code = new URL(String(answered['redirectTo'])).searchParams.get('code')!;
    const exchanged = await fetch(`${VERIFIER}/services/${service}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: APP_CALLBACK }),
    });
    const body = (await exchanged.json()) as { access_token: string };
    const jwks = createLocalJWKSet((await (await fetch(`${VERIFIER}/.well-known/jwks`)).json()) as JSONWebKeySet);
    const { payload } = await jwtVerify(body.access_token, jwks, { audience: service });
    expect(payload).toMatchObject({ first_name: 'Erika', country: 'DE' });
  });

  it('presents to an unsigned redirect_uri request where the tenant evaluates no trust, and only there', async () => {
    const { link, sessionId } = await start({ client_id: 'shop', request_mode: 'urlEncoded' });
    expect(new URL(link).searchParams.get('client_id')).toMatch(/^redirect_uri:/);
    const refused = await authenticatedSocket(url, token);
    refused.send({ type: 'flow_start', message_id: 'vp', protocol: 'oid4vp', params: { request: link } });
    await refused.next('flow_started');
    expect(await refused.next('flow_error', 15_000)).toMatchObject({ code: 'untrusted_verifier' });
    refused.close();

    const socket = await authenticatedSocket(engineUrl(proc.servers.get('wallet')!, 'lenient'), lenientToken);
    const { flowId, question } = await ask(socket, link);
    expect(question['verifier']).toMatchObject({ client_id_prefix: 'redirect_uri', request_signed: false, trust: { trusted: true, source: 'disabled' } });
    const presentation = await holder.present(credential, disclose, { nonce: String(question['nonce']), aud: String(question['audience']) });
    socket.send({ type: 'presentation_response', flow_id: flowId, message_id: question['message_id'], vp_token: { pid: [presentation] } });
    await socket.next('flow_complete', 15_000);
    socket.close();
    expect((await status(sessionId))['status']).toBe('answered');
  });

  it.each([
    ['a haip-vp:// link', (link: string) => link.replace(/^openid4vp:\/\//, 'haip-vp://')],
    ['an https same-device link', (link: string) => link.replace(/^openid4vp:\/\//, 'https://wallet.example/present')],
  ])('takes the request from %s', async (_what, rewrite) => {
    const { link, sessionId } = await start({ client_id: 'shop' });
    const socket = await authenticatedSocket(url, token);
    const { flowId, question } = await ask(socket, rewrite(link));
    const presentation = await holder.present(credential, disclose, { nonce: String(question['nonce']), aud: String(question['audience']) });
    socket.send({ type: 'presentation_response', flow_id: flowId, message_id: question['message_id'], vp_token: { pid: [presentation] } });
    await socket.next('flow_complete', 15_000);
    socket.close();
    expect((await status(sessionId))['status']).toBe('answered');
  });

  it('presents to a Presentation Exchange scope', async () => {
    const { link, sessionId } = await start({ client_id: 'shop', scope: 'pex' });
    const socket = await authenticatedSocket(url, token);
    const { flowId, question } = await ask(socket, link);
    const definition = (question['query'] as { presentation_definition: { id: string } }).presentation_definition;
    expect(definition.id).toBe('pid-pd');
    const presentation = await holder.present(credential, disclose, { nonce: String(question['nonce']), aud: String(question['audience']) });
    socket.send({
      type: 'presentation_response',
      flow_id: flowId,
      message_id: question['message_id'],
      presentations: [presentation],
      presentation_submission: { id: 'sub-1', definition_id: definition.id, descriptor_map: [{ id: 'pid', format: 'vc+sd-jwt', path: '$' }] },
    });
    await socket.next('flow_complete', 15_000);
    socket.close();
    expect((await status(sessionId))['status']).toBe('answered');
  });

  it.each([
    ['discloses more than asked', async (q: Record<string, unknown>) => holder.present(credential, { ...disclose, family_name: true }, { nonce: String(q['nonce']), aud: String(q['audience']) }), 'did not ask for'],
    ['carries another nonce', async (q: Record<string, unknown>) => holder.present(credential, disclose, { nonce: 'not-the-nonce', aud: String(q['audience']) }), 'nonce_mismatch'],
    ['is for another audience', async (q: Record<string, unknown>) => holder.present(credential, disclose, { nonce: String(q['nonce']), aud: 'someone-else' }), 'audience_mismatch'],
  ])('refuses a presentation that %s before the verifier sees it', async (_what, build, message) => {
    const { link, sessionId } = await start({ client_id: 'shop' });
    const socket = await authenticatedSocket(url, token);
    const { flowId, question } = await ask(socket, link);
    socket.send({ type: 'presentation_response', flow_id: flowId, message_id: question['message_id'], vp_token: { pid: [await build(question)] } });
    const error = await socket.next('flow_error', 15_000);
    socket.close();
    expect(error).toMatchObject({ code: 'invalid_presentation' });
    expect(String(error['message'])).toContain(message);
    expect(await status(sessionId)).toEqual({ status: 'pending' });
  });

  it('sends access_denied to the verifier when the user declines', async () => {
    const { link, sessionId } = await start({ client_id: 'shop' });
    const socket = await authenticatedSocket(url, token);
    const { flowId, question } = await ask(socket, link);
    socket.send({ type: 'presentation_response', flow_id: flowId, message_id: question['message_id'], error: { code: 'declined' } });
    expect(await socket.next('flow_error', 15_000)).toMatchObject({ code: 'declined' });
    socket.close();
    expect(await status(sessionId)).toMatchObject({ status: 'failed' });
  });

  it('refuses a verifier the tenant\'s PDP does not trust, before asking the user', async () => {
    const { link } = await start({ client_id: 'shop-hash' });
    const socket = await authenticatedSocket(engineUrl(proc.servers.get('wallet')!, 'strict'), strictToken);
    socket.send({ type: 'flow_start', message_id: 'vp', protocol: 'oid4vp', params: { request: link } });
    await socket.next('flow_started');
    expect(await socket.next('flow_error', 15_000)).toMatchObject({ code: 'untrusted_verifier' });
    socket.close();
    expect(strictPdp.queries).toEqual([expect.objectContaining({ action: expect.objectContaining({ name: 'credential-verifier' }) })]);
  });

  it('refuses an unsigned request from anything but a redirect_uri client, and a request whose signature is not the client\'s', async () => {
    const socket = await authenticatedSocket(url, token);
    const unsigned = `openid4vp://?${new URLSearchParams({
      client_id: 'decentralized_identifier:did:jwk:eyJrdHkiOiJFQyJ9',
      response_type: 'vp_token',
      response_mode: 'direct_post',
      response_uri: `${VERIFIER}/api/v1/authentication_response`,
      nonce: 'n',
      dcql_query: JSON.stringify({ credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: [PID] } }] }),
    })}`;
    socket.send({ type: 'flow_start', message_id: 'u', protocol: 'oid4vp', params: { request: unsigned } });
    await socket.next('flow_started');
    expect(await socket.next('flow_error', 15_000)).toMatchObject({ code: 'invalid_request' });
    // A signed request (by value) whose client id claims another DID than its signer.
    const { link } = await start({ client_id: 'shop', request_mode: 'byValue' });
    const forged = new URL(link);
    forged.searchParams.set('client_id', 'decentralized_identifier:did:jwk:eyJrdHkiOiJPS1AifQ');
    socket.send({ type: 'flow_start', message_id: 'f', protocol: 'oid4vp', params: { request: forged.toString() } });
    await socket.next('flow_started');
    expect(await socket.next('flow_error', 15_000)).toMatchObject({ code: 'invalid_request' });
    socket.close();
  });
});
