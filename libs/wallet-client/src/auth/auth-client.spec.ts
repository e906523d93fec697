import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON as ServerAuthenticationJSON,
  type RegistrationResponseJSON as ServerRegistrationJSON,
  type WebAuthnCredential,
} from '@simplewebauthn/server';
import { newAuthenticator } from '@wallet/testing';
import WebAuthnEmulator, { parseCreationOptionsFromJSON, parseRequestOptionsFromJSON } from 'nid-webauthn-emulator';
import { base64urlDecode, base64urlEncode, base64urlEncodeText } from '../base64url';
import { AuthClient, AuthError, type Session } from './auth-client';
import type { FetchLike, FetchResponseLike } from './http';
import {
  browserWebAuthn,
  type AuthenticationResponseJSON,
  type CredentialsContainerLike,
  type RegistrationResponseJSON,
  type WebAuthnPort,
} from './webauthn';

/**
 * A stand-in for the auth service's passkey, token and keystore routes
 * (libs/auth/feature/src/*.controller.ts): the same paths, bodies, ETag
 * headers and problem codes, with real WebAuthn verification by
 * @simplewebauthn/server as the service does. The real service is exercised
 * in e2e/src/wallet-client.e2e.spec.ts.
 */
const ORIGIN = 'http://localhost:8080';
const RP_ID = 'localhost';

interface User {
  id: string;
  handle: string;
  displayName: string;
  privateData: string | null;
  etag: string | null;
}

class FakeAuth {
  readonly requests: Array<{ method: string; path: string; headers: Record<string, string>; body: unknown }> = [];
  readonly users = new Map<string, User>();
  readonly passkeys = new Map<string, { userId: string; credential: WebAuthnCredential }>();
  readonly challenges = new Map<string, { challenge: string; handle?: string }>();
  /** Access token → session family; removed when revoked. */
  readonly accessTokens = new Map<string, { userId: string; family: string }>();
  /** Refresh token → state. */
  readonly refreshTokens = new Map<string, { userId: string; family: string; status: 'active' | 'rotated' | 'revoked' }>();
  expiresIn = 300;
  private counter = 0;

