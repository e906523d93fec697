import { createCache, type Cache } from '@wallet/cache';
import type { ServerMessage, ServerMessageOf } from '@wallet/engine-protocol';
import { startTestIssuer, type TestIssuer } from '@wallet/testing';
import { createKeyring, type Keyring } from '@wallet/wallet-client';
import { decodeJwt } from 'jose';
import type { EngineCore, FlowLimits } from '../engine-core';
import type { GuardedFetch } from '../ports';
import { assertLoopback, fetched, loopbackResponse, principal, runIssuance, until } from './issuance-harness.contract';

/** One request the engine sent: its path, the DPoP proof's jti and nonce (none: no DPoP header), what came back. */
interface Exchange {
  path: string;
  jti?: string;
  nonce?: string;
  status: number;
  /** The DPoP-Nonce response header. */
  serverNonce?: string;
}

/** Answers a request in the server's place (a misbehaving server); undefined: the test issuer answers. */
type FakeAnswer = (path: string) => Response | undefined;

/**
 * Plain fetch for the loopback test issuer (redirects are not followed) that
 * notes each request's DPoP proof claims and the answer, as the server saw them.
 */
function recordingFetch(exchanges: Exchange[], fake?: FakeAnswer): GuardedFetch {
  return async (url, init = {}) => {
    assertLoopback(url);
    const target = new URL(url);
    const response = fake?.(target.pathname) ?? (await loopbackResponse(url, init));
    const dpop = Object.entries(init.headers ?? {}).find(([name]) => name.toLowerCase() === 'dpop')?.[1];
    const claims = dpop ? decodeJwt(dpop) : undefined;
    const serverNonce = response.headers.get('dpop-nonce');
    exchanges.push({
      path: target.pathname,
      ...(claims?.jti !== undefined ? { jti: claims.jti } : {}),
      ...(typeof claims?.['nonce'] === 'string' ? { nonce: claims['nonce'] } : {}),
      status: response.status,
      ...(serverNonce ? { serverNonce } : {}),
    });
    return fetched(response);
  };
}

interface Run {
  frames: ServerMessage[];
  /** Every request the engine sent, in order. */
  exchanges: Exchange[];
  /** The engine replicas the flow ran on (for follow-ups). */
  cores: EngineCore[];
}

interface Receive {
  issuer: TestIssuer;
  keyring: Keyring;
  /** An offer, or a refresh to re-issue with. */
  start: { offer: Parameters<TestIssuer['createOffer']>[0] } | { reissue: NonNullable<ServerMessageOf<'flow_complete'>['refresh']> };
  limits?: Partial<FlowLimits>;
  /** Engine replicas over one cache: the flow starts on the first; answers and deferred polls go round them in turn. */
  replicas?: number;
  fake?: FakeAnswer;
}

/**
 * Issuance through the real issuance flow and runner, against the test
 * issuer, with a client that answers every question later (as over a socket)
 * and a deferred poller; the client signs every proof with the keyring.
 */
async function receive(cache: Cache, { start, fake, ...input }: Receive): Promise<Run> {
  const exchanges: Exchange[] = [];
  const { frames, cores } = await runIssuance(cache, { ...input, ...start, fetch: recordingFetch(exchanges, fake) });
  return { frames, exchanges, cores };
}

function completed(frames: ServerMessage[]): ServerMessageOf<'flow_complete'> {
  const last = frames.at(-1);
  // The flow_error message says what went wrong when this fails.
  expect(last?.type === 'flow_error' ? `${last.code}: ${last.message}` : last?.type).toBe('flow_complete');
  return last as ServerMessageOf<'flow_complete'>;
}

const at = (exchanges: Exchange[], path: string) => exchanges.filter((e) => e.path === path);

