import { describeIfAvailable, findExecutable, startBuiltApp, type ServiceProcess } from '@wallet/testing';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? findExecutable('chromium') ?? findExecutable('chromium-browser');

/** The small wallet page the test serves: it talks to the auth service cross-origin, as a front end would. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>passkey test</title>
<script>
const b64u = {
  decode: (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0)),
  encode: (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, ''),
};
async function post(url, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = 'Bearer ' + token;
  const r = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json(), etag: r.headers.get('x-private-data-etag') };
}
window.register = async (api) => {
  const begin = await post(api + '/user/register-webauthn-begin', {});
  const o = begin.body.createOptions.publicKey;
  const cred = await navigator.credentials.create({ publicKey: {
    ...o, challenge: b64u.decode(o.challenge), user: { ...o.user, id: b64u.decode(o.user.id) },
    excludeCredentials: (o.excludeCredentials || []).map((c) => ({ ...c, id: b64u.decode(c.id) })),
  } });
  const credential = {
    id: cred.id, rawId: b64u.encode(cred.rawId), type: cred.type,
    response: { clientDataJSON: b64u.encode(cred.response.clientDataJSON), attestationObject: b64u.encode(cred.response.attestationObject), transports: cred.response.getTransports() },
    clientExtensionResults: cred.getClientExtensionResults(),
  };
  const keystore = { $b64u: b64u.encode(new TextEncoder().encode('browser keystore')) };
  return post(api + '/user/register-webauthn-finish', { challengeId: begin.body.challengeId, credential, displayName: 'Browser User', privateData: keystore });
};
window.login = async (api) => {
  const begin = await post(api + '/user/login-webauthn-begin', {});
  const o = begin.body.getOptions.publicKey;
  const cred = await navigator.credentials.get({ publicKey: { ...o, challenge: b64u.decode(o.challenge) } });
  const credential = {
    id: cred.id, rawId: b64u.encode(cred.rawId), type: cred.type,
    response: {
      clientDataJSON: b64u.encode(cred.response.clientDataJSON), authenticatorData: b64u.encode(cred.response.authenticatorData),
      signature: b64u.encode(cred.response.signature), userHandle: cred.response.userHandle ? b64u.encode(cred.response.userHandle) : null,
    },
    clientExtensionResults: cred.getClientExtensionResults(),
  };
  return post(api + '/user/login-webauthn-finish', { challengeId: begin.body.challengeId, credential });
};
</script><p>wallet</p>`;

describeIfAvailable('auth:browser', CHROMIUM !== null, 'no chromium on PATH (set CHROMIUM_PATH)')('passkeys in a real browser (Chromium, CDP virtual authenticator)', () => {
  let page: Server;
  let origin: string;
  let auth: ServiceProcess;
  let api: string;
  let browser: Browser;

  beforeAll(async () => {
    page = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(PAGE);
    });
    await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
    origin = `http://localhost:${(page.address() as AddressInfo).port}`;
    auth = await startBuiltApp('auth', { WALLET_AUTH_ORIGINS: origin, WALLET_SERVER_CORS_ORIGINS: origin, WALLET_AUTH_RP_ID: 'localhost' });
    api = auth.servers.get('auth')!.replace('127.0.0.1', 'localhost');
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox', '--headless=new'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await auth?.stop();
    await new Promise((r) => page?.close(r));
  });

  it('registers and logs in with a passkey held by the browser, and the keystore comes back', async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    await tab.goto(`${origin}/`);
    const cdp = await context.newCDPSession(tab);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });

    const registered = await tab.evaluate((url) => (globalThis as unknown as { register(u: string): Promise<{ status: number; body: Record<string, unknown>; etag: string }> }).register(url), api);
    expect(registered.status).toBe(200);
    expect(registered.body).toMatchObject({ displayName: 'Browser User', tokenType: 'Bearer' });
    expect(registered.etag).toBe(registered.body['privateDataEtag']);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]!.isResidentCredential).toBe(true);

    const login = await tab.evaluate((url) => (globalThis as unknown as { login(u: string): Promise<{ status: number; body: Record<string, unknown> }> }).login(url), api);
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({
      uuid: registered.body['uuid'],
      privateData: { $b64u: Buffer.from('browser keystore').toString('base64url') },
    });
    const info = await fetch(`${api}/user/session/account-info`, { headers: { authorization: `Bearer ${String(login.body['appToken'])}` } });
    expect(info.status).toBe(200);
    await context.close();
  });
});