  readonly fetch: FetchLike = async (url, init) => {
    const path = new URL(url).pathname;
    const body = init.body ? (JSON.parse(init.body) as Record<string, unknown>) : undefined;
    this.requests.push({ method: init.method, path, headers: init.headers, body });
    const route = `${init.method} ${path}`;
    if (route === 'POST /user/register-webauthn-begin') {
      const handle = base64urlEncode(crypto.getRandomValues(new Uint8Array(16)));
      const publicKey = await generateRegistrationOptions({
        rpName: 'Wallet',
        rpID: RP_ID,
        userName: 'wallet user',
        userID: base64urlDecode(handle) as Uint8Array<ArrayBuffer>,
        attestationType: 'none',
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
        supportedAlgorithmIDs: [-7, -8, -257],
      });
      return json(200, { challengeId: this.challenge(publicKey.challenge, handle), createOptions: { publicKey } });
    }
    if (route === 'POST /user/register-webauthn-finish') {
      const challenge = this.take(body?.['challengeId']);
      if (!challenge?.handle) return problem(400, 'challenge_invalid');
      let verified;
      try {
        verified = await verifyRegistrationResponse({
          response: body?.['credential'] as ServerRegistrationJSON,
          expectedChallenge: challenge.challenge,
          expectedOrigin: ORIGIN,
          expectedRPID: RP_ID,
        });
      } catch (error) {
        return problem(400, 'webauthn_invalid', { detail: String(error) });
      }
      if (!verified.verified) return problem(400, 'webauthn_invalid');
      const user: User = { id: `user-${++this.counter}`, handle: challenge.handle, displayName: String(body?.['displayName'] ?? ''), privateData: null, etag: null };
      const privateData = body?.['privateData'] as { $b64u: string } | undefined;
      if (privateData) Object.assign(user, { privateData: privateData.$b64u, etag: `tag-${privateData.$b64u.length}-${++this.counter}` });
      this.users.set(user.id, user);
      this.passkeys.set(verified.registrationInfo.credential.id, { userId: user.id, credential: verified.registrationInfo.credential });
      return this.session(user);
    }
    if (route === 'POST /user/login-webauthn-begin') {
      const publicKey = await generateAuthenticationOptions({ rpID: RP_ID, userVerification: 'required' });
      return json(200, { challengeId: this.challenge(publicKey.challenge), getOptions: { publicKey } });
    }
    if (route === 'POST /user/login-webauthn-finish') {
      const challenge = this.take(body?.['challengeId']);
      if (!challenge) return problem(400, 'challenge_invalid');
      const response = body?.['credential'] as ServerAuthenticationJSON;
      const passkey = this.passkeys.get(response.id);
      if (!passkey) return problem(401, 'passkey_unknown');
      const verified = await verifyAuthenticationResponse({ response, expectedChallenge: challenge.challenge, expectedOrigin: ORIGIN, expectedRPID: RP_ID, credential: passkey.credential });
      if (!verified.verified) return problem(400, 'webauthn_invalid');
      passkey.credential.counter = verified.authenticationInfo.newCounter;
      return this.session(this.users.get(passkey.userId)!);
    }
    if (route === 'POST /auth/token/refresh') {
      const token = String(body?.['refreshToken']);
      const state = this.refreshTokens.get(token);
      if (!state || state.status !== 'active') {
        // Reuse of a rotated token revokes the whole family, as the service does.
        if (state) for (const other of this.refreshTokens.values()) if (other.family === state.family) other.status = 'revoked';
        return problem(401, 'invalid_grant');
      }
      state.status = 'rotated';
      return json(200, this.issue(state.userId, state.family));
    }
    const bearer = /^Bearer (.+)$/.exec(init.headers['authorization'] ?? '')?.[1];
    const principal = bearer ? this.accessTokens.get(bearer) : undefined;
    if (!principal) return problem(401, bearer ? 'invalid_token' : 'token_required');
    const user = this.users.get(principal.userId)!;
    if (route === 'POST /auth/logout') {
      for (const [token, state] of this.accessTokens) if (state.family === principal.family) this.accessTokens.delete(token);
      for (const state of this.refreshTokens.values()) if (state.family === principal.family) state.status = 'revoked';
      return { status: 204, headers: new Headers(), text: async () => '' };
    }
    if (route === 'GET /user/session/account-info') return json(200, { uuid: user.id, tenant: 'default', displayName: user.displayName, privateDataEtag: user.etag });
    if (route === 'GET /user/session/private-data') return json(200, { privateData: user.privateData === null ? null : { $b64u: user.privateData } }, etagHeaders(user.etag));
    if (route === 'POST /user/session/private-data') {
      const blob = (body as { $b64u: string }).$b64u;
      const ifMatch = init.headers['if-match']?.replace(/^"(.*)"$/, '$1');
      if (user.etag !== null && ifMatch === undefined) return problem(412, 'precondition_required', { currentEtag: user.etag }, etagHeaders(user.etag));
      if (user.etag !== null && ifMatch !== user.etag) return problem(412, 'etag_mismatch', { currentEtag: user.etag }, etagHeaders(user.etag));
      Object.assign(user, { privateData: blob, etag: `tag-${blob.length}-${++this.counter}` });
      return { status: 204, headers: new Headers(etagHeaders(user.etag)), text: async () => '' };
    }
    return problem(404, 'not_found');
  };

  /** Revokes the access tokens only (a key rotation, say): the refresh token still works. */
  revokeAccessTokens(): void {
    this.accessTokens.clear();
  }

  private challenge(challenge: string, handle?: string): string {
    const id = `challenge-${++this.counter}`;
    this.challenges.set(id, { challenge, ...(handle ? { handle } : {}) });
    return id;
  }

