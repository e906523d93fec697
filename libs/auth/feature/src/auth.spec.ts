import { createCache } from '@wallet/cache';
import { loadConfig } from '@wallet/config';
import { GLOBAL_SCOPE, type RefreshToken, type User } from '@wallet/domain';
import { Collections, createStore, type Stored } from '@wallet/persistence';
import { AccessTokenRevocations, createServiceApp, ensureDefaultTenant, keyRingTimings, TenantDirectory, type RunningService, type Runtime } from '@wallet/platform';
import { blob, newAuthenticator, PasskeyTestClient, type AuthSession } from '@wallet/testing';
import { deserializeCredential, PasskeysCredentialsMemoryRepository, serializeCredential } from 'nid-webauthn-emulator';
import WebAuthnEmulator, { AuthenticatorEmulator } from 'nid-webauthn-emulator';
import pino from 'pino';
import type { KeyRing } from '@wallet/crypto';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { AuthFeatureModule } from './auth-feature.module';
import { AUTH_ACCESS_TOKEN_KEYS } from './auth-keys';
import { hashInviteCode } from './invite.service';

let server: RunningService;
let runtime: Runtime;

beforeAll(async () => {
  const config = loadConfig({
    argv: [],
    env: { WALLET_STORAGE_TYPE: 'memory', WALLET_SERVER_HOST: '127.0.0.1', WALLET_LOGGING_LEVEL: 'silent', WALLET_AUTH_RATE_LIMITS_CEREMONY_LIMIT: '1000' },
  }).config;
  const store = await createStore({ type: 'memory' });
  await ensureDefaultTenant(store);
  const base = { trustConfig: {}, allowedProtocols: [], enabled: true };
  await store.repository(Collections.tenants).create(GLOBAL_SCOPE, { id: 'acme', displayName: 'Acme', requireInvite: false, ...base });
  await store.repository(Collections.tenants).create(GLOBAL_SCOPE, { id: 'club', displayName: 'Club', requireInvite: true, ...base });
  runtime = { config, store, cache: await createCache({ type: 'memory' }), logger: pino({ level: 'silent' }) };
  server = await createServiceApp({ info: { name: 'auth', services: ['auth'] }, imports: [AuthFeatureModule], runtime, port: 0 });
});
afterAll(async () => {
  await server.close();
  await runtime.store.close();
  await runtime.cache.close();
});

const client = (options: { tenant?: string; authenticator?: WebAuthnEmulator } = {}) => new PasskeyTestClient({ baseUrl: server.url, ...options });

/** A second authenticator holding a copy of the first one's credentials as they are now (a clone). */
function cloneAuthenticator(source: PasskeysCredentialsMemoryRepository): WebAuthnEmulator {
  const copy = new PasskeysCredentialsMemoryRepository();
  for (const credential of source.loadCredentials()) copy.saveCredential(deserializeCredential(serializeCredential(credential)));
  return new WebAuthnEmulator(new AuthenticatorEmulator({ credentialsRepository: copy }));
}

async function auditActions(tenant: string, userId: string): Promise<string[]> {
  const page = await runtime.store.repository(Collections.auditEvents).list(tenant, { where: { actorId: userId }, limit: 100 });
  return page.items.map((e) => e.action);
}

