import { startBuiltApp, startTestIssuer, startTestPdp, type ServiceProcess, type TestIssuer, type TestPdp } from '@wallet/testing';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { accessToken, authenticatedSocket, engineUrl, loopbackEngineEnv, rawSocket, type RawSocket, walletClient } from './engine-fixtures';

/**
 * What the engine refuses, each with its typed error, and that it keeps
 * serving afterwards. Hostile URLs use loopback spellings only, against an
 * engine whose outbound guard is on; nothing is ever fetched from them.
 */
describe('engine refusals (built all-in-one)', () => {
  let issuer: TestIssuer;
  let pdp: TestPdp;
  let open: ServiceProcess;
  let guarded: ServiceProcess;
  let hostile: Server;
  let hostileUrl: string;
  let openUrl: string;
  let guardedUrl: string;
  let token: string;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    pdp = await startTestPdp((q) => q.subject.id === issuer.url);
    // A local server with a huge offer and a redirect to a private address.
    hostile = createServer((req, res) => {
      if (req.url === '/huge') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ credential_issuer: issuer.url, credential_configuration_ids: ['pid_sd_jwt'], padding: 'x'.repeat(2 * 1024 * 1024) }));
      } else if (req.url === '/redirect') {
        res.writeHead(302, { location: 'https://10.0.0.1/offer' }).end();
      } else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    hostileUrl = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
    [open, guarded] = await Promise.all([
      startBuiltApp('all-in-one', {
        ...loopbackEngineEnv(pdp.url),
      }),
      // The outbound guard as shipped, short limits for the tests that cross them.
      startBuiltApp('all-in-one', {
        WALLET_ENGINE_FLOW_STARTS_PER_MINUTE: '3',
        WALLET_ENGINE_HANDSHAKE_TIMEOUT_MS: '1000',
      }),
    ]);
    openUrl = engineUrl(open.servers.get('wallet')!);
    guardedUrl = engineUrl(guarded.servers.get('wallet')!);
    token = await accessToken(open.servers.get('wallet')!);
  });

  afterAll(async () => {
    await Promise.all([open?.stop('SIGTERM'), guarded?.stop('SIGTERM')]);
    await issuer?.close();
    await pdp?.close();
    hostile?.closeAllConnections();
    await new Promise((resolve) => hostile?.close(resolve));
  });

  describe('the handshake', () => {
    it('refuses anything before the handshake and closes', async () => {
      const socket = await rawSocket(openUrl);
      socket.send({ type: 'ping', message_id: 'p1' });
      expect(await socket.next('error')).toMatchObject({ code: 'handshake_required', message_id: 'p1' });
      expect((await socket.closed).code).toBe(4401);
    });

    it('refuses a missing, malformed or forged token', async () => {
      for (const frame of [{ type: 'handshake' }, { type: 'handshake', token: 'a.b.c' }, { type: 'handshake', token: `${token.slice(0, -4)}AAAA` }]) {
        const socket = await rawSocket(openUrl);
        socket.send(frame);
        const error = await socket.next('error');
        expect(['invalid_message', 'unauthenticated']).toContain(error['code']);
        expect(JSON.stringify(error)).not.toContain(token.slice(0, 40));
        expect((await socket.closed).code).toBe(4401);
      }
    });

    it('refuses a token whose tenant is not the one in the path', async () => {
      const socket = await rawSocket(engineUrl(open.servers.get('wallet')!, 'other'));
      socket.send({ type: 'handshake', token });
      expect(await socket.next('error')).toMatchObject({ code: 'unauthenticated' });
      expect((await socket.closed).code).toBe(4401);
      const right = await rawSocket(engineUrl(open.servers.get('wallet')!, 'default'));
      right.send({ type: 'handshake', token });
      expect(await right.next()).toMatchObject({ type: 'handshake_ok', session: { tenant_id: 'default' } });
      right.close();
    });

    it('never takes a token from the URL', async () => {
      const socket = new WebSocket(`${openUrl}?access_token=${token}`);
      const status = await new Promise<number>((resolve) => socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
      expect(status).toBe(400);
    });

    it('refuses a browser origin the tenant does not allow', async () => {
      const socket = await rawSocket(openUrl, { origin: 'https://evil.example' });
      socket.send({ type: 'handshake', token });
      expect(await socket.next('error')).toMatchObject({ code: 'forbidden_origin' });
      expect((await socket.closed).code).toBe(4403);
      const allowed = await rawSocket(openUrl, { origin: 'http://localhost:8080' });
      allowed.send({ type: 'handshake', token });
      expect(await allowed.next()).toMatchObject({ type: 'handshake_ok' });
      allowed.close();
    });

    it('closes a connection that sends no handshake in time', async () => {
      const socket = await rawSocket(guardedUrl);
      expect(await socket.next('error', 5000)).toMatchObject({ code: 'handshake_required' });
      expect((await socket.closed).code).toBe(4408);
    });

    it('starts no flow with a token revoked since the handshake (logout), and closes the connection', async () => {
      const wallet = open.servers.get('wallet')!;
      const own = await accessToken(wallet, 'Leaving');
      const socket = await authenticatedSocket(openUrl, own);
      const logout = await fetch(`${wallet}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${own}` } });
      expect(logout.status).toBe(204);
      socket.send({ type: 'flow_start', message_id: 's1', protocol: 'oid4vci', params: { offer: (await issuer.createOffer()).offer } });
      expect(await socket.next('error')).toMatchObject({ code: 'unauthenticated', message_id: 's1' });
      expect((await socket.closed).code).toBe(4401);
    });

    it('lets one user hold several connections', async () => {
      const [a, b] = await Promise.all([authenticatedSocket(openUrl, token), authenticatedSocket(openUrl, token)]);
      a.send({ type: 'ping', message_id: 'a' });
      b.send({ type: 'ping', message_id: 'b' });
      expect(await a.next('pong')).toEqual({ type: 'pong', message_id: 'a' });
      expect(await b.next('pong')).toEqual({ type: 'pong', message_id: 'b' });
      a.close();
      b.close();
    });
  });

  describe('frames', () => {
    it('answers junk, unknown types and binary frames with typed errors and stays open', async () => {
      const socket = await authenticatedSocket(openUrl, token);
      socket.sendText('{not json');
      expect(await socket.next('error')).toMatchObject({ code: 'invalid_message', message: 'the frame is not valid JSON' });
      socket.send({ type: 'fetch_url', message_id: 'm1', url: 'http://127.0.0.1/' });
      expect(await socket.next('error')).toMatchObject({ code: 'unsupported_message', message_id: 'm1', path: '/type' });
      socket.send({ type: 'flow_start', message_id: 'm2', protocol: 'oid4vci', params: { offer: 'x', extra: 1 } });
      expect(await socket.next('error')).toMatchObject({ code: 'invalid_message', message_id: 'm2' });
      socket.send({ type: 'flow_start', message_id: 'm3', protocol: 'oid4vp', params: { offer: 'openid-credential-offer://?credential_offer=%7B%7D' } });
      expect(await socket.next('error')).toMatchObject({ code: 'invalid_message', message_id: 'm3', path: '/params' });
      socket.sendText(Buffer.from([1, 2, 3]), true);
      expect(await socket.next('error')).toMatchObject({ code: 'binary_frame' });
      socket.send({ type: 'ping', message_id: 'still' });
      expect(await socket.next('pong')).toEqual({ type: 'pong', message_id: 'still' });
      socket.close();
    });

    it('closes on a frame over the size limit, before and after the handshake', async () => {
      const early = await rawSocket(openUrl);
      early.sendText(JSON.stringify({ type: 'handshake', token: 'x'.repeat(10_000) }));
      expect(await early.next('error')).toMatchObject({ code: 'frame_too_large' });
      expect((await early.closed).code).toBe(1009);
      const late = await authenticatedSocket(openUrl, token);
      late.sendText(JSON.stringify({ type: 'ping', pad: 'x'.repeat(1_100_000) }));
      expect((await late.closed).code).toBe(1009);
    });

    it('answers a message flood with rate_limited, and closes a client that keeps flooding', async () => {
      const socket = await authenticatedSocket(openUrl, token);
      for (let i = 0; i < 60; i++) socket.send({ type: 'ping', message_id: `f${i}` });
      expect(await socket.next('error')).toMatchObject({ code: 'rate_limited' });
      const flooder = await authenticatedSocket(openUrl, token);
      for (let i = 0; i < 200; i++) flooder.send({ type: 'ping' });
      expect((await flooder.closed).code).toBe(4429);
      socket.close();
    });
  });

  describe('flows', () => {
    async function untilQuestion(socket: RawSocket, type: string): Promise<Record<string, unknown>> {
      return socket.next(type, 15_000);
    }

    it('refuses a reply that answers no pending question, then takes the right one', async () => {
      const socket = await authenticatedSocket(openUrl, token);
      socket.send({ type: 'flow_start', message_id: 's1', protocol: 'oid4vci', params: { offer: (await issuer.createOffer()).offer } });
      const started = await socket.next('flow_started');
      const consent = await untilQuestion(socket, 'consent_request');
      socket.send({ type: 'consent_response', flow_id: started['flow_id'], message_id: 'q999', accept: true });
      expect(await socket.next('error')).toMatchObject({ code: 'unexpected_reply', message_id: 'q999', flow_id: started['flow_id'] });
      socket.send({ type: 'tx_code_response', flow_id: started['flow_id'], message_id: consent['message_id'], tx_code: '1' });
      expect(await socket.next('error')).toMatchObject({ code: 'unexpected_reply' });
      socket.send({ type: 'consent_response', flow_id: 'AAAAAAAAAAAAAAAAAAAAAAAA', message_id: consent['message_id'], accept: true });
      expect(await socket.next('error')).toMatchObject({ code: 'unknown_flow' });
      socket.send({ type: 'consent_response', flow_id: started['flow_id'], message_id: consent['message_id'], accept: true });
      expect(await untilQuestion(socket, 'sign_request')).toMatchObject({ flow_id: started['flow_id'] });
      socket.send({ type: 'flow_cancel', flow_id: started['flow_id'] });
      expect(await socket.next('flow_error')).toMatchObject({ code: 'cancelled' });
      socket.close();
    });

    it.each([
      ['nonce', { nonce: 'not-the-c-nonce' }],
      ['aud', { aud: 'https://someone-else.example' }],
    ])('refuses a key proof with the wrong %s before it reaches the issuer', async (claim, change) => {
      const socket = await authenticatedSocket(openUrl, token);
      socket.send({ type: 'flow_start', message_id: 's1', protocol: 'oid4vci', params: { offer: (await issuer.createOffer()).offer } });
      const { flow_id } = await socket.next('flow_started');
      const consent = await untilQuestion(socket, 'consent_request');
      socket.send({ type: 'consent_response', flow_id, message_id: consent['message_id'], accept: true });
      const question = await untilQuestion(socket, 'sign_request');
      const items = question['items'] as Array<{ id: string; header: Record<string, unknown>; payload: Record<string, unknown> }>;
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const jwk = await exportJWK(publicKey);
      const signatures = await Promise.all(
        items.map(async (item) => ({
          id: item.id,
          jws: await new SignJWT({ ...item.payload, ...change }).setProtectedHeader({ ...item.header, alg: 'ES256', jwk }).sign(privateKey),
        })),
      );
      const before = issuer.requests.filter((r) => r.path === '/credential').length;
      socket.send({ type: 'sign_response', flow_id, message_id: question['message_id'], signatures });
      const error = await socket.next('flow_error');
      expect(error).toMatchObject({ code: 'invalid_proof', flow_id });
      expect(String(error['message'])).toContain(`"${claim}"`);
      expect(issuer.requests.filter((r) => r.path === '/credential').length).toBe(before);
      socket.close();
    });

    it('refuses more unfinished flows than allowed per user', async () => {
      const user = await accessToken(open.servers.get('wallet')!, 'Busy');
      const socket = await authenticatedSocket(openUrl, user);
      const { offer } = await issuer.createOffer();
      for (let i = 0; i < 5; i++) {
        socket.send({ type: 'flow_start', message_id: `s${i}`, protocol: 'oid4vci', params: { offer } });
        await socket.next('flow_started');
      }
      socket.send({ type: 'flow_start', message_id: 's5', protocol: 'oid4vci', params: { offer } });
      expect(await socket.next('error')).toMatchObject({ code: 'too_many_flows', message_id: 's5' });
      socket.close();
    });

    it('refuses an offer whose document is over the size limit', async () => {
      const { client } = walletClient(openUrl, token);
      await client.connect();
      const link = `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(`${hostileUrl}/huge`)}`;
      await expect(client.receiveCredential(link)).rejects.toMatchObject({ code: 'upstream_failed' });
      await client.close();
    });

    it('follows no redirect to a private address', async () => {
      const { client } = walletClient(openUrl, token);
      await client.connect();
      const link = `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(`${hostileUrl}/redirect`)}`;
      await expect(client.receiveCredential(link)).rejects.toMatchObject({ code: 'url_refused' });
      await client.close();
    });
  });

  describe('with the outbound guard as shipped', () => {
    it.each(['https://127.1/offer', 'https://2130706433/offer', 'https://[::ffff:127.0.0.1]/offer', 'https://0.0.0.0/offer', 'http://127.0.0.1:9/offer'])(
      'refuses an offer at %s without fetching it',
      async (target) => {
        // A user of its own: this engine allows 3 flow starts per minute per user.
        const { client } = walletClient(guardedUrl, await accessToken(guarded.servers.get('wallet')!, 'Target'));
        await client.connect();
        const link = `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(target)}`;
        const error = await client.receiveCredential(link).catch((e: unknown) => e);
        await client.close();
        expect(error).toMatchObject({ code: 'url_refused' });
      },
    );

    it.each(['https://127.1/request', 'https://[::ffff:127.0.0.1]/request'])('refuses a presentation request_uri at %s without fetching it', async (target) => {
      const socket = await authenticatedSocket(guardedUrl, await accessToken(guarded.servers.get('wallet')!, 'Scanner'));
      const link = `openid4vp://?client_id=${encodeURIComponent('x509_san_dns:verifier.example')}&request_uri=${encodeURIComponent(target)}`;
      socket.send({ type: 'flow_start', message_id: 'p', protocol: 'oid4vp', params: { request: link } });
      await socket.next('flow_started');
      expect(await socket.next('flow_error', 10_000)).toMatchObject({ code: 'url_refused' });
      socket.close();
    });

    it('refuses an offer naming an issuer on a loopback address (the registry does not fetch it)', async () => {
      const { client } = walletClient(guardedUrl, await accessToken(guarded.servers.get('wallet')!, 'Loop'));
      await client.connect();
      const offer = { credential_issuer: 'https://127.0.0.1', credential_configuration_ids: ['pid'], grants: {} };
      const error = await client.receiveCredential(offer).catch((e: unknown) => e);
      await client.close();
      expect(error).toMatchObject({ code: 'metadata_unavailable' });
    });

    it('limits flow starts per minute per user', async () => {
      const user = await accessToken(guarded.servers.get('wallet')!, 'Eager');
      const socket = await authenticatedSocket(guardedUrl, user);
      const offer = `openid-credential-offer://?credential_offer_uri=${encodeURIComponent('https://127.1/offer')}`;
      const answers: Array<Record<string, unknown>> = [];
      for (let i = 0; i < 4; i++) {
        socket.send({ type: 'flow_start', message_id: `r${i}`, protocol: 'oid4vci', params: { offer } });
        answers.push(await socket.next(i < 3 ? 'flow_started' : 'error'));
      }
      expect(answers[3]).toMatchObject({ code: 'rate_limited', message_id: 'r3' });
      socket.close();
    });
  });

  it('is still healthy and issues after all of this', async () => {
    expect((await fetch(`${open.servers.get('wallet')}/health/ready`)).status).toBe(200);
    expect((await fetch(`${guarded.servers.get('wallet')}/health/ready`)).status).toBe(200);
    const { client } = walletClient(openUrl, token);
    await client.connect();
    const result = await client.receiveCredential((await issuer.createOffer()).offer);
    await client.close();
    expect(result.credentials[0]!.checks.verified).toBe(true);
  });
});