  private take(id: unknown): { challenge: string; handle?: string } | undefined {
    const found = this.challenges.get(String(id));
    this.challenges.delete(String(id));
    return found;
  }

  private issue(userId: string, family: string) {
    const appToken = `${base64urlEncodeText('{"alg":"none"}')}.${base64urlEncodeText(JSON.stringify({ sub: userId, tenant: 'default', n: ++this.counter }))}.sig`;
    const refreshToken = `rt1.default.${++this.counter}`;
    this.accessTokens.set(appToken, { userId, family });
    this.refreshTokens.set(refreshToken, { userId, family, status: 'active' });
    return { appToken, refreshToken, tokenType: 'Bearer', expiresIn: this.expiresIn };
  }

  private session(user: User): FetchResponseLike {
    const tokens = this.issue(user.id, `family-${++this.counter}`);
    return json(
      200,
      {
        ...tokens,
        uuid: user.id,
        tenant: 'default',
        displayName: user.displayName,
        username: user.displayName,
        webauthnUserHandle: user.handle,
        privateData: user.privateData === null ? null : { $b64u: user.privateData },
        privateDataEtag: user.etag,
      },
      etagHeaders(user.etag),
    );
  }
}

const etagHeaders = (etag: string | null): Record<string, string> => (etag === null ? {} : { etag: `"${etag}"`, 'x-private-data-etag': etag });

function json(status: number, body: unknown, headers: Record<string, string> = {}): FetchResponseLike {
  return { status, headers: new Headers({ 'content-type': 'application/json', ...headers }), text: async () => JSON.stringify(body) };
}

function problem(status: number, code: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): FetchResponseLike {
  return json(status, { type: `https://wallet.dev/problems/${code}`, title: 'x', status, code, detail: `${code} (fake)`, ...extra }, { ...headers, 'content-type': 'application/problem+json' });
}

/** The test adapter the brief describes: nid-webauthn-emulator's JSON API as a WebAuthnPort. */
function emulatorPort(authenticator: WebAuthnEmulator, origin = ORIGIN): WebAuthnPort {
  return {
    create: async (options) => authenticator.createJSON(origin, options as never) as unknown as RegistrationResponseJSON,
    get: async (options) => authenticator.getJSON(origin, options as never) as unknown as AuthenticationResponseJSON,
  };
}

const bytes = (text: string) => new TextEncoder().encode(text);