describe('passkey registration and login', () => {
  it('registers with a discoverable passkey, returns tokens and the keystore, and logs in again', async () => {
    const alice = client();
    const registered = await alice.register({ displayName: 'Alice', privateData: blob('keystore v1') });
    expect(registered.status).toBe(200);
    expect(registered.body).toMatchObject({ displayName: 'Alice', tenant: 'default', tokenType: 'Bearer', privateData: blob('keystore v1') });
    expect(registered.headers.get('x-private-data-etag')).toBe(registered.body.privateDataEtag);
    expect(registered.body.refreshToken).toMatch(/^rt1\.default\./);

    const info = await alice.call('GET', '/user/session/account-info', { token: registered.body.appToken });
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ uuid: registered.body.uuid, displayName: 'Alice', hasPassword: false });
    expect(info.body['webauthnCredentials']).toHaveLength(1);

    const login = await alice.login();
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ uuid: registered.body.uuid, privateData: blob('keystore v1') });
    const passkeys = await runtime.store.repository(Collections.passkeys).list('default', { where: { userId: registered.body.uuid } });
    expect(passkeys.items[0]).toMatchObject({ counter: expect.any(Number), lastUsedAt: expect.any(String) });
    expect(await auditActions('default', registered.body.uuid)).toContain('user.register');
  });

  it('offers ES256, EdDSA and RS256, requires user verification and resident keys, and passes credProps and prf', async () => {
    const begin = await client().call<{ createOptions: { publicKey: Record<string, unknown> } }>('POST', '/user/register-webauthn-begin', { body: {} });
    expect(begin.status).toBe(200);
    const options = begin.body.createOptions.publicKey;
    expect((options['pubKeyCredParams'] as Array<{ alg: number }>).map((p) => p.alg)).toEqual([-7, -8, -257]);
    expect(options['authenticatorSelection']).toMatchObject({ residentKey: 'required', userVerification: 'required' });
    expect(options['extensions']).toMatchObject({ credProps: true, prf: {} });
    expect(options['rp']).toMatchObject({ id: 'localhost' });
  });

  it('registers with EdDSA and RS256 authenticators too', async () => {
    for (const alg of ['EdDSA', 'RS256'] as const) {
      const c = client({ authenticator: newAuthenticator({ algorithms: [alg] }) });
      expect((await c.register()).status).toBe(200);
      expect((await c.login()).status).toBe(200);
    }
  });

  it('records whether a passkey is PRF-capable, from the client extension results', async () => {
    const c = client();
    const { challengeId, credential } = await c.attest();
    const session = await c.call<AuthSession>('POST', '/user/register-webauthn-finish', {
      body: { challengeId, credential: { ...credential, clientExtensionResults: { prf: { enabled: true }, credProps: { rk: true } } } },
    });
    expect(session.status).toBe(200);
    const info = await c.call<{ webauthnCredentials: Array<{ prfCapable: boolean }> }>('GET', '/user/session/account-info', { token: session.body.appToken });
    expect(info.body.webauthnCredentials[0]!.prfCapable).toBe(true);
  });

  it('accepts the {"$b64u": ...} tagged binary form for the credential fields', async () => {
    const c = client();
    const { challengeId, credential } = await c.attest();
    const response = credential['response'] as Record<string, unknown>;
    const taggedCredential = {
      ...credential,
      rawId: { $b64u: credential['rawId'] },
      response: { ...response, clientDataJSON: { $b64u: response['clientDataJSON'] }, attestationObject: { $b64u: response['attestationObject'] } },
    };
    const session = await c.call('POST', '/user/register-webauthn-finish', { body: { challengeId, credential: taggedCredential } });
    expect(session.status).toBe(200);
  });

  it('refuses a replayed challenge, a wrong origin, a bad signature and a counter that went backwards', async () => {
    const bob = client();
    await bob.registered();

    const { challengeId, credential } = await bob.assert();
    expect((await bob.call('POST', '/user/login-webauthn-finish', { body: { challengeId, credential } })).status).toBe(200);
    const replay = await bob.call('POST', '/user/login-webauthn-finish', { body: { challengeId, credential } });
    expect(replay.status).toBe(400);
    expect(replay.body).toMatchObject({ code: 'challenge_invalid' });

    const evil = await bob.assert('http://evil.localhost:8080');
    const wrongOrigin = await bob.call('POST', '/user/login-webauthn-finish', { body: evil });
    expect(wrongOrigin.status).toBe(400);
    expect(wrongOrigin.body).toMatchObject({ code: 'webauthn_invalid' });
    expect(String(wrongOrigin.body['detail'])).toMatch(/origin/i);

    const bad = await bob.assert();
    const response = bad.credential['response'] as Record<string, string>;
    const signature = Buffer.from(response['signature']!, 'base64url');
    signature.writeUInt8(signature.readUInt8(signature.length - 1) ^ 1, signature.length - 1);
    const badSig = await bob.call('POST', '/user/login-webauthn-finish', {
      body: { challengeId: bad.challengeId, credential: { ...bad.credential, response: { ...response, signature: signature.toString('base64url') } } },
    });
    expect(badSig.status).toBe(400);
    expect(badSig.body).toMatchObject({ code: 'webauthn_invalid' });

    const repository = (bob.authenticator.authenticator.params.credentialsRepository as PasskeysCredentialsMemoryRepository)!;
    const clone = client({ authenticator: cloneAuthenticator(repository) });
    expect((await bob.login()).status).toBe(200);
    expect((await bob.login()).status).toBe(200);
    const regressed = await clone.login();
    expect(regressed.status).toBe(400);
    expect(regressed.body).toMatchObject({ code: 'counter_regression' });
  });

  it('refuses a registration made for another RP id, even from an allowed origin', async () => {
    const c = client();
    const begin = await c.call<{ challengeId: string; createOptions: { publicKey: Record<string, unknown> } }>('POST', '/user/register-webauthn-begin', { body: {} });
    const options = begin.body.createOptions.publicKey;
    // The authenticator is told the RP is example.com (a related-origins setup the server does not have).
    const credential = c.authenticator.createJSON(c.origin, { ...options, rp: { name: 'x', id: 'example.com' } } as never, [c.origin]);
    const answer = await c.call('POST', '/user/register-webauthn-finish', { body: { challengeId: begin.body.challengeId, credential } });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: 'webauthn_invalid' });
    expect(String(answer.body['detail'])).toMatch(/RP ID/i);
  });

  it('refuses an expired challenge', async () => {
    const c = client();
    const { challengeId, credential } = await c.attest();
    await runtime.cache.delete(`auth:challenge:default:${challengeId}`); // what expiry does
    const answer = await c.call('POST', '/user/register-webauthn-finish', { body: { challengeId, credential } });
    expect(answer).toMatchObject({ status: 400, body: { code: 'challenge_invalid' } });
  });

  it('answers 400 with the field for malformed bodies, and 410 for the password routes', async () => {
    const c = client();
    const malformed = await c.call('POST', '/user/login-webauthn-finish', { body: { challengeId: 5 } });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'validation_failed' });
    expect(malformed.body['issues']).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/challengeId' })]));
    const { challengeId } = await c.attest();
    const badCred = await c.call('POST', '/user/register-webauthn-finish', { body: { challengeId, credential: { id: 'x' } } });
    expect(badCred.status).toBe(400);
    for (const path of ['/user/register', '/user/login']) {
      const gone = await c.call('POST', path, { body: { username: 'a', password: 'b' } });
      expect(gone.status).toBe(410);
      expect(gone.body).toMatchObject({ code: 'password_login_removed' });
    }
  });
});

