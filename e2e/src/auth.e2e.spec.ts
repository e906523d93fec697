import { GLOBAL_SCOPE } from '@wallet/domain';
import { Collections, createStore, type Store } from '@wallet/persistence';
import {
  blob,
  describeIfAvailable,
  newAuthenticator,
  PasskeyTestClient,
  redisAvailable,
  startBuiltApp,
  startRedis,
  uniquePrefix,
  type RedisHandle,
  type ServiceProcess,
} from '@wallet/testing';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserializeCredential, PasskeysCredentialsMemoryRepository, serializeCredential } from 'nid-webauthn-emulator';
import WebAuthnEmulator, { AuthenticatorEmulator } from 'nid-webauthn-emulator';

/**
 * Two auth processes from the built bundle, sharing one Redis (challenges,
 * revocations, rate limits) and one SQLite file: every ceremony may begin on
 * one replica and finish on the other, and races run across both.
 */
describeIfAvailable('auth:e2e-two-replicas', redisAvailable(), 'no Redis server (set REDIS_URL or put redis-server on PATH)')(
  'auth service, two replicas sharing Redis and a SQLite file',
  () => {
    let redis: RedisHandle;
    let dir: string;
    let store: Store;
    let a: ServiceProcess;
    let b: ServiceProcess;
    let urlA: string;
    let urlB: string;

    beforeAll(async () => {
      redis = await startRedis();
      dir = mkdtempSync(join(tmpdir(), 'wallet-auth-e2e-'));
      const env = {
        WALLET_STORAGE_TYPE: 'sqlite',
        WALLET_STORAGE_SQLITE_PATH: join(dir, 'auth.db'),
        WALLET_CACHE_TYPE: 'redis',
        WALLET_CACHE_REDIS_URL: redis.url,
        WALLET_CACHE_REDIS_KEY_PREFIX: uniquePrefix('auth-e2e'),
        WALLET_AUTH_RATE_LIMITS_CEREMONY_LIMIT: '100000',
      };
      [a, b] = await Promise.all([startBuiltApp('auth', env), startBuiltApp('auth', env)]);
      urlA = a.servers.get('auth')!;
      urlB = b.servers.get('auth')!;
      store = await createStore({ type: 'sqlite', path: join(dir, 'auth.db'), busyTimeoutMs: 5000 });
      const tenants = store.repository(Collections.tenants);
      const base = { trustConfig: {}, allowedProtocols: [], enabled: true };
      await tenants.create(GLOBAL_SCOPE, { id: 'acme', displayName: 'Acme', requireInvite: false, ...base });
      await tenants.create(GLOBAL_SCOPE, { id: 'club', displayName: 'Club', requireInvite: true, ...base });
    }, 60_000);
    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await store?.close();
      await redis?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    const pair = (options: { tenant?: string; authenticator?: WebAuthnEmulator } = {}) => {
      const authenticator = options.authenticator ?? newAuthenticator();
      const tenant = options.tenant ? { tenant: options.tenant } : {};
      return {
        authenticator,
        onA: new PasskeyTestClient({ baseUrl: urlA, authenticator, ...tenant }),
        onB: new PasskeyTestClient({ baseUrl: urlB, authenticator, ...tenant }),
      };
    };

    it('registers on one replica, logs in across both, adds, uses and removes a second passkey', async () => {
      const user = pair();
      const { challengeId, credential } = await user.onA.attest();
      const registered = await user.onB.call<{ uuid: string; appToken: string; privateDataEtag: string }>('POST', '/user/register-webauthn-finish', {
        body: { challengeId, credential, displayName: 'Eve', privateData: blob('k1') },
      });
      expect(registered.status).toBe(200);
      const login = await user.onA.assert();
      const loggedIn = await user.onB.call('POST', '/user/login-webauthn-finish', { body: login });
      expect(loggedIn).toMatchObject({ status: 200, body: { uuid: registered.body.uuid } });
      // The token from B works on A (same keys, offline verification).
      expect((await user.onA.call('GET', '/user/session/account-info', { token: registered.body.appToken })).status).toBe(200);

      const second = pair();
      const add = await second.onA.attest('/user/session/webauthn/register-begin', registered.body.appToken);
      const added = await second.onB.call<{ credentialId: string }>('POST', '/user/session/webauthn/register-finish', {
        token: registered.body.appToken,
        body: { ...add, nickname: 'phone', privateData: blob('k1+k2') },
        headers: { 'x-private-data-if-match': registered.body.privateDataEtag },
      });
      expect(added.status).toBe(200);
      const viaSecond = await second.onA.login();
      expect(viaSecond.body).toMatchObject({ uuid: registered.body.uuid, privateData: blob('k1+k2') });

      const removed = await user.onB.call('POST', `/user/session/webauthn/credential/${added.body.credentialId}/delete`, {
        token: registered.body.appToken,
        body: { privateData: blob('k1 again') },
        headers: { 'x-private-data-if-match': added.headers.get('x-private-data-etag')! },
      });
      expect(removed.status).toBe(204);
      expect((await second.onA.login()).body).toMatchObject({ code: 'passkey_unknown' });
      expect((await user.onA.login()).body).toMatchObject({ privateData: blob('k1 again') });
    });

    it('refuses a challenge replayed on the other replica, a wrong origin and a counter regression', async () => {
      const user = pair();
      await user.onA.registered();
      const login = await user.onA.assert();
      expect((await user.onA.call('POST', '/user/login-webauthn-finish', { body: login })).status).toBe(200);
      const replay = await user.onB.call('POST', '/user/login-webauthn-finish', { body: login });
      expect(replay).toMatchObject({ status: 400, body: { code: 'challenge_invalid' } });

      const evil = await user.onA.assert('http://evil.localhost:8080');
      expect((await user.onB.call('POST', '/user/login-webauthn-finish', { body: evil })).body).toMatchObject({ code: 'webauthn_invalid' });

      const repository = user.authenticator.authenticator.params.credentialsRepository as PasskeysCredentialsMemoryRepository;
      const copy = new PasskeysCredentialsMemoryRepository();
      for (const c of repository.loadCredentials()) copy.saveCredential(deserializeCredential(serializeCredential(c)));
      const clone = new PasskeyTestClient({ baseUrl: urlB, authenticator: new WebAuthnEmulator(new AuthenticatorEmulator({ credentialsRepository: copy })) });
      expect((await user.onA.login()).status).toBe(200);
      expect((await user.onB.login()).status).toBe(200);
      expect((await clone.login()).body).toMatchObject({ code: 'counter_regression' });
    });

    it('keeps tenants apart', async () => {
      const user = pair({ tenant: 'acme' });
      const acme = await user.onA.registered();
      expect((await new PasskeyTestClient({ baseUrl: urlB, authenticator: user.authenticator }).login()).body).toMatchObject({ code: 'passkey_unknown' });
      const crossed = await fetch(`${urlB}/t/default/user/session/account-info`, { headers: { authorization: `Bearer ${acme.appToken}` } });
      expect(crossed.status).toBe(403);
      const own = await fetch(`${urlB}/t/acme/user/session/account-info`, { headers: { authorization: `Bearer ${acme.appToken}` } });
      expect(own.status).toBe(200);
      expect((await fetch(`${urlA}/t/nope/user/login-webauthn-begin`, { method: 'POST' })).status).toBe(404);
    });

    it('lets exactly one of two registrations racing on a single-use invite across replicas succeed', async () => {
      await store.repository(Collections.invites).create('club', {
        id: 'race',
        codeHash: createHash('sha256').update('RACE-CODE').digest('base64url'),
        expiresAt: null,
        maxUses: 1,
        uses: 0,
        revoked: false,
      });
      const first = pair({ tenant: 'club' });
      const second = pair({ tenant: 'club' });
      const [x, y] = await Promise.all([first.onA.attest(), second.onB.attest()]);
      const results = await Promise.all([
        first.onA.call('POST', '/user/register-webauthn-finish', { body: { ...x, inviteCode: 'RACE-CODE' } }),
        second.onB.call('POST', '/user/register-webauthn-finish', { body: { ...y, inviteCode: 'RACE-CODE' } }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 403]);
      expect(results.find((r) => r.status === 403)?.body).toMatchObject({ code: 'invite_invalid' });
      expect(await store.repository(Collections.invites).get('club', 'race')).toMatchObject({ uses: 1 });
      expect((await first.onB.register()).body).toMatchObject({ code: 'invite_required' });
    });

    it('lets exactly one of two keystore writes with the same tag win across replicas, and loses nothing', async () => {
      const user = pair();
      const session = await user.onA.registered({ privateData: blob('shared base') });
      for (let round = 0; round < 5; round++) {
        const current = await user.onA.call('GET', '/user/session/private-data', { token: session.appToken });
        const tag = current.headers.get('x-private-data-etag')!;
        const [fromA, fromB] = await Promise.all([
          user.onA.call('POST', '/user/session/private-data', { token: session.appToken, body: blob(`A${round}`), headers: { 'x-private-data-if-match': tag } }),
          user.onB.call('POST', '/user/session/private-data', { token: session.appToken, body: blob(`B${round}`), headers: { 'x-private-data-if-match': tag } }),
        ]);
        expect([fromA.status, fromB.status].sort()).toEqual([204, 412]);
        const loser = fromA.status === 412 ? fromA : fromB;
        const winner = fromA.status === 204 ? `A${round}` : `B${round}`;
        expect(loser.body).toMatchObject({ code: 'etag_mismatch', currentEtag: loser.headers.get('x-private-data-etag') });
        const after = await user.onB.call('GET', '/user/session/private-data', { token: session.appToken });
        expect(after.body).toEqual({ privateData: blob(winner) });
        expect(after.headers.get('x-private-data-etag')).toBe(loser.headers.get('x-private-data-etag'));
      }
    });

    it('shares revocations: logout on one replica is seen by the other', async () => {
      const user = pair();
      const session = await user.onA.registered();
      expect((await user.onB.call('POST', '/auth/logout', { token: session.appToken })).status).toBe(204);
      expect((await user.onA.call('GET', '/user/session/account-info', { token: session.appToken })).body).toMatchObject({ code: 'token_revoked' });
    });
  },
);