describe('AuthClient', () => {
  let server: FakeAuth;
  let clock: number;
  const make = (options: { authenticator?: WebAuthnEmulator; onSession?: (s: Session | null) => void; webauthn?: WebAuthnPort } = {}) =>
    new AuthClient({
      baseUrl: 'https://wallet.example/',
      tenant: 'default',
      fetch: server.fetch,
      webauthn: options.webauthn ?? emulatorPort(options.authenticator ?? newAuthenticator()),
      now: () => clock,
      ...(options.onSession ? { onSession: options.onSession } : {}),
    });

  beforeEach(() => {
    server = new FakeAuth();
    clock = 1_000_000;
  });

  it('registers a passkey with a keystore blob, then logs in with it on a second device', async () => {
    const authenticator = newAuthenticator();
    const sessions: Array<Session | null> = [];
    const device1 = make({ authenticator, onSession: (s) => sessions.push(s) });
    const registered = await device1.register({ displayName: 'Ann', privateData: bytes('wrapped vault keys') });
    expect(registered).toMatchObject({ userId: expect.stringMatching(/^user-/), tenant: 'default', displayName: 'Ann', expiresAt: clock + 300_000 });
    expect(registered.privateData).toEqual(bytes('wrapped vault keys'));
    expect(registered.privateDataEtag).toMatch(/^tag-/);
    expect(device1.session).toBe(registered);
    expect(sessions).toEqual([registered]);
    const finish = server.requests.find((r) => r.path === '/user/register-webauthn-finish')!;
    expect(finish.body).toMatchObject({ displayName: 'Ann', privateData: { $b64u: base64urlEncodeText('wrapped vault keys') }, credential: { type: 'public-key' } });
    // Every request names the tenant.
    expect(server.requests.every((r) => r.headers['x-tenant-id'] === 'default')).toBe(true);

    const device2 = make({ authenticator });
    const login = await device2.login();
    expect(login.userId).toBe(registered.userId);
    expect(login.privateData).toEqual(bytes('wrapped vault keys'));
    expect(login.accessToken).not.toBe(registered.accessToken);
  });

  it('hands out the access token until it is about to expire, then refreshes once for all concurrent callers', async () => {
    const sessions: Array<Session | null> = [];
    const auth = make({ onSession: (s) => sessions.push(s) });
    const first = await auth.register({ displayName: 'Ann' });
    expect(await auth.accessToken()).toBe(first.accessToken);
    clock += 300_000 - 29_000; // inside the 30 s margin
    const tokens = await Promise.all([auth.accessToken(), auth.accessToken(), auth.accessToken({ refresh: true })]);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(first.accessToken);
    expect(server.requests.filter((r) => r.path === '/auth/token/refresh')).toHaveLength(1);
    // The rotated refresh token replaced the old one, and the app heard of it.
    expect(auth.session!.refreshToken).not.toBe(first.refreshToken);
    expect(sessions.at(-1)).toBe(auth.session);
    expect(auth.session).toMatchObject({ userId: first.userId, privateData: null, expiresAt: clock + 300_000 });
    // refresh: true (the engine refused the token) forces a new one.
    const forced = await auth.accessToken({ refresh: true });
    expect(forced).not.toBe(tokens[0]);
  });

  it('retries an authenticated call once with a refreshed token after a 401', async () => {
    const auth = make();
    await auth.register({ displayName: 'Ann', privateData: bytes('v1') });
    server.revokeAccessTokens();
    expect((await auth.getPrivateData()).privateData).toEqual(bytes('v1'));
    expect(server.requests.slice(-3).map((r) => r.path)).toEqual(['/user/session/private-data', '/auth/token/refresh', '/user/session/private-data']);
  });

  it('ends the session when the refresh token is refused, and says so from then on', async () => {
    const sessions: Array<Session | null> = [];
    const auth = make({ onSession: (s) => sessions.push(s) });
    await auth.register({ displayName: 'Ann' });
    for (const state of server.refreshTokens.values()) state.status = 'revoked';
    const error = await auth.refresh().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ code: 'invalid_grant', status: 401 });
    expect(auth.session).toBeNull();
    expect(sessions.at(-1)).toBeNull();
    await expect(auth.accessToken()).rejects.toMatchObject({ code: 'not_logged_in' });
  });

  it('writes the keystore blob compare-and-set on its ETag', async () => {
    const authenticator = newAuthenticator();
    const device1 = make({ authenticator });
    const session = await device1.register({ displayName: 'Ann', privateData: bytes('v1') });
    const device2 = make({ authenticator });
    await device2.login();

    const tag2 = await device1.putPrivateData(bytes('v2'), session.privateDataEtag);
    expect(tag2).not.toBe(session.privateDataEtag);
    expect(device1.session).toMatchObject({ privateData: bytes('v2'), privateDataEtag: tag2 });
    expect(server.requests.at(-1)!.headers['if-match']).toBe(`"${session.privateDataEtag}"`);

    // device 2 still holds the first tag: refused with the current one, reads, merges, writes.
    const stale = await device2.putPrivateData(bytes('v2 from device 2'), device2.session!.privateDataEtag).catch((e: unknown) => e);
    expect(stale).toMatchObject({ name: 'AuthError', code: 'etag_mismatch', status: 412, currentEtag: tag2 });
    const current = await device2.getPrivateData();
    expect(current).toEqual({ privateData: bytes('v2'), etag: tag2 });
    expect(await device2.putPrivateData(bytes('v3'), current.etag)).toMatch(/^tag-/);
    // Without a tag while a blob exists: refused too.
    await expect(device2.putPrivateData(bytes('v4'), null)).rejects.toMatchObject({ code: 'precondition_required', status: 412 });
    await expect(device2.putPrivateData('v4' as unknown as Uint8Array, null)).rejects.toBeInstanceOf(TypeError);
  });

  it('logs out: the service revokes the session, the client forgets it', async () => {
    const auth = make();
    const session = await auth.register({ displayName: 'Ann' });
    await auth.logout();
    expect(server.requests.at(-1)).toMatchObject({ method: 'POST', path: '/auth/logout', headers: expect.objectContaining({ authorization: `Bearer ${session.accessToken}` }) });
    expect(auth.session).toBeNull();
    expect(server.refreshTokens.get(session.refreshToken)!.status).toBe('revoked');
    await expect(auth.accessToken()).rejects.toMatchObject({ code: 'not_logged_in' });
    await auth.logout(); // nothing to do
  });

  it('restores a session from a stored refresh token after a reload', async () => {
    let stored: string | null = null;
    const before = make({ onSession: (s) => (stored = s?.refreshToken ?? null) });
    const session = await before.register({ displayName: 'Ann', privateData: bytes('keys') });
    clock += 400_000;
    await before.accessToken(); // a refresh rotated the token: the stored one follows
    expect(stored).toBe(before.session!.refreshToken);

    const after = make();
    const restored = await after.restore(stored!);
    expect(restored).toMatchObject({ userId: session.userId, tenant: 'default', displayName: 'Ann', privateData: bytes('keys'), privateDataEtag: session.privateDataEtag });
    // The token the first page held is spent now.
    await expect(before.refresh()).rejects.toMatchObject({ code: 'invalid_grant' });
  });

  it('reports WebAuthn failures, refused passkeys and unreadable answers as AuthErrors', async () => {
    const cancelled = make({ webauthn: { create: async () => Promise.reject(new Error('NotAllowedError: cancelled')), get: async () => Promise.reject(new Error('x')) } });
    await expect(cancelled.register({ displayName: 'Ann' })).rejects.toMatchObject({ code: 'webauthn_failed', status: 0 });

    // A passkey registered with another service.
    const authenticator = newAuthenticator();
    await make({ authenticator }).register({ displayName: 'Ann' });
    server.passkeys.clear();
    await expect(make({ authenticator }).login()).rejects.toMatchObject({ code: 'passkey_unknown', status: 401 });

    const proxy = new AuthClient({
      baseUrl: 'https://x',
      webauthn: emulatorPort(newAuthenticator()),
      fetch: async () => ({ status: 502, headers: new Headers(), text: async () => '<html>' }),
    });
    await expect(proxy.login()).rejects.toMatchObject({ code: 'http_502', status: 502 });
    const offline = new AuthClient({ baseUrl: 'https://x', webauthn: emulatorPort(newAuthenticator()), fetch: () => Promise.reject(new TypeError('fetch failed')) });
    await expect(offline.login()).rejects.toMatchObject({ code: 'network_error' });
    const odd = new AuthClient({ baseUrl: 'https://x', webauthn: emulatorPort(newAuthenticator()), fetch: async () => json(200, { challengeId: 'c' }) });
    await expect(odd.login()).rejects.toMatchObject({ code: 'invalid_response' });
  });
});