describe('passkey management', () => {
  it('adds a second passkey with the re-wrapped keystore, logs in with it, renames and removes, and refuses removing the last', async () => {
    const first = client();
    const session = await first.registered({ privateData: blob('wrapped for key 1') });
    const token = session.appToken;

    const second = client({ authenticator: newAuthenticator() });
    const { challengeId, credential } = await second.attest('/user/session/webauthn/register-begin', token);
    const stale = await second.call('POST', '/user/session/webauthn/register-finish', {
      token,
      body: { challengeId, credential, nickname: 'laptop', privateData: blob('wrapped for keys 1+2') },
      headers: { 'x-private-data-if-match': 'not-the-tag' },
    });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('x-private-data-etag')).toBe(session.privateDataEtag);
    expect(await runtime.store.repository(Collections.passkeys).count('default', { userId: session.uuid })).toBe(1);

    const again = await second.attest('/user/session/webauthn/register-begin', token);
    const added = await second.call<{ credentialId: string }>('POST', '/user/session/webauthn/register-finish', {
      token,
      body: { ...again, nickname: 'laptop', privateData: blob('wrapped for keys 1+2') },
      headers: { 'x-private-data-if-match': session.privateDataEtag! },
    });
    expect(added.status).toBe(200);
    const newTag = added.headers.get('x-private-data-etag');
    expect(newTag).not.toBe(session.privateDataEtag);

    const viaSecond = await second.login();
    expect(viaSecond.status).toBe(200);
    expect(viaSecond.body).toMatchObject({ uuid: session.uuid, privateData: blob('wrapped for keys 1+2') });

    const renamed = await first.call('POST', `/user/session/webauthn/credential/${added.body.credentialId}/rename`, { token, body: { nickname: 'work laptop' } });
    expect(renamed.status).toBe(204);
    const list = await first.call<{ webauthnCredentials: Array<{ id: string; nickname: string | null }> }>('GET', '/user/session/webauthn/credentials', { token });
    expect(list.body.webauthnCredentials.find((p) => p.id === added.body.credentialId)?.nickname).toBe('work laptop');

    const firstId = list.body.webauthnCredentials.find((p) => p.id !== added.body.credentialId)!.id;
    const removed = await first.call('POST', `/user/session/webauthn/credential/${firstId}/delete`, {
      token,
      body: { privateData: blob('wrapped for key 2') },
      headers: { 'x-private-data-if-match': newTag! },
    });
    expect(removed.status).toBe(204);
    expect((await first.login()).body).toMatchObject({ code: 'passkey_unknown' });
    const last = await first.call('POST', `/user/session/webauthn/credential/${added.body.credentialId}/delete`, { token, body: {} });
    expect(last.status).toBe(409);
    expect(last.body).toMatchObject({ code: 'last_passkey' });
    const missing = await first.call('POST', '/user/session/webauthn/credential/nope/rename', { token, body: { nickname: 'x' } });
    expect(missing.status).toBe(404);

    expect(await auditActions('default', session.uuid)).toEqual(expect.arrayContaining(['user.register', 'passkey.add', 'passkey.rename', 'passkey.remove']));
  });

  it("does not let one user touch another user's passkeys", async () => {
    const a = await client().registered();
    const b = client();
    const bSession = await b.registered();
    const bPasskeys = await b.call<{ webauthnCredentials: Array<{ id: string }> }>('GET', '/user/session/webauthn/credentials', { token: bSession.appToken });
    const id = bPasskeys.body.webauthnCredentials[0]!.id;
    expect((await b.call('POST', `/user/session/webauthn/credential/${id}/rename`, { token: a.appToken, body: { nickname: 'x' } })).status).toBe(404);
    expect((await b.call('POST', `/user/session/webauthn/credential/${id}/delete`, { token: a.appToken, body: {} })).status).toBe(404);
  });
});

describe('keystore (privateData)', () => {
  it('serves the blob with its ETag, honours If-None-Match, and writes only against the current tag', async () => {
    const c = client();
    const session = await c.registered({ privateData: blob('v1') });
    const token = session.appToken;
    const read = await c.call('GET', '/user/session/private-data', { token });
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ privateData: blob('v1') });
    const tag = read.headers.get('x-private-data-etag')!;
    expect(read.headers.get('etag')).toBe(`"${tag}"`);
    expect((await c.call('GET', '/user/session/private-data', { token, headers: { 'if-none-match': `"${tag}"` } })).status).toBe(304);

    const noTag = await c.call('POST', '/user/session/private-data', { token, body: blob('v2') });
    expect(noTag).toMatchObject({ status: 412, body: { code: 'precondition_required' } });
    const staleTag = await c.call('POST', '/user/session/private-data', { token, body: blob('v2'), headers: { 'if-match': '"stale"' } });
    expect(staleTag).toMatchObject({ status: 412, body: { code: 'etag_mismatch', currentEtag: tag } });
    expect(staleTag.headers.get('x-private-data-etag')).toBe(tag);

    const written = await c.call('POST', '/user/session/private-data', { token, body: blob('v2'), headers: { 'x-private-data-if-match': tag } });
    expect(written.status).toBe(204);
    const v2 = written.headers.get('x-private-data-etag')!;
    const repeat = await c.call('POST', '/user/session/private-data', { token, body: blob('v2'), headers: { 'x-private-data-if-match': tag } });
    expect(repeat.status).toBe(204);
    expect(repeat.headers.get('x-private-data-etag')).toBe(v2);
    const other = await c.call('POST', '/user/session/private-data', { token, body: { privateData: blob('v3') }, headers: { 'x-private-data-if-match': tag } });
    expect(other).toMatchObject({ status: 412, body: { currentEtag: v2 } });
    expect((await c.call('GET', '/user/session/private-data', { token })).body).toEqual({ privateData: blob('v2') });
    const events = await auditActions('default', session.uuid);
    expect(events.filter((a) => a === 'user.private-data.update')).toHaveLength(1);
  });

  it('lets exactly one of many concurrent writers with the same tag win', async () => {
    const c = client();
    const session = await c.registered({ privateData: blob('base') });
    const writes = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        c.call('POST', '/user/session/private-data', {
          token: session.appToken,
          body: blob(`writer ${i}`),
          headers: { 'x-private-data-if-match': session.privateDataEtag! },
        }),
      ),
    );
    expect(writes.filter((w) => w.status === 204)).toHaveLength(1);
    expect(writes.filter((w) => w.status === 412)).toHaveLength(7);
    const winner = writes.findIndex((w) => w.status === 204);
    expect((await c.call('GET', '/user/session/private-data', { token: session.appToken })).body).toEqual({ privateData: blob(`writer ${winner}`) });
  });
});