/** Every DPoP proof sent carried a jti of its own (RFC 9449 §11.1: servers refuse a jti seen before). */
function expectFreshJtis(exchanges: Exchange[]): void {
  const jtis = exchanges.filter((e) => e.jti !== undefined).map((e) => e.jti);
  expect(jtis.length).toBeGreaterThan(0);
  expect(new Set(jtis).size).toBe(jtis.length);
}

/**
 * DPoP with server nonces (RFC 9449 §8 at the authorization server, §9 at the
 * resource server): a `use_dpop_nonce` challenge gets one retry with a new
 * proof the client signs (fresh jti, the server's nonce), and a nonce a
 * server handed out is used on the next request to that server, in a later
 * step of the flow, on whichever replica runs it.
 */
describe('issuance flow, DPoP server nonces', () => {
  let cache: Cache;
  beforeEach(async () => {
    cache = await createCache({ type: 'memory' });
  });
  afterEach(async () => cache.close());

  describe('authorization code with PAR', () => {
    let issuer: TestIssuer;
    beforeAll(async () => {
      issuer = await startTestIssuer({ dpop: 'nonce', par: 'required' });
    });
    afterAll(async () => issuer.close());

    it('retries PAR once with a new proof and sends the token request with the nonce PAR handed out, without a challenge', async () => {
      const keyring = createKeyring();
      const { frames, exchanges } = await receive(cache, { issuer, keyring, start: { offer: { grant: 'authorization_code' } }, replicas: 2 });
      const done = completed(frames);
      expect(done.credentials).toHaveLength(1);
      expect(done.credentials![0]!.checks.verified).toBe(true);
      expectFreshJtis(exchanges);

      // PAR: the first proof has no nonce and is challenged; the retry carries the challenge's nonce.
      const par = at(exchanges, '/par');
      expect(par.map((e) => e.status)).toEqual([400, 201]);
      expect(par[0]!.nonce).toBeUndefined();
      expect(par[1]!.nonce).toBe(par[0]!.serverNonce);
      const parNonce = par[1]!.serverNonce;
      expect(parNonce).toEqual(expect.any(String));

      // Token: the nonce from the PAR response, first time; no 400 from the token endpoint.
      const token = at(exchanges, '/token');
      expect(token.map((e) => e.status)).toEqual([200]);
      expect(token[0]!.nonce).toBe(parNonce);
      expect(issuer.requests.filter((r) => r.path === '/token' && r.status === 400)).toHaveLength(0);

      // The credential endpoint is another server with its own nonce: one challenge, one retry.
      const credential = at(exchanges, '/credential');
      expect(credential.map((e) => e.status)).toEqual([401, 200]);
      expect(credential[1]!.nonce).toBe(credential[0]!.serverNonce);
      expect(credential[1]!.nonce).not.toBe(parNonce);
    });
  });

  describe('pre-authorized code', () => {
    let issuer: TestIssuer;
    let deferredIssuer: TestIssuer;
    beforeAll(async () => {
      issuer = await startTestIssuer({ dpop: 'nonce' });
      deferredIssuer = await startTestIssuer({ dpop: 'nonce', deferred: { pendingPolls: 1, intervalSeconds: 1 } });
    });
    afterAll(async () => Promise.all([issuer.close(), deferredIssuer.close()]));

    it('answers the token and credential challenges once each, and notifies with the nonce the credential endpoint handed out', async () => {
      const keyring = createKeyring();
      const { frames, exchanges, cores } = await receive(cache, { issuer, keyring, start: { offer: { grant: 'pre-authorized_code' } }, replicas: 2 });
      const done = completed(frames);
      expect(done.credentials).toHaveLength(1);
      expect(done.credentials![0]!.checks.verified).toBe(true);

      const token = at(exchanges, '/token');
      expect(token.map((e) => e.status)).toEqual([400, 200]);
      expect(token[1]!.nonce).toBe(token[0]!.serverNonce);
      const credential = at(exchanges, '/credential');
      expect(credential.map((e) => e.status)).toEqual([401, 200]);
      const resourceNonce = credential[1]!.nonce;
      expect(resourceNonce).toBe(credential[0]!.serverNonce);

      // A notification afterwards (a follow-up action): the resource server's nonce, no challenge.
      const notificationId = done.credentials![0]!.notification_id!;
      await cores[1]!.flows.notify(principal, { type: 'notification', flow_id: done.flow_id, notification_id: notificationId, event: 'credential_accepted' });
      await until(frames, (f) => f.type === 'notification_result');
      expect(frames.find((f) => f.type === 'notification_result')).toMatchObject({ status: 'sent' });
      const notification = at(exchanges, '/notification');
      expect(notification.map((e) => e.status)).toEqual([204]);
      expect(notification[0]!.nonce).toBe(resourceNonce);
      expectFreshJtis(exchanges);
    });

    it('re-issues with the refresh token: the token endpoint challenge is answered once with a new proof of the bound key', async () => {
      const keyring = createKeyring();
      const first = await receive(cache, { issuer, keyring, start: { offer: { grant: 'pre-authorized_code' } } });
      const refresh = completed(first.frames).refresh;
      expect(refresh?.dpop_jkt).toEqual(expect.any(String));

      const { frames, exchanges } = await receive(cache, { issuer, keyring, start: { reissue: refresh! } });
      const done = completed(frames);
      expect(done.credentials![0]!.checks.holder_binding).toBe(true);
      expectFreshJtis([...first.exchanges, ...exchanges]);
      const token = at(exchanges, '/token');
      expect(token.map((e) => e.status)).toEqual([400, 200]);
      expect(token[1]!.nonce).toBe(token[0]!.serverNonce);
    });

    it('polls deferred issuance with the nonce the credential endpoint handed out', async () => {
      const keyring = createKeyring();
      const { frames, exchanges } = await receive(cache, {
        issuer: deferredIssuer,
        keyring,
        start: { offer: { grant: 'pre-authorized_code' } },
        limits: { deferredIntervalMs: { min: 20, max: 20 } },
        replicas: 2,
      });
      expect(completed(frames).credentials).toHaveLength(1);
      const credential = at(exchanges, '/credential');
      expect(credential.map((e) => e.status)).toEqual([401, 202]);
      const resourceNonce = credential[1]!.nonce;
      expect(resourceNonce).toBe(credential[0]!.serverNonce);
      // issuance_pending, then the credential: neither poll is challenged.
      const deferred = at(exchanges, '/deferred');
      expect(deferred.map((e) => e.status)).toEqual([400, 200]);
      expect(deferred.map((e) => e.nonce)).toEqual([resourceNonce, resourceNonce]);
      expectFreshJtis(exchanges);
    });

    it('retries a challenge once only: a token endpoint that challenges every proof fails the flow', async () => {
      const keyring = createKeyring();
      let served = 0;
      // Every token request is answered use_dpop_nonce with a new nonce.
      const fake: FakeAnswer = (path) =>
        path === '/token'
          ? new Response(JSON.stringify({ error: 'use_dpop_nonce', error_description: 'Use the DPoP-Nonce this server sent' }), {
              status: 400,
              headers: { 'content-type': 'application/json', 'dpop-nonce': `n-${++served}` },
            })
          : undefined;
      const { frames, exchanges } = await receive(cache, { issuer, keyring, start: { offer: { grant: 'pre-authorized_code' } }, fake });
      const last = frames.at(-1);
      expect(last).toMatchObject({ type: 'flow_error', code: 'token_failed' });
      const token = at(exchanges, '/token');
      expect(token.map((e) => e.nonce)).toEqual([undefined, 'n-1']);
      expectFreshJtis(exchanges);
      const message = String((last as ServerMessageOf<'flow_error'>).message);
      expect(message).toContain('use_dpop_nonce');
      for (const e of token) expect(message).not.toContain(e.jti);
      expect(message).not.toMatch(/n-\d/);
    });
  });
});