describe('browserWebAuthn', () => {
  /** navigator.credentials backed by the emulator; `modern` keeps the credentials' own toJSON. */
  function container(authenticator: WebAuthnEmulator, modern: boolean, seen: unknown[] = []): CredentialsContainerLike {
    const strip = (credential: object) => {
      if (modern) return credential;
      const { toJSON: _toJSON, ...rest } = credential as { toJSON?: unknown };
      return rest;
    };
    return {
      create: async (options) => {
        seen.push(options.publicKey);
        return strip(authenticator.create(ORIGIN, options as never));
      },
      get: async (options) => {
        seen.push(options.publicKey);
        return strip(authenticator.get(ORIGIN, options as never));
      },
    };
  }

  it.each([
    ['with the WebAuthn L3 JSON methods', true],
    ['converting by hand where the browser lacks them', false],
  ])('registers and logs in %s, verified as the service verifies', async (_name, modern) => {
    const server = new FakeAuth();
    const authenticator = newAuthenticator();
    const seen: unknown[] = [];
    const webauthn = browserWebAuthn({
      credentials: container(authenticator, modern, seen),
      publicKeyCredential: modern ? { parseCreationOptionsFromJSON: parseCreationOptionsFromJSON as never, parseRequestOptionsFromJSON: parseRequestOptionsFromJSON as never } : {},
    });
    const device1 = new AuthClient({ baseUrl: 'https://wallet.example', fetch: server.fetch, webauthn });
    const session = await device1.register({ displayName: 'Ann' });
    const device2 = new AuthClient({ baseUrl: 'https://wallet.example', fetch: server.fetch, webauthn });
    expect((await device2.login()).userId).toBe(session.userId);
    // The browser got binary options, not base64url strings.
    const created = seen[0] as { challenge: unknown; user: { id: unknown } };
    expect(created.challenge).not.toEqual(expect.any(String));
    expect(created.user.id).not.toEqual(expect.any(String));
  });

  it('converts PRF salts to bytes and PRF results to base64url', async () => {
    const seen: unknown[] = [];
    const salt = base64urlEncode(new Uint8Array(32).fill(1));
    const output = new Uint8Array(32).fill(2);
    const credential = {
      id: 'cred',
      rawId: new Uint8Array([1, 2, 3]).buffer,
      type: 'public-key',
      response: { clientDataJSON: new Uint8Array([4]).buffer, authenticatorData: new Uint8Array([5]).buffer, signature: new Uint8Array([6]).buffer, userHandle: null },
      getClientExtensionResults: () => ({ prf: { enabled: true, results: { first: output.buffer } } }),
    };
    const webauthn = browserWebAuthn({
      credentials: { create: async () => null, get: async (options) => (seen.push(options), credential) },
      publicKeyCredential: {},
      mediation: 'conditional',
    });
    const answer = await webauthn.get({ challenge: 'AAAA', allowCredentials: [{ id: 'AQID', type: 'public-key' }], extensions: { prf: { eval: { first: salt } } } });
    expect(answer).toEqual({
      id: 'cred',
      rawId: 'AQID',
      type: 'public-key',
      response: { clientDataJSON: 'BA', authenticatorData: 'BQ', signature: 'Bg' },
      clientExtensionResults: { prf: { enabled: true, results: { first: base64urlEncode(output) } } },
    });
    const options = seen[0] as { mediation: string; publicKey: { challenge: Uint8Array; allowCredentials: Array<{ id: Uint8Array }>; extensions: { prf: { eval: { first: Uint8Array } } } } };
    expect(options.mediation).toBe('conditional');
    expect(options.publicKey.challenge).toEqual(new Uint8Array([0, 0, 0]));
    expect(options.publicKey.allowCredentials[0]!.id).toEqual(new Uint8Array([1, 2, 3]));
    expect(options.publicKey.extensions.prf.eval.first).toEqual(new Uint8Array(32).fill(1));
    await expect(webauthn.create({ challenge: 'AAAA', rp: { name: 'x' }, user: { id: 'AQ', name: 'a', displayName: 'a' }, pubKeyCredParams: [] })).rejects.toThrow(/no credential/);
  });

  it('says clearly when the page has no WebAuthn', async () => {
    await expect(browserWebAuthn().get({ challenge: 'AAAA' })).rejects.toThrow(/WebAuthn is not available/);
  });
});