describe('tokens', () => {
  it('rotates refresh tokens, and reuse of a rotated one revokes the whole family', async () => {
    const c = client();
    const session = await c.registered();
    const first = await c.call<{ appToken: string; refreshToken: string }>('POST', '/auth/token/refresh', { body: { refreshToken: session.refreshToken } });
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(session.refreshToken);
    expect((await c.call('GET', '/user/session/account-info', { token: first.body.appToken })).status).toBe(200);

    const reuse = await c.call('POST', '/auth/token/refresh', { body: { refreshToken: session.refreshToken } });
    expect(reuse).toMatchObject({ status: 401, body: { code: 'invalid_grant' } });
    expect((await c.call('POST', '/auth/token/refresh', { body: { refreshToken: first.body.refreshToken } })).status).toBe(401);
    const revoked = await c.call('GET', '/user/session/account-info', { token: first.body.appToken });
    expect(revoked).toMatchObject({ status: 401, body: { code: 'token_revoked' } });
    const garbage = await c.call('POST', '/auth/token/refresh', { body: { refreshToken: 'rt1.default.xyz' } });
    expect(garbage.status).toBe(401);
    const stored = await runtime.store.repository(Collections.refreshTokens).list('default', { where: { userId: session.uuid } });
    for (const item of stored.items) expect(item.id).not.toContain(session.refreshToken.split('.')[2]);
  });

  it('logout revokes the access token and the refresh token of the session', async () => {
    const c = client();
    const session = await c.registered();
    expect((await c.call('POST', '/auth/logout', { token: session.appToken })).status).toBe(204);
    expect((await c.call('GET', '/user/session/account-info', { token: session.appToken })).status).toBe(401);
    expect((await c.call('POST', '/auth/token/refresh', { body: { refreshToken: session.refreshToken } })).status).toBe(401);
  });

  it('signs ES256 at+jwt access tokens with the claims other services check', async () => {
    const session = await client().registered();
    const [header, payload] = session.appToken.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part!, 'base64url').toString()) as Record<string, unknown>);
    if (!payload) throw new Error('the access token has no payload');
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid: expect.any(String) });
    expect(payload).toMatchObject({ iss: 'urn:wallet:auth', aud: 'urn:wallet:api', sub: session.uuid, tenant: 'default', jti: expect.any(String), sid: expect.any(String) });
    expect((payload['exp'] as number) - (payload['iat'] as number)).toBe(900);
    const jwks = await fetch(`${server.url}/auth/.well-known/jwks.json`).then((r) => r.json() as Promise<{ keys: Array<{ kid: string }> }>);
    expect(jwks.keys.map((k) => k.kid)).toContain(header!['kid']);
  });
});

