import { createCache } from '@wallet/cache';
import { loadConfig } from '@wallet/config';
import { createStore } from '@wallet/persistence';
import { createServiceApp, type RunningService, type Runtime } from '@wallet/platform';
import pino from 'pino';
import { request } from 'undici';
import { VerifierFeatureModule } from './verifier-feature.module';

/**
 * The verifier's routes take their parameters through DTO classes, but answer
 * as OAuth endpoints do: `{error, error_description}` JSON (never problem+json),
 * unknown parameters ignored, a parameter sent twice refused as invalid_request.
 */
describe('verifier routes: DTO parameters with OAuth answers', () => {
  let server: RunningService;
  let runtime: Runtime;

  beforeAll(async () => {
    const config = loadConfig({ argv: [], env: { WALLET_STORAGE_TYPE: 'memory', WALLET_SERVER_HOST: '127.0.0.1' } }).config;
    runtime = { config, store: await createStore({ type: 'memory' }), cache: await createCache({ type: 'memory' }), logger: pino({ level: 'silent' }) };
    server = await createServiceApp({ info: { name: 'verifier', services: ['verifier'] }, imports: [VerifierFeatureModule], runtime, port: 0 });
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await runtime?.store.close();
    await runtime?.cache.close();
  });

  async function call(method: 'GET' | 'POST', path: string, body?: { type: string; text: string }) {
    const response = await request(`${server.url}${path}`, {
      method,
      ...(body ? { headers: { 'content-type': body.type }, body: body.text } : {}),
    });
    const text = await response.body.text();
    const type = String(response.headers['content-type'] ?? '');
    return { status: response.statusCode, type, headers: response.headers, text, body: type.includes('json') ? (JSON.parse(text) as Record<string, unknown>) : null };
  }
  const form = (text: string) => ({ type: 'application/x-www-form-urlencoded', text });
  const json = (value: unknown) => ({ type: 'application/json', text: JSON.stringify(value) });
  const oauth = (status: number, error: string, description?: string) => ({
    status,
    type: expect.stringMatching(/^application\/json/),
    body: description === undefined ? expect.objectContaining({ error }) : { error, error_description: description },
  });
  const shape = (answer: Awaited<ReturnType<typeof call>>) => ({ status: answer.status, type: answer.type, body: answer.body });

  async function startSession(query = 'request_uri_method=post'): Promise<string> {
    const started = await call('GET', `/api/v1/startsiop?${query}`);
    expect(started.status).toBe(200);
    return String(started.headers['x-session-id']);
  }

  it('ignores unknown query parameters when a flow starts (RFC 6749 §3.1)', async () => {
    const started = await call('GET', '/api/v1/startsiop?client_id=default&nonce=abc&ui_locales=de&prompt=login');
    expect(started.status).toBe(200);
    expect(started.text).toMatch(/^openid4vp:\/\/\?/);
  });

  it('refuses malformed start parameters as invalid_request, naming the parameter and never echoing it', async () => {
    const cases: Array<[string, string]> = [
      ['client_id=a&client_id=b', 'client_id must be a string'],
      [`client_id=${'c'.repeat(65)}`, 'client_id must be shorter than or equal to 64 characters'],
      [`state=${'s'.repeat(513)}`, 'state must be 1-512 printable characters'],
      ['state=with%20space', 'state must be 1-512 printable characters'],
      ['state=a&state=b', 'state must be 1-512 printable characters'],
      [`redirect_uri=${'r'.repeat(2049)}`, 'redirect_uri must be shorter than or equal to 2048 characters'],
      ['request_mode=x&request_mode=y', 'request_mode must be a string'],
    ];
    for (const [query, description] of cases) {
      expect({ query, ...shape(await call('GET', `/api/v1/startsiop?${query}`)) }).toEqual({ query, ...oauth(400, 'invalid_request', description) });
    }
    expect(shape(await call('GET', '/api/v1/qr?format=gif'))).toEqual(oauth(400, 'invalid_request', 'format must be png or svg'));
  });

  it('answers the platform guard\'s refusal of a bearer token in the query string as an OAuth invalid_request', async () => {
    for (const path of ['/api/v1/startsiop?access_token=abc', '/.well-known/openid-configuration?access_token=abc', '/api/v1/request/some-id?bearer_token=abc']) {
      const answer = await call('GET', path);
      expect({ path, ...shape(answer) }).toEqual({ path, ...oauth(400, 'invalid_request') });
      expect(answer.text).not.toContain('abc');
    }
  });

  it('leaves protocol decisions to the verifier: an unknown client, scope or response type keeps its own OAuth error', async () => {
    expect(shape(await call('GET', '/api/v1/startsiop?client_id=nobody'))).toEqual(oauth(400, 'invalid_client'));
    expect(shape(await call('GET', '/api/v1/startsiop?scope=unheard-of'))).toEqual(oauth(400, 'invalid_scope'));
    expect(shape(await call('GET', '/api/v1/startsiop?request_mode=sideways'))).toEqual(
      oauth(400, 'invalid_request', 'request_mode must be one of byReference, byValue, urlEncoded'),
    );
    expect(shape(await call('GET', '/api/v1/authorization?response_type=token&client_id=default&redirect_uri=https://app.example/cb'))).toEqual(
      oauth(400, 'unsupported_response_type', 'response_type must be code'),
    );
    expect(shape(await call('GET', '/api/v1/authorization?response_type=code&redirect_uri=https://app.example/cb'))).toEqual(oauth(400, 'invalid_request', 'client_id is required'));
  });

  it('GET/POST /api/v1/request/{id}: 404 for an unknown id, 400 for a malformed id or wallet_nonce, never a 500 or a problem document', async () => {
    expect(shape(await call('GET', '/api/v1/request/no-such-request'))).toEqual(oauth(404, 'invalid_request_uri', 'the request does not exist or has expired'));
    expect(shape(await call('POST', '/api/v1/request/no-such-request', form('wallet_nonce=n1')))).toEqual(oauth(404, 'invalid_request_uri'));
    for (const id of ['bad%20id', 'a.b', 'a~b']) {
      expect({ id, ...shape(await call('GET', `/api/v1/request/${id}`)) }).toEqual({ id, ...oauth(400, 'invalid_request') });
    }
    const id = await startSession();
    for (const sent of [`wallet_nonce=${'n'.repeat(257)}`, 'wallet_nonce=with%20space', 'wallet_nonce=', 'wallet_nonce=a&wallet_nonce=b']) {
      expect({ sent, ...shape(await call('POST', `/api/v1/request/${id}`, form(sent))) }).toEqual({ sent, ...oauth(400, 'invalid_request', 'wallet_nonce is malformed') });
    }
    expect(shape(await call('POST', `/api/v1/request/${id}`, json({ wallet_nonce: 7 })))).toEqual(oauth(400, 'invalid_request', 'wallet_nonce is malformed'));
    // No body at all: no wallet_nonce (OpenID4VP lets the wallet send none).
    const bare = await call('POST', `/api/v1/request/${id}`);
    expect(bare.status).toBe(200);
    expect(JSON.parse(Buffer.from(bare.text.split('.')[1]!, 'base64url').toString())['wallet_nonce']).toBeUndefined();
    expect(shape(await call('POST', `/api/v1/request/${id}`, json(['wallet_nonce'])))).toEqual(oauth(400, 'invalid_request', 'the request must be form encoded'));
    // wallet_metadata and parameters we do not know are accepted and ignored.
    const signed = await call('POST', `/api/v1/request/${id}`, form('wallet_nonce=wn-1&wallet_metadata=%7B%7D&something_new=1'));
    expect(signed.status).toBe(200);
    expect(signed.type).toContain('application/oauth-authz-req+jwt');
    expect(JSON.parse(Buffer.from(signed.text.split('.')[1]!, 'base64url').toString())).toMatchObject({ wallet_nonce: 'wn-1', state: id });
  });

  it('session status: a malformed id is 400 and an unknown one 404, both as OAuth errors', async () => {
    expect(shape(await call('GET', '/api/v1/sessions/a.b/status'))).toEqual(oauth(400, 'invalid_request'));
    expect(shape(await call('GET', '/api/v1/sessions/unknown-session/status'))).toEqual(oauth(404, 'invalid_request', 'the session does not exist or has expired'));
    expect(shape(await call('GET', `/api/v1/sessions/${await startSession()}/status`))).toEqual({ status: 200, type: expect.stringMatching(/json/), body: { status: 'pending' } });
  });

  it('token endpoint: a repeated or non-string parameter is invalid_request; unknown ones are ignored; the grant decides the rest', async () => {
    expect(shape(await call('POST', '/token', form('grant_type=authorization_code&grant_type=refresh_token')))).toEqual(oauth(400, 'invalid_request', 'grant_type must be a string'));
    expect(shape(await call('POST', '/token', json({ grant_type: 'authorization_code', code: { $ne: null } })))).toEqual(oauth(400, 'invalid_request', 'code must be a string'));
    expect(shape(await call('POST', '/token', form(`grant_type=refresh_token&refresh_token=${'r'.repeat(257)}`)))).toEqual(oauth(400, 'invalid_request'));
    expect(shape(await call('POST', '/token', form('grant_type=password&username=u&password=p')))).toEqual(oauth(400, 'unsupported_grant_type'));
    expect(shape(await call('POST', '/services/default/token', form('grant_type=authorization_code&code=unknown&resource=https%3A%2F%2Fapi.example')))).toEqual(
      oauth(400, 'invalid_grant', 'the code is unknown, expired or already used'),
    );
    expect(shape(await call('POST', '/token'))).toEqual(oauth(400, 'invalid_request', 'the token request must be form encoded'));
    const nested = `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`;
    expect((await call('POST', '/token', { type: 'application/json', text: `{"grant_type":"vp_token","vp_token":${nested}}` })).status).toBeLessThan(500);
  });

  it('service paths: a malformed service id is invalid_request, a well-formed unknown one invalid_client', async () => {
    expect(shape(await call('POST', '/services/a%20b/nonce'))).toEqual(oauth(400, 'invalid_request'));
    expect(shape(await call('POST', `/services/${'s'.repeat(65)}/token`, form('grant_type=vp_token')))).toEqual(oauth(400, 'invalid_request'));
    expect(shape(await call('POST', '/services/nobody/nonce'))).toEqual(oauth(400, 'invalid_client', 'unknown client_id (service)'));
    expect(shape(await call('GET', '/services/a%20b/.well-known/openid-configuration'))).toEqual(oauth(400, 'invalid_request'));
    expect((await call('GET', '/services/default/.well-known/openid-configuration')).body).toMatchObject({ token_endpoint: expect.stringMatching(/\/services\/default\/token$/) });
  });

  it("the wallet's response: the lean and the regular path refuse a repeated state alike; unknown fields are ignored", async () => {
    // A form with content-length takes the lean path; a JSON body the regular one.
    const lean = await call('POST', '/api/v1/authentication_response', form('state=a&state=b&vp_token=x'));
    const regular = await call('POST', '/api/v1/authentication_response', json({ state: ['a', 'b'], vp_token: 'x' }));
    expect(shape(lean)).toEqual(oauth(400, 'invalid_request', 'state must be a string'));
    expect(shape(regular)).toEqual(shape(lean));
    const unknown = await call('POST', '/api/v1/authentication_response', form('state=unknown-session&vp_token=x&wallet_extension=1'));
    expect(shape(unknown)).toEqual(oauth(400, 'invalid_request', 'the session does not exist or has expired'));
    expect(shape(await call('GET', '/api/v1/authentication_response?state=a&state=b'))).toEqual(oauth(400, 'invalid_request', 'state must be a string'));
    expect(shape(await call('POST', '/api/v1/authentication_response', json({ state: 'x', vp_token: 5 })))).toEqual(oauth(400, 'invalid_request', 'vp_token must be a string'));
  });
});
