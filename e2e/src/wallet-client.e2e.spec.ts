import {
  createDidJwkKey,
  newAuthenticator,
  startBuiltApp,
  startTestIssuer,
  startTestPdp,
  startTestVerifier,
  type ServiceProcess,
  type TestIssuer,
  type TestPdp,
  type TestVerifier,
} from '@wallet/testing';
import {
  AuthClient,
  AuthError,
  createKeyring,
  decodeWrappedVaultKeySet,
  encodeWrappedVaultKeySet,
  EngineClient,
  generateVaultKeySet,
  masterKeyFor,
  passphraseMasterKey,
  rewrapVaultKeySet,
  unwrapVaultKeySet,
  VaultClient,
  VaultConflictError,
  wrapVaultKeySet,
  type AuthenticationResponseJSON,
  type EngineClientOptions,
  type ExportedKey,
  type HeldStoredCredential,
  type RegistrationResponseJSON,
  type Session,
  type StoredVaultRecord,
  type WebAuthnPort,
} from '@wallet/wallet-client';
import type WebAuthnEmulator from 'nid-webauthn-emulator';
import WebSocket from 'ws';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_CALLBACK } from './verifier/verifier-fixtures';

/**
 * The wallet loop a front end runs, through `@wallet/wallet-client` only,
 * against the built all-in-one: register a passkey (AuthClient), receive a
 * credential (EngineClient, token from AuthClient), store it and the holder
 * key encrypted in the vault (VaultClient) with the vault key set wrapped in
 * the keystore blob, log in on a second device with the same passkey, unwrap
 * the key set, find everything through sync, present the credential from
 * there to a third-party verifier, and resolve concurrent edits of a record
 * and of the keystore. The issuer, verifier and PDP are the test peers of
 * @wallet/testing; the authenticator is nid-webauthn-emulator.
 */

const PASSPHRASE = 'correct horse battery staple';
/** Argon2id kept cheap for the test; the library's default is the OWASP minimum. */
const KDF = { t: 1, m: 1024, p: 1 };
/** An origin in the default `auth.origins`. */
const ORIGIN = 'http://localhost:8080';

/** The authenticator as a front end's WebAuthn port (in a browser: `browserWebAuthn()`). */
function emulatorPort(authenticator: WebAuthnEmulator): WebAuthnPort {
  return {
    create: async (options) => authenticator.createJSON(ORIGIN, options as never) as unknown as RegistrationResponseJSON,
    get: async (options) => authenticator.getJSON(ORIGIN, options as never) as unknown as AuthenticationResponseJSON,
  };
}

const utf8 = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const json = <T>(record: StoredVaultRecord) => JSON.parse(text(record.value)) as T;