describe('key rotation', () => {
  it('publishes the next key before it signs, then signs new tokens with it and keeps the retired key published, so tokens it signed still verify', async () => {
    const c = client();
    const before = await c.registered();
    const ring = server.app.get<KeyRing>(AUTH_ACCESS_TOKEN_KEYS, { strict: false });
    const oldKid = ring.activeKid;
    const served = () => fetch(`${server.url}/auth/.well-known/jwks.json`).then((r) => r.json() as Promise<JSONWebKeySet>);
    await ring.rotate();
    // Published at once, signing only after the pre-publication interval: every replica publishes it by then.
    const nextKid = ring.jwks().keys.map((k) => k.kid).find((kid) => kid !== oldKid)!;
    expect(nextKid).toEqual(expect.any(String));
    expect(ring.activeKid).toBe(oldKid);
    expect((await served()).keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, nextKid]));
    const during = await c.login();
    expect(JSON.parse(Buffer.from(during.body.appToken.split('.')[0]!, 'base64url').toString())).toMatchObject({ kid: oldKid });
    expect((await c.call('GET', '/user/session/account-info', { token: before.appToken })).status).toBe(200);

    // The clock passes the next key's activeFrom (Date only; timers run as usual).
    const issuedBefore = new Date();
    jest.useFakeTimers({
      advanceTimers: true,
      doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
      now: Date.now() + keyRingTimings(runtime.config).prePublishMs + 1000,
    });
    try {
      expect(ring.activeKid).toBe(nextKid);
      const jwks = await served();
      expect(jwks.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, nextKid]));
      // The retired key is still served: tokens it signed verify (as of when they were valid).
      await expect(jwtVerify(before.appToken, createLocalJWKSet(jwks), { currentDate: issuedBefore })).resolves.toBeTruthy();
      const after = await c.login();
      const header = JSON.parse(Buffer.from(after.body.appToken.split('.')[0]!, 'base64url').toString()) as { kid: string };
      expect(header.kid).toBe(nextKid);
      expect((await c.call('GET', '/user/session/account-info', { token: after.body.appToken })).status).toBe(200);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('accounts, tenants and invites', () => {
  it('deletes the account with everything the user has in the store, and revokes its tokens', async () => {
    const c = client();
    const session = await c.registered({ privateData: blob('bye') });
    const other = await client().registered();
    await runtime.store.repository(Collections.credentials).create('default', {
      id: 'cred-1', userId: session.uuid, credentialIdentifier: 'c1', format: 'vc+sd-jwt', credential: 'opaque',
    });
    await runtime.store.repository(Collections.credentials).create('default', {
      id: 'cred-2', userId: other.uuid, credentialIdentifier: 'c1', format: 'vc+sd-jwt', credential: 'opaque',
    });
    const vault = runtime.store.vault();
    await vault.create({ tenantId: 'default', userId: session.uuid }, { id: 'rec-1', category: 'credential', blob: 'Y2lwaGVy', tags: { name: 'x' } });
    await vault.create({ tenantId: 'default', userId: session.uuid }, { id: 'rec-2', category: 'credential', blob: 'Y2lwaGVy', tags: {} });
    await vault.create({ tenantId: 'default', userId: other.uuid }, { id: 'rec-1', category: 'credential', blob: 'Y2lwaGVy', tags: {} });
    // A `~` plaintext tag, and a deleted record whose tombstone is in the sync feed.
    await vault.create({ tenantId: 'default', userId: session.uuid }, { id: 'rec-3', category: 'credential', blob: 'Y2lwaGVy', tags: { '~label': 'plain' } });
    await vault.delete({ tenantId: 'default', userId: session.uuid }, 'rec-2');
    const deleted = await c.call('DELETE', '/user/session', { token: session.appToken });
    expect(deleted).toMatchObject({ status: 200, body: { result: 'DELETED' } });
    expect(await runtime.store.repository(Collections.users).get('default', session.uuid)).toBeNull();
    expect(await runtime.store.repository(Collections.passkeys).count('default', { userId: session.uuid })).toBe(0);
    expect(await runtime.store.repository(Collections.credentials).count('default', { userId: session.uuid })).toBe(0);
    expect(await runtime.store.repository(Collections.refreshTokens).count('default', { userId: session.uuid })).toBe(0);
    expect(await runtime.store.repository(Collections.credentials).count('default', { userId: other.uuid })).toBe(1);
    expect((await vault.list({ tenantId: 'default', userId: session.uuid })).items).toEqual([]);
    // No tombstone and no sync or usage state left either (the list in @wallet/persistence, shared with admin's removal).
    expect(await vault.changes({ tenantId: 'default', userId: session.uuid }, null)).toEqual({ changes: [], cursor: '0', hasMore: false });
    expect(await vault.usage({ tenantId: 'default', userId: session.uuid })).toEqual({ records: 0, bytes: 0 });
    expect((await vault.list({ tenantId: 'default', userId: other.uuid })).items).toHaveLength(1);
    expect((await c.call('GET', '/user/session/account-info', { token: session.appToken })).status).toBe(401);
    expect((await c.login()).status).toBe(401);
    expect(await auditActions('default', session.uuid)).toContain('user.delete');
  });

  it('keeps tenants apart: the same authenticator gets unrelated accounts, and tokens stay in their tenant', async () => {
    const authenticator = newAuthenticator();
    const inAcme = client({ tenant: 'acme', authenticator });
    const inDefault = client({ authenticator });
    const acme = await inAcme.registered();
    expect(acme.tenant).toBe('acme');
    expect((await inDefault.login()).body).toMatchObject({ code: 'passkey_unknown' });
    const def = await inDefault.registered();
    expect(def.uuid).not.toBe(acme.uuid);
    expect((await inDefault.login()).body).toMatchObject({ uuid: def.uuid });
    // The authenticator now holds two passkeys for this RP; pick the acme one, as a user would in the browser's chooser.
    const acmeKeys = await inAcme.call<{ webauthnCredentials: Array<{ id: string }> }>('GET', '/user/session/webauthn/credentials', { token: acme.appToken });
    const begin = await inAcme.call<{ challengeId: string; getOptions: { publicKey: Record<string, unknown> } }>('POST', '/user/login-webauthn-begin', { body: {} });
    const chosen = authenticator.getJSON(inAcme.origin, {
      ...begin.body.getOptions.publicKey,
      allowCredentials: [{ id: acmeKeys.body.webauthnCredentials[0]!.id, type: 'public-key' }],
    } as never);
    const acmeLogin = await inAcme.call('POST', '/user/login-webauthn-finish', { body: { challengeId: begin.body.challengeId, credential: chosen } });
    expect(acmeLogin.body).toMatchObject({ uuid: acme.uuid, tenant: 'acme' });

    const viaPath = await fetch(`${server.url}/t/acme/user/session/account-info`, { headers: { authorization: `Bearer ${acme.appToken}` } });
    expect(viaPath.status).toBe(200);
    const crossed = await fetch(`${server.url}/t/default/user/session/account-info`, { headers: { authorization: `Bearer ${acme.appToken}` } });
    expect(crossed.status).toBe(403);
    const refreshElsewhere = await inDefault.call('POST', '/auth/token/refresh', { body: { refreshToken: acme.refreshToken }, headers: { 'x-tenant-id': 'default' } });
    expect(refreshElsewhere.status).toBe(403);
    expect((await client({ tenant: 'nope' }).call('POST', '/user/login-webauthn-begin', { body: {} })).status).toBe(404);
  });

  it('requires a valid invite where the tenant says so, and consumes a single-use code once under a race', async () => {
    const invites = runtime.store.repository(Collections.invites);
    await invites.create('club', { id: 'inv-1', codeHash: hashInviteCode('JOIN-ONCE'), expiresAt: null, maxUses: 1, uses: 0, revoked: false });
    await invites.create('club', { id: 'inv-2', codeHash: hashInviteCode('OLD'), expiresAt: '2000-01-01T00:00:00Z', maxUses: 5, uses: 0, revoked: false });
    const without = await client({ tenant: 'club' }).register();
    expect(without).toMatchObject({ status: 403, body: { code: 'invite_required' } });
    expect((await client({ tenant: 'club' }).register({ inviteCode: 'WRONG' })).body).toMatchObject({ code: 'invite_invalid' });
    expect((await client({ tenant: 'club' }).register({ inviteCode: 'OLD' })).body).toMatchObject({ code: 'invite_invalid' });

    const racers = Array.from({ length: 5 }, () => client({ tenant: 'club' }));
    const attested = await Promise.all(racers.map((r) => r.attest()));
    const results = await Promise.all(
      racers.map((r, i) => r.call('POST', '/user/register-webauthn-finish', { body: { ...attested[i], inviteCode: 'JOIN-ONCE' } })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 403 && r.body['code'] === 'invite_invalid')).toHaveLength(4);
    expect(await invites.get('club', 'inv-1')).toMatchObject({ uses: 1 });
    expect(await runtime.store.repository(Collections.users).count('club')).toBe(1);
  });
});

describe('request bodies on DTOs (validation_failed at the field, unknown fields refused)', () => {
  const issues = (answer: { body: Record<string, unknown> }) => answer.body['issues'];

  it('reports a malformed WebAuthn response at the member that is wrong, before the challenge is spent', async () => {
    const c = client();
    const { challengeId, credential } = await c.attest();
    const response = credential['response'] as Record<string, unknown>;
    const bad = await c.call('POST', '/user/register-webauthn-finish', {
      body: { challengeId, credential: { ...credential, type: 'password', response: { ...response, clientDataJSON: 'not base64url!' } } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'validation_failed' });
    expect(issues(bad)).toEqual([
      { path: '/credential/type', message: expect.any(String) },
      { path: '/credential/response/clientDataJSON', message: 'must be base64url' },
    ]);
    const badTag = await c.call('POST', '/user/register-webauthn-finish', { body: { challengeId, credential: { ...credential, rawId: { $b64u: '+/=' } } } });
    expect(issues(badTag)).toEqual([{ path: '/credential/rawId', message: 'not base64url' }]);
    const missing = await c.call('POST', '/user/login-webauthn-finish', { body: { challengeId } });
    expect(issues(missing)).toEqual([{ path: '/credential', message: expect.any(String) }]);
    // The challenge was not consumed by the refused attempts.
    expect((await c.call('POST', '/user/register-webauthn-finish', { body: { challengeId, credential } })).status).toBe(200);
  });

  it('refuses unknown fields and over-long values, naming the field and never echoing it', async () => {
    const c = client();
    const { challengeId, credential } = await c.attest();
    const unknown = await c.call('POST', '/user/register-webauthn-finish', { body: { challengeId, credential, password: 'hunter2' } });
    expect(unknown).toMatchObject({ status: 400, body: { code: 'validation_failed', issues: [{ path: '/', message: 'unknown field: password' }] } });
    const long = await c.call('POST', '/user/register-webauthn-finish', {
      body: { challengeId: 'c'.repeat(129), credential, displayName: 'd'.repeat(201), nickname: 5, inviteCode: 'i'.repeat(257) },
    });
    expect(issues(long)).toEqual([
      { path: '/challengeId', message: 'must be shorter than or equal to 128 characters' },
      { path: '/displayName', message: 'must be shorter than or equal to 200 characters' },
      { path: '/nickname', message: 'must be a string' },
      { path: '/inviteCode', message: 'must be shorter than or equal to 256 characters' },
    ]);
    expect(JSON.stringify(long.body)).not.toContain('ccccc');
    const nullName = await c.call('POST', '/user/register-webauthn-finish', { body: { challengeId, credential, displayName: null } });
    expect(issues(nullName)).toEqual([{ path: '/displayName', message: 'must be a string' }]);
    const refresh = await c.call('POST', '/auth/token/refresh', { body: { refreshToken: 'r'.repeat(513) } });
    expect(issues(refresh)).toEqual([{ path: '/refreshToken', message: 'must be shorter than or equal to 512 characters' }]);
    expect(issues(await c.call('POST', '/auth/token/refresh', { body: { refreshToken: '' } }))).toEqual([{ path: '/refreshToken', message: expect.any(String) }]);
    expect(issues(await c.call('POST', '/auth/token/refresh', { body: {} }))).toEqual([{ path: '/refreshToken', message: 'must be a string' }]);
  });

  it('checks the keystore blob in every body that carries one', async () => {
    const c = client();
    const session = await c.registered({ privateData: blob('v1') });
    const token = session.appToken;
    const ifMatch = { 'x-private-data-if-match': session.privateDataEtag! };
    const write = (body: unknown) => c.call('POST', '/user/session/private-data', { token, body, headers: ifMatch });
    expect(issues(await write({ $b64u: 'not base64url!' }))).toEqual([{ path: '/$b64u', message: 'not base64url' }]);
    expect(issues(await write({ $b64u: 'A'.repeat(1_048_004) }))).toEqual([{ path: '/$b64u', message: 'too large' }]);
    expect(issues(await write({ privateData: 5 }))).toEqual([{ path: '/privateData', message: 'wrong type' }]);
    expect(issues(await write({}))).toEqual([{ path: '/privateData', message: 'wrong type' }]);
    expect(issues(await write({ ...blob('x'), privateData: blob('y') }))).toEqual([{ path: '/privateData', message: 'send either $b64u or privateData, not both' }]);
    expect(issues(await write({ ...blob('x'), extra: 1 }))).toEqual([{ path: '/', message: 'unknown field: extra' }]);
    expect((await c.call('GET', '/user/session/private-data', { token })).body).toEqual({ privateData: blob('v1') });

    const id = (await c.call<{ webauthnCredentials: Array<{ id: string }> }>('GET', '/user/session/webauthn/credentials', { token })).body.webauthnCredentials[0]!.id;
    const remove = await c.call('POST', `/user/session/webauthn/credential/${id}/delete`, { token, body: { privateData: { $b64u: '!' } } });
    expect(issues(remove)).toEqual([{ path: '/privateData', message: 'not base64url' }]);
    const rename = await c.call('POST', `/user/session/webauthn/credential/${id}/rename`, { token, body: { nickname: 'n'.repeat(201) } });
    expect(issues(rename)).toEqual([{ path: '/nickname', message: 'must be shorter than or equal to 200 characters' }]);
    expect((await c.call('POST', `/user/session/webauthn/credential/${id}/rename`, { token })).status).toBe(204);
    expect((await c.call('POST', `/user/session/webauthn/credential/${'%24'.repeat(3)}/rename`, { token, body: {} })).status).toBe(404);
  });
});

describe('no token for a suspended or removed user, or a disabled or deleted tenant', () => {
  const tenants = () => runtime.store.repository(Collections.tenants);
  const users = () => runtime.store.repository(Collections.users);
  const refreshTokens = () => runtime.store.repository(Collections.refreshTokens);
  const refresh = (refreshToken: string) => client().call<{ appToken: string; refreshToken: string }>('POST', '/auth/token/refresh', { body: { refreshToken } });
  const activeRefreshTokens = (tenant: string, userId: string) => refreshTokens().count(tenant, { userId, status: 'active' });
  const valueOf = <T extends { id: string }>(record: Stored<T>) => {
    const { tenantId: _t, version: _v, createdAt: _c, updatedAt: _u, ...value } = record;
    return value as unknown as T;
  };

  /** What admin does to a tenant, and the eviction it publishes to every replica's directory. */
  async function setTenant(id: string, enabled: boolean | 'deleted'): Promise<void> {
    const current = (await tenants().get(GLOBAL_SCOPE, id))!;
    if (enabled === 'deleted') await tenants().delete(GLOBAL_SCOPE, id);
    else await tenants().update(GLOBAL_SCOPE, id, { ...valueOf(current), enabled }, current.version);
    server.app.get(TenantDirectory, { strict: false }).evict(id);
  }

  async function setStatus(tenant: string, userId: string, status: User['status']): Promise<void> {
    const user = (await users().get(tenant, userId))!;
    await users().update(tenant, userId, { ...valueOf(user), status }, user.version);
  }

  /**
   * An admin's suspension as ADR 0018 orders it (UserSessions): the user-wide
   * cut-off, the status, then the sweep of the active refresh tokens until
   * none is left, their families revoked by `sid`, and the cut-off again.
   */
  async function suspendAsAdmin(tenant: string, userId: string): Promise<void> {
    const revocations = server.app.get(AccessTokenRevocations, { strict: false });
    await revocations.revokeUser(tenant, userId);
    await setStatus(tenant, userId, 'suspended');
    const families = new Set<string>();
    for (;;) {
      const active = (await refreshTokens().list(tenant, { where: { userId, status: 'active' }, limit: 500 })).items;
      if (active.length === 0) break;
      for (const token of active) {
        families.add(token.familyId);
        await refreshTokens().update(tenant, token.id, { ...valueOf<RefreshToken>(token), status: 'revoked' }, token.version).catch(() => undefined);
      }
    }
    for (const token of (await refreshTokens().list(tenant, { where: { userId, status: 'revoked' }, limit: 500 })).items) families.add(token.familyId);
    for (const family of families) await revocations.revokeSession(tenant, family);
    await revocations.revokeUser(tenant, userId);
  }

  afterEach(() => jest.restoreAllMocks());

  it('refuses to refresh in a disabled or deleted tenant (a request that names no tenant), without using the token up while disabled', async () => {
    await tenants().create(GLOBAL_SCOPE, { id: 'pause', displayName: 'Pause', requireInvite: false, trustConfig: {}, allowedProtocols: [], enabled: true });
    const session = await client({ tenant: 'pause' }).registered();
    await setTenant('pause', false);

    // The request names no tenant, so the guard checks only the default one: the rotation must refuse.
    const refused = await refresh(session.refreshToken);
    expect(refused).toMatchObject({ status: 401, body: { code: 'invalid_grant', detail: 'the refresh token is invalid, expired or revoked' } });
    expect(JSON.stringify(refused.body)).not.toContain(session.refreshToken);
    // Naming it is the guard's 404, as for every route of a disabled tenant.
    expect((await client({ tenant: 'pause' }).call('POST', '/auth/token/refresh', { body: { refreshToken: session.refreshToken } })).status).toBe(404);
    expect(await activeRefreshTokens('pause', session.uuid)).toBe(1);

    // Enabled again: the same refresh token works, it was not used up by the refusals.
    await setTenant('pause', true);
    const again = await refresh(session.refreshToken);
    expect(again.status).toBe(200);

    await setTenant('pause', 'deleted');
    expect(await refresh(again.body.refreshToken)).toMatchObject({ status: 401, body: { code: 'invalid_grant' } });
  });

  it('refuses to refresh for a suspended or removed user whose refresh token is still active, and refreshes again once unsuspended', async () => {
    const session = await client().registered();
    // The status is stored, the refresh tokens not swept yet (or the sweep failed half-way: ADR 0018 step 3).
    await setStatus('default', session.uuid, 'suspended');
    expect(await refresh(session.refreshToken)).toMatchObject({ status: 401, body: { code: 'invalid_grant' } });
    expect(await activeRefreshTokens('default', session.uuid)).toBe(1);

    await setStatus('default', session.uuid, 'active');
    const again = await refresh(session.refreshToken);
    expect(again.status).toBe(200);

    await users().delete('default', session.uuid);
    expect(await refresh(again.body.refreshToken)).toMatchObject({ status: 401, body: { code: 'invalid_grant' } });
  });

  it('issues nothing when a suspension lands while a refresh is under way (after the old token was rotated, before the new one is stored)', async () => {
    const c = client();
    const session = await c.registered();
    const repository = refreshTokens();
    const update = repository.update.bind(repository);
    // The rotation's compare-and-set goes through; then the whole suspension runs. Its sweep finds no active
    // token (the old one is rotated, the new one not stored yet), so only the rotation itself can refuse.
    jest.spyOn(repository, 'update').mockImplementationOnce(async (scope, id, value, version) => {
      const stored = await update(scope, id, value, version);
      await suspendAsAdmin('default', session.uuid);
      return stored;
    });
    const raced = await refresh(session.refreshToken);
    expect(raced).toMatchObject({ status: 401, body: { code: 'invalid_grant' } });
    expect(raced.body).not.toHaveProperty('refreshToken');
    expect(await activeRefreshTokens('default', session.uuid)).toBe(0);
  });

  it('leaves nothing live when the suspension lands just after the check: its sweep revokes the new refresh token and its session', async () => {
    const c = client();
    const session = await c.registered();
    const repository = users();
    const get = repository.get.bind(repository);
    let reads = 0;
    // The rotation reads the user twice (before using the token up, and once the new one is stored); the suspension follows the second.
    jest.spyOn(repository, 'get').mockImplementation(async (scope, id) => {
      const user = await get(scope, id);
      if (++reads === 2) await suspendAsAdmin('default', session.uuid);
      return user;
    });
    const raced = await refresh(session.refreshToken);
    jest.restoreAllMocks();
    expect(raced.status).toBe(200);
    expect(await activeRefreshTokens('default', session.uuid)).toBe(0);
    expect(await refresh(raced.body.refreshToken)).toMatchObject({ status: 401, body: { code: 'invalid_grant' } });
    expect(await c.call('GET', '/user/session/account-info', { token: raced.body.appToken })).toMatchObject({ status: 401, body: { code: 'token_revoked' } });
  });

  it('refuses a login whose user is suspended during the ceremony (after the assertion was checked), with account_suspended', async () => {
    const c = client();
    const session = await c.registered();
    const passkeys = runtime.store.repository(Collections.passkeys);
    const update = passkeys.update.bind(passkeys);
    // The counter update is the login's last step before the session starts.
    jest.spyOn(passkeys, 'update').mockImplementationOnce(async (scope, id, value, version) => {
      const stored = await update(scope, id, value, version);
      await suspendAsAdmin('default', session.uuid);
      return stored;
    });
    const login = await c.login();
    expect(login).toMatchObject({ status: 403, body: { code: 'account_suspended' } });
    expect(login.body).not.toHaveProperty('appToken');
    expect(await activeRefreshTokens('default', session.uuid)).toBe(0);
  });

  it('answers 503 and issues nothing when the user cannot be read, before or after the token is used up', async () => {
    const c = client();
    const session = await c.registered();
    const repository = users();
    const get = repository.get.bind(repository);
    const outage = () => Promise.reject(new Error('connection reset by the store'));

    jest.spyOn(repository, 'get').mockImplementationOnce(outage);
    const before = await refresh(session.refreshToken);
    expect(before).toMatchObject({ status: 503, body: { code: 'unavailable' } });
    expect(JSON.stringify(before.body)).not.toContain(session.refreshToken);
    expect(await activeRefreshTokens('default', session.uuid)).toBe(1);

    jest.spyOn(repository, 'get').mockImplementationOnce(get).mockImplementationOnce(outage);
    const after = await refresh(session.refreshToken);
    expect(after).toMatchObject({ status: 503, body: { code: 'unavailable' } });
    expect(after.body).not.toHaveProperty('refreshToken');
    expect(await activeRefreshTokens('default', session.uuid)).toBe(0);

    // A login's last check too (the first read is the ceremony's own).
    jest.spyOn(repository, 'get').mockImplementationOnce(get).mockImplementationOnce(outage);
    expect(await c.login()).toMatchObject({ status: 503, body: { code: 'unavailable' } });
  });
});
