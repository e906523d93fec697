import { createDidJwkSdJwtIssuer, createTestSdJwtHolder, startBuiltApp, type ServiceProcess } from '@wallet/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const VCT = 'https://credentials.example.com/pid';
const claims = { given_name: 'Erika', family_name: 'Mustermann' };

interface Answer {
  servedBy: 'lean' | 'regular';
  status: number;
  headers: Record<string, string | undefined>;
  body: unknown;
}

/**
 * Which path answered, from the order of the raw headers: Fastify sets
 * x-request-id first (in its onRequest hook), the lean path last.
 */
function servedBy(rawHeaders: string[]): 'lean' | 'regular' {
  const names = rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
  return names.indexOf('x-request-id') > names.indexOf('content-type') ? 'lean' : 'regular';
}

/**
 * Posts a wallet response with content-length (the lean path) or chunked
 * (which the lean path leaves to Fastify and Nest).
 */
function postResponse(base: string, form: string, chunked: boolean, requestId?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...(requestId ? { 'x-request-id': requestId } : {}) };
    if (!chunked) headers['content-length'] = String(Buffer.byteLength(form));
    const req = httpRequest(`${base}/api/v1/authentication_response`, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        resolve({
          servedBy: servedBy(res.rawHeaders),
          status: res.statusCode ?? 0,
          headers: { 'content-type': res.headers['content-type'], 'cache-control': res.headers['cache-control'] },
          body: JSON.parse(text) as unknown,
        });
      });
    });
    req.on('error', reject);
    if (chunked) req.write(form.slice(0, 10));
    req.end(chunked ? form.slice(10) : form);
  });
}

describe('verifier: the wallet response route answers alike on its lean and its regular path', () => {
  let verifier: ServiceProcess;
  let dir: string;
  let present: (nonce: string, aud: string) => Promise<string>;

  beforeAll(async () => {
    const issuer = await createDidJwkSdJwtIssuer();
    const holder = await createTestSdJwtHolder();
    const credential = await issuer.issue(claims, { _sd: Object.keys(claims) }, { vct: VCT, holderJwk: holder.publicJwk });
    present = (nonce, aud) => holder.present(credential, { given_name: true }, { nonce, aud });
    dir = mkdtempSync(join(tmpdir(), 'verifier-lean-'));
    const dcql = { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: [VCT] }, claims: [{ path: ['given_name'] }] }] };
    writeFileSync(
      join(dir, 'services.yaml'),
      JSON.stringify({ services: [{ id: 'lean', defaultScope: 'pid', scopes: { pid: { dcql, trust: [{ type: VCT, issuers: [{ id: issuer.did }] }] } } }] }),
    );
    verifier = await startBuiltApp('verifier', { WALLET_VERIFIER_SERVICES_FILE: join(dir, 'services.yaml') });
  });

  afterAll(async () => {
    await verifier?.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  async function session(): Promise<{ state: string; nonce: string; clientId: string }> {
    const response = await fetch(`${verifier.servers.get('verifier')}/api/v1/startsiop?client_id=lean&request_mode=urlEncoded`);
    const params = new URL(await response.text()).searchParams;
    return { state: params.get('state')!, nonce: params.get('nonce')!, clientId: params.get('client_id')! };
  }

  /** The same kind of response, on a fresh session for each path. */
  async function both(make: (s: { state: string; nonce: string; clientId: string }) => Promise<string>): Promise<[Answer, Answer]> {
    const base = verifier.servers.get('verifier')!;
    const lean = await postResponse(base, await make(await session()), false);
    const regular = await postResponse(base, await make(await session()), true);
    return [lean, regular];
  }

  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

  it.each([
    ['an accepted response', async (s: { state: string; nonce: string; clientId: string }) => form({ state: s.state, vp_token: JSON.stringify({ pid: [await present(s.nonce, s.clientId)] }) })],
    ['a wrong nonce', async (s: { state: string; nonce: string; clientId: string }) => form({ state: s.state, vp_token: JSON.stringify({ pid: [await present('not-the-nonce', s.clientId)] }) })],
    ['a wrong audience', async (s: { state: string; nonce: string; clientId: string }) => form({ state: s.state, vp_token: JSON.stringify({ pid: [await present(s.nonce, 'did:example:other')] }) })],
    ['a vp_token that is not JSON', async (s: { state: string }) => form({ state: s.state, vp_token: '{' })],
    ['an unknown session', async () => form({ state: 'A'.repeat(43), vp_token: '{}' })],
    ['a repeated state', async (s: { state: string }) => `state=${s.state}&state=${s.state}&vp_token=x`],
    ['a wallet error', async (s: { state: string }) => form({ state: s.state, error: 'access_denied' })],
  ])('%s', async (_name, make) => {
    const [lean, regular] = await both(make);
    expect([lean.servedBy, regular.servedBy]).toEqual(['lean', 'regular']);
    expect({ ...lean, servedBy: undefined }).toEqual({ ...regular, servedBy: undefined });
  });

  it('refuses a replayed response on either path', async () => {
    const base = verifier.servers.get('verifier')!;
    const s = await session();
    const body = form({ state: s.state, vp_token: JSON.stringify({ pid: [await present(s.nonce, s.clientId)] }) });
    expect((await postResponse(base, body, false)).status).toBe(200);
    const [leanReplay, regularReplay] = [await postResponse(base, body, false), await postResponse(base, body, true)];
    expect({ ...leanReplay, servedBy: undefined }).toEqual({ ...regularReplay, servedBy: undefined });
    expect(leanReplay).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: 'this session was already answered' } });
  });

  it('writes one access line per response on the lean path, as the regular path does', async () => {
    const base = verifier.servers.get('verifier')!;
    await postResponse(base, form({ state: 'B'.repeat(43), vp_token: '{}' }), false, 'lean-path-line');
    await postResponse(base, form({ state: 'B'.repeat(43), vp_token: '{}' }), true, 'regular-path-line');
    await new Promise((r) => setTimeout(r, 300));
    const line = (id: string) => verifier.output.filter((l) => l.includes(`"reqId":"${id}"`)).map((l) => JSON.parse(l) as Record<string, unknown>);
    const [lean, regular] = [line('lean-path-line'), line('regular-path-line')];
    expect(lean).toHaveLength(1);
    expect(regular).toHaveLength(1);
    const shape = (l: Record<string, unknown>) => ({ ...l, time: undefined, reqId: undefined, responseTimeMs: undefined });
    expect(shape(lean[0]!)).toEqual(shape(regular[0]!));
    expect(lean[0]).toMatchObject({ msg: 'request completed', req: { method: 'POST', path: '/api/v1/authentication_response', route: '/api/v1/authentication_response' }, res: { statusCode: 400 } });
  });
});