describe('wallet client library: the whole wallet loop on the built all-in-one', () => {
  let proc: ServiceProcess;
  let issuer: TestIssuer;
  let verifier: TestVerifier;
  let pdp: TestPdp;
  let wallet: string;
  let engineUrl: string;
  let dir: string;
  const engines: EngineClient[] = [];

  /** An engine client the way a front end makes one, with the auth client's token source. */
  function engineClient(auth: AuthClient, handlers: EngineClientOptions['handlers']): EngineClient {
    const client = new EngineClient({
      url: engineUrl,
      // Node has no WebSocket global before 22; a browser passes nothing here.
      WebSocket: WebSocket as unknown as NonNullable<EngineClientOptions['WebSocket']>,
      getToken: auth.accessToken,
      handlers,
      reconnect: { attempts: 2, baseDelayMs: 50, maxDelayMs: 200 },
    });
    engines.push(client);
    return client;
  }

  beforeAll(async () => {
    issuer = await startTestIssuer();
    const issuerMetadata = (await (await fetch(`${issuer.url}/.well-known/jwt-vc-issuer`)).json()) as { jwks: { keys: Array<{ kty: string }> } };
    verifier = await startTestVerifier({ host: 'localhost', issuerKeys: issuerMetadata.jwks.keys });
    pdp = await startTestPdp((query) => query.subject.id === issuer.url || query.action.name === 'credential-verifier');
    // Our own verifier (in the all-in-one) with an application that logs users in with the issuer's PID.
    dir = mkdtempSync(join(tmpdir(), 'wallet-client-e2e-'));
    const pid = `${issuer.url}/vct/pid`;
    writeFileSync(
      join(dir, 'services.json'),
      JSON.stringify({
        services: [
          {
            id: 'app',
            defaultScope: 'login',
            scopes: {
              login: {
                dcql: { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: [pid] }, claims: [{ path: ['given_name'] }, { path: ['family_name'] }] }] },
                trust: [{ type: pid, issuers: [{ id: issuer.url }] }],
                token: { type: 'mapping', claims: { first_name: 'pid.given_name', last_name: 'pid.family_name' } },
              },
            },
            redirectUris: [APP_CALLBACK],
          },
        ],
      }),
    );
    proc = await startBuiltApp('all-in-one', {
      WALLET_VERIFIER_SERVICES_FILE: join(dir, 'services.json'),
      // Issuer, verifier and PDP are test servers on loopback over plain http.
      WALLET_OUTBOUND_ALLOW_HTTP: 'true',
      WALLET_OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8',
      WALLET_TRUST_PDP_URL: pdp.url,
      WALLET_TRUST_PDP_ALLOW_HTTP: 'true',
      WALLET_TRUST_PDP_ALLOW_CIDRS: '127.0.0.0/8',
    });
    wallet = proc.servers.get('wallet')!;
    engineUrl = `${wallet.replace(/^http/, 'ws')}/api/v2/wallet`;
  }, 90_000);

  afterAll(async () => {
    await Promise.all(engines.map((client) => client.close()));
    await proc?.stop('SIGTERM');
    await Promise.all([issuer?.close(), verifier?.close(), pdp?.close()]);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('registers, receives, stores encrypted, syncs to a second device, presents from there, and resolves concurrent edits', async () => {
    // ---- Device 1: a new account; the vault key set goes into the keystore blob, wrapped by a passphrase.
    const authenticator = newAuthenticator();
    const auth1 = new AuthClient({ baseUrl: wallet, webauthn: emulatorPort(authenticator) });
    const keys = generateVaultKeySet();
    const wrapped = wrapVaultKeySet(keys, passphraseMasterKey(PASSPHRASE, { params: KDF }));
    const session1 = await auth1.register({ displayName: 'Ann', privateData: encodeWrappedVaultKeySet(wrapped) });
    expect(session1).toMatchObject({ tenant: 'default', displayName: 'Ann', privateDataEtag: expect.any(String) });
    expect(session1.userId).toMatch(/^[0-9a-f-]{36}$/);
    const vault1 = new VaultClient({ baseUrl: wallet, accessToken: auth1.accessToken, keys });

    // Receive a credential through the engine; the holder key stays in the client's keyring.
    const keyring1 = createKeyring();
    const engine1 = engineClient(auth1, { sign: keyring1.sign, consent: async () => true });
    const { offer } = await issuer.createOffer();
    const received = await engine1.receiveCredential(offer, { ack: false });
    expect(received.credentials).toHaveLength(1);
    const credential = received.credentials[0]!;
    expect(credential).toMatchObject({ format: 'dc+sd-jwt', checks: { verified: true, holder_binding: true } });
    const compact = String(credential.credential);

    // Store it and the holder keys encrypted before the engine forgets the flow.
    const stored = await vault1.put({
      id: 'pid-1',
      category: 'credential',
      value: utf8(JSON.stringify({ format: credential.format, credential: compact })),
      tags: { type: 'pid', issuer: issuer.url, '~added': '2026-03-01' },
    });
    expect(stored.version).toBe(1);
    await vault1.put({ id: 'holder-keys', category: 'keys', value: utf8(JSON.stringify(await keyring1.exportKeys())), tags: {} });
    await vault1.put({ id: 'diploma-1', category: 'credential', value: utf8('{"degree":"MSc in Applied Cryptography"}'), tags: { type: 'diploma', issuer: 'uni', '~added': '2025-06-30' } });
    await engine1.ack(received.flow_id);

    // Find one with WQL: blinded on the client, evaluated on ciphertext by the server.
    const pids = await vault1.query({ type: 'pid' });
    expect(pids.items.map((r) => r.id)).toEqual(['pid-1']);
    expect(json<{ credential: string }>(pids.items[0]!).credential).toBe(compact);
    const recent = await vault1.query({ $or: [{ type: 'diploma' }, { issuer: issuer.url }], '~added': { $gte: '2026-01-01' } }, { category: 'credential' });
    expect(recent.items.map((r) => r.id)).toEqual(['pid-1']);
    // What the server holds is ciphertext: the raw export shows no id, tag or value in clear.
    // (Each needle long enough that base64 ciphertext cannot contain it by chance: a 3-letter
    // one such as "MSc" turned up in random ciphertext now and then.)
    const archive = await vault1.export();
    for (const secret of ['pid-1', 'diploma', 'MSc in Applied Cryptography', 'holder-keys', compact.slice(0, 40)]) expect(archive).not.toContain(secret);
    expect(archive).toContain('"~added":"2026-03-01"');

    // ---- Device 2: the same passkey, a new client; the key set comes from the keystore blob.
    const auth2 = new AuthClient({ baseUrl: wallet, webauthn: emulatorPort(authenticator) });
    const session2 = await auth2.login();
    expect(session2.userId).toBe(session1.userId);
    const wrapped2 = decodeWrappedVaultKeySet(session2.privateData!);
    const keys2 = unwrapVaultKeySet(wrapped2, masterKeyFor(wrapped2, { passphrase: PASSPHRASE }));
    const vault2 = new VaultClient({ baseUrl: wallet, accessToken: auth2.accessToken, keys: keys2 });
    const synced = await vault2.syncAll();
    expect(synced.unreadable).toEqual([]);
    expect(synced.changes.map((c) => [c.id, c.deleted])).toEqual([
      ['pid-1', false],
      ['holder-keys', false],
      ['diploma-1', false],
    ]);
    const records = new Map(synced.changes.flatMap((c) => (c.deleted ? [] : [[c.id, c] as const])));

    // ---- Present the synced credential from device 2 with the synced holder key.
    const keyring2 = createKeyring();
    await keyring2.importKeys(json<ExportedKey[]>(records.get('holder-keys')!));
    const held: HeldStoredCredential[] = [...records.values()]
      .filter((r) => r.category === 'credential' && r.tags['type'] === 'pid')
      .map((r) => ({ id: r.id, ...json<{ format: string; credential: string }>(r) }));
    const request = await verifier.createRequest({
      client: { prefix: 'decentralized_identifier', key: createDidJwkKey() },
      dcqlQuery: { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: [`${issuer.url}/vct/pid`] }, claims: [{ path: ['given_name'] }] }] },
    });
    const engine2 = engineClient(auth2, {
      sign: keyring2.sign,
      signWith: keyring2.signWith,
      credentials: async () => held,
      consentToPresentation: async (consent) => consent.suggestion ?? 'decline',
    });
    const presented = await engine2.present(request.link);
    expect(presented.verifier).toMatchObject({ trust: { trusted: true } });
    expect(request.responses).toHaveLength(1);
    expect(request.responses[0]!.rejected).toBeUndefined();
    expect(request.responses[0]!.presentations[0]!.claims).toMatchObject({ given_name: 'Erika' });
    expect(request.responses[0]!.presentations[0]!.disclosures).toEqual(['given_name']);

    // ---- And to our own verifier: the application then logs the user in with the JWT it gets.
    const verifierUrl = proc.servers.get('verifier')!;
    const started = await fetch(`${verifierUrl}/api/v1/startsiop?${new URLSearchParams({ client_id: 'app', state: 'login-1', client_callback: APP_CALLBACK })}`);
    const sessionId = started.headers.get('x-session-id')!;
    await engine2.present(await started.text());
    const answered = (await (await fetch(`${verifierUrl}/api/v1/sessions/${sessionId}/status`)).json()) as { status: string; redirectTo: string };
    expect(answered.status).toBe('answered');
    const code = new URL(answered.redirectTo).searchParams.get('code')!;
    const exchanged = (await (
      await fetch(`${verifierUrl}/services/app/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: APP_CALLBACK }),
      })
    ).json()) as { access_token: string };
    const appJwks = createLocalJWKSet((await (await fetch(`${verifierUrl}/.well-known/jwks`)).json()) as JSONWebKeySet);
    const { payload: login } = await jwtVerify(exchanged.access_token, appJwks, { audience: 'app' });
    expect(login).toMatchObject({ first_name: 'Erika', last_name: expect.any(String) });

    // ---- Both devices annotate pid-1 from version 1: one wins, the other gets a typed 412 and merges.
    const annotate = (note: string): typeof stored => ({ ...stored, value: utf8(JSON.stringify({ ...json<object>(stored), note })) });
    const outcomes = await Promise.allSettled([vault1.put(annotate('device 1')), vault2.put(annotate('device 2'))]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const lost = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')!.reason as unknown;
    expect(lost).toBeInstanceOf(VaultConflictError);
    expect(lost).toMatchObject({ id: 'pid-1', status: 412, code: 'precondition_failed', currentVersion: 2 });
    const [loser, loserNote] = outcomes[0]!.status === 'rejected' ? [vault1, 'device 1'] : [vault2, 'device 2'];
    const merged = await loser.update('pid-1', (current) => {
      const theirs = json<{ note: string }>(current!);
      return { ...current!, value: utf8(JSON.stringify({ ...theirs, note: `${theirs.note} + ${loserNote}` })) };
    });
    expect(merged!.version).toBe(3);

    // Device 1 deletes the diploma; device 2 catches up from its cursor with exactly the two changes.
    expect(await vault1.delete('diploma-1')).toBe(true);
    const later = await vault2.sync(synced.cursor);
    expect(later.changes.map((c) => [c.id, c.deleted, c.version])).toEqual([
      ['pid-1', false, 3],
      ['diploma-1', true, 2],
    ]);
    const latest = later.changes[0]!;
    expect(!latest.deleted && json<{ note: string }>(latest).note).toMatch(/^device [12] \+ device [12]$/);
    expect((await vault2.sync(later.cursor)).changes).toEqual([]);

    // ---- The keystore: device 2 changes the passphrase; device 1's stale write is refused with the current tag.
    const rotated = rewrapVaultKeySet(wrapped2, masterKeyFor(wrapped2, { passphrase: PASSPHRASE }), passphraseMasterKey('new passphrase', { params: KDF }));
    const newTag = await auth2.putPrivateData(encodeWrappedVaultKeySet(rotated), session2.privateDataEtag);
    const stale = await auth1.putPrivateData(utf8('something else'), session1.privateDataEtag).catch((error: unknown) => error);
    expect(stale).toBeInstanceOf(AuthError);
    expect(stale).toMatchObject({ code: 'etag_mismatch', status: 412, currentEtag: newTag });
    // Without a tag while a blob is stored: refused as well (412 `precondition_required`, with the current tag).
    await expect(auth1.putPrivateData(utf8('something else'), null)).rejects.toMatchObject({ code: 'precondition_required', status: 412, currentEtag: newTag });
    const current = await auth1.getPrivateData();
    expect(current.etag).toBe(newTag);
    const reread = decodeWrappedVaultKeySet(current.privateData!);
    expect(unwrapVaultKeySet(reread, masterKeyFor(reread, { passphrase: 'new passphrase' }))).toEqual(keys);
  }, 120_000);

  it('keeps a session across a reload with the rotated refresh token, and ends it on logout', async () => {
    let persisted: Session | null = null;
    const authenticator = newAuthenticator();
    const page1 = new AuthClient({ baseUrl: wallet, webauthn: emulatorPort(authenticator), onSession: (s) => (persisted = s) });
    const registered = await page1.register({ displayName: 'Bo', privateData: utf8('blob') });
    const firstRefresh = registered.refreshToken;
    // A refused token (as the engine's 4401) forces a refresh: a new access token and a new refresh token.
    const fresh = await page1.accessToken({ refresh: true });
    expect(fresh).not.toBe(registered.accessToken);
    expect(persisted!.refreshToken).not.toBe(firstRefresh);

    // The page reloads: the stored refresh token brings the session back, with the keystore blob.
    const page2 = new AuthClient({ baseUrl: wallet, webauthn: emulatorPort(authenticator) });
    const restored = await page2.restore(persisted!.refreshToken);
    expect(restored).toMatchObject({ userId: registered.userId, tenant: 'default', displayName: 'Bo', privateDataEtag: registered.privateDataEtag });
    expect(text(restored.privateData!)).toBe('blob');
    const vault = new VaultClient({ baseUrl: wallet, accessToken: page2.accessToken, keys: generateVaultKeySet() });
    await vault.put({ id: 'r', category: 'c', value: utf8('v'), tags: {} });

    // The spent refresh token of page 1 is refused, and its reuse ends that whole session family.
    await expect(page1.refresh()).rejects.toMatchObject({ code: 'invalid_grant', status: 401 });
    expect(page1.session).toBeNull();
    await expect(page2.refresh()).rejects.toMatchObject({ code: 'invalid_grant' });

    // A new login, then logout: the service revokes its tokens, the client forgets them.
    const page3 = new AuthClient({ baseUrl: wallet, webauthn: emulatorPort(authenticator) });
    const login = await page3.login();
    await page3.logout();
    expect(page3.session).toBeNull();
    await expect(page3.accessToken()).rejects.toMatchObject({ code: 'not_logged_in' });
    const revoked = new VaultClient({ baseUrl: wallet, accessToken: () => login.accessToken, keys: generateVaultKeySet() });
    await expect(revoked.list()).rejects.toMatchObject({ name: 'VaultError', status: 401 });
    // An authenticator without a passkey for this site: the ceremony itself fails, before any request is finished.
    await expect(new AuthClient({ baseUrl: wallet, webauthn: emulatorPort(newAuthenticator()) }).login()).rejects.toMatchObject({ code: 'webauthn_failed' });
  }, 60_000);
});
