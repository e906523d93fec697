import { startBuiltApp, startTestIssuer, startTestPdp, type ServiceProcess, type TestIssuer, type TestPdp } from '@wallet/testing';
import { createKeyring, EngineFlowError, jwkThumbprint, memoryStorage, type FlowResult } from '@wallet/wallet-client';
import { decodeJwt } from 'jose';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessToken, authorizeInBrowser, engineUrl, followAuthorization, loopbackEngineEnv, walletClient } from './engine-fixtures';

/**
 * The engine in the built all-in-one, driven through the client library over
 * a real WebSocket, against issuers built from the @openid4vc issuer and
 * authorization server code; trust comes from an AuthZEN PDP.
 */
describe('engine (built all-in-one): OpenID4VCI through the WebSocket API', () => {
  const issuers: Record<string, TestIssuer> = {};
  let untrusted: TestIssuer;
  let pdp: TestPdp;
  let proc: ServiceProcess;
  let wallet: string;
  let url: string;
  let token: string;
  let dir: string;

  beforeAll(async () => {
    issuers['plain'] = await startTestIssuer();
    issuers['dpop'] = await startTestIssuer({ dpop: 'nonce', batchSize: 3 });
    issuers['par'] = await startTestIssuer({ par: 'required', dpop: true });
    issuers['parNonce'] = await startTestIssuer({ par: 'required', dpop: 'nonce' });
    issuers['deferred'] = await startTestIssuer({ deferred: { pendingPolls: 2, intervalSeconds: 1 } });
    issuers['encrypted'] = await startTestIssuer({ responseEncryption: 'required' });
    issuers['x5c'] = await startTestIssuer({ issuerKey: 'x5c', signedMetadata: true });
    // Credentials signed with a did:jwk key; the issuer's signed metadata gives the trust evaluator its key.
    issuers['did'] = await startTestIssuer({ issuerKey: 'did:jwk', signedMetadata: true });
    untrusted = await startTestIssuer();
    const trusted = new Set(Object.values(issuers).map((i) => i.url));
    pdp = await startTestPdp((query) => trusted.has(query.subject.id));
    dir = mkdtempSync(join(tmpdir(), 'wallet-engine-e2e-'));
    writeFileSync(join(dir, 'roots.pem'), issuers['x5c'].trustedRootPem!);
    proc = await startBuiltApp('all-in-one', {
      ...loopbackEngineEnv(pdp.url),
      WALLET_ENGINE_DEFERRED_MIN_INTERVAL_MS: '200',
      WALLET_ENGINE_DEFERRED_POLL_TICK_MS: '200',
      WALLET_ENGINE_TRUSTED_ROOTS_FILE: join(dir, 'roots.pem'),
    });
    wallet = proc.servers.get('wallet')!;
    url = engineUrl(wallet);
    token = await accessToken(wallet);
  });

  afterAll(async () => {
    await proc?.stop('SIGTERM');
    await Promise.all([...Object.values(issuers), untrusted].filter(Boolean).map((i) => i.close()));
    await pdp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function boundKeys(result: FlowResult): Promise<string[]> {
    return Promise.all(
      result.credentials.map((c) => {
        const jwt = String(c.credential).split('~')[0]!;
        return jwkThumbprint((decodeJwt(jwt)['cnf'] as { jwk: Parameters<typeof jwkThumbprint>[0] }).jwk);
      }),
    );
  }

  it('receives a credential from an offer by value (pre-authorized code), checked and with type metadata', async () => {
    const { client } = walletClient(url, token);
    await client.connect();
    const { offer } = await issuers['plain']!.createOffer();
    const result = await client.receiveCredential(offer);
    await client.close();
    expect(result.credentials).toHaveLength(1);
    expect(result.credentials[0]).toMatchObject({
      format: 'dc+sd-jwt',
      checks: { verified: true, issuer_key: 'jwt-vc-issuer', holder_binding: true },
      type_metadata: { vct: `${issuers['plain']!.url}/vct/pid` },
    });
    expect(result.issuer).toMatchObject({ credential_issuer: issuers['plain']!.url, trust: { trusted: true, source: 'pdp' } });
    expect(pdp.queries.some((q) => q.subject.id === issuers['plain']!.url)).toBe(true);
  });

  it('receives from an offer by reference with a transaction code, and refuses a code of the wrong shape', async () => {
    const issuer = issuers['plain']!;
    const good = await issuer.createOffer({ byReference: true, txCode: { length: 6, input_mode: 'numeric' } });
    const asked: unknown[] = [];
    const { client } = walletClient(url, token, {
      askTxCode: async (q) => {
        asked.push(q.tx_code);
        return good.txCode!;
      },
    });
    await client.connect();
    expect(good.link).toContain('credential_offer_uri');
    const result = await client.receiveCredential(good.link);
    expect(asked).toEqual([expect.objectContaining({ input_mode: 'numeric', length: 6 })]);
    expect(result.credentials[0]!.checks.verified).toBe(true);

    const bad = await issuer.createOffer({ txCode: { length: 6, input_mode: 'numeric' } });
    const { client: typo } = walletClient(url, token, { askTxCode: async () => '12ab' });
    await typo.connect();
    await expect(typo.receiveCredential(bad.offer)).rejects.toMatchObject({ code: 'invalid_tx_code' });
    await Promise.all([client.close(), typo.close()]);
  });

  it('runs an authorization code flow with PKCE and PAR, the redirect answered on a second connection', async () => {
    const issuer = issuers['par']!;
    const { offer } = await issuer.createOffer({ grant: 'authorization_code', issuerState: 'st-1' });
    let authorizationUrl = '';
    // What a browser keeps across the redirect (sessionStorage).
    const storage = memoryStorage();
    const first = walletClient(
      url,
      token,
      {
        openAuthorizationUrl: async (request) => {
          authorizationUrl = request.url;
          return undefined; // the page navigates away
        },
      },
      { storage },
    );
    await first.client.connect();
    const abandoned = first.client.receiveCredential(offer, { redirectUri: 'https://wallet.example/callback' }).catch((e: unknown) => e);
    for (let i = 0; i < 100 && !authorizationUrl; i++) await new Promise((r) => setTimeout(r, 50));
    expect(authorizationUrl).toContain('request_uri=');
    const redirect = await followAuthorization(authorizationUrl);
    expect(redirect.startsWith('https://wallet.example/callback?')).toBe(true);
    await first.client.close();
    await abandoned;

    // The page the browser lands on: a new client, the same storage and keys, possibly another replica.
    const second = walletClient(url, token, {}, { storage, keyring: first.keyring });
    await second.client.connect();
    const result = await second.client.resumeAfterRedirect(redirect);
    await second.client.close();
    expect(result.credentials[0]!.checks.verified).toBe(true);
    expect(issuer.requests.filter((r) => r.path === '/par').map((r) => r.status)).toContain(201);
    expect(issuer.requests.some((r) => r.path === '/token' && r.dpop && r.status === 200)).toBe(true);
  });

  it('runs an authorization code flow with PAR against servers that demand DPoP nonces: a new proof per retry, the PAR nonce at the token endpoint', async () => {
    const issuer = issuers['parNonce']!;
    const { offer } = await issuer.createOffer({ grant: 'authorization_code' });
    const { client } = walletClient(url, token, { openAuthorizationUrl: async (request) => authorizeInBrowser(request.url) });
    await client.connect();
    const result = await client.receiveCredential(offer, { redirectUri: 'https://wallet.example/callback' });
    expect(result.credentials[0]!.checks).toMatchObject({ verified: true, holder_binding: true });

    const sent = issuer.requests.filter((r) => r.dpop);
    // PAR is challenged once (no nonce known yet); the token request carries the nonce PAR handed out and is
    // not challenged; the credential endpoint, a server with nonces of its own, is challenged once.
    expect(sent.map((r) => `${r.path} ${r.status}`)).toEqual(['/par 400', '/par 201', '/token 200', '/credential 401', '/credential 200']);
    const [parChallenged, parAccepted, tokenRequest, credentialChallenged, credentialAccepted] = sent;
    expect(parChallenged!.dpopNonce).toBeUndefined();
    expect(parAccepted!.dpopNonce).toEqual(expect.any(String));
    expect(tokenRequest!.dpopNonce).toBe(parAccepted!.dpopNonce);
    expect(credentialChallenged!.dpopNonce).toBeUndefined();
    expect(credentialAccepted!.dpopNonce).toEqual(expect.any(String));
    expect(credentialAccepted!.dpopNonce).not.toBe(tokenRequest!.dpopNonce);
    // Every proof the servers saw was a new one the client signed.
    const jtis = sent.map((r) => r.dpopJti);
    expect(jtis.every((j) => typeof j === 'string')).toBe(true);
    expect(new Set(jtis).size).toBe(jtis.length);

    // Re-issuance with the DPoP-bound refresh token: a new flow, so the token endpoint challenges once.
    const again = await client.reissue(result.refresh!);
    await client.close();
    expect(again.credentials[0]!.checks.holder_binding).toBe(true);
    const reissued = issuer.requests.filter((r) => r.dpop).slice(sent.length);
    expect(reissued.map((r) => `${r.path} ${r.status}`)).toEqual(['/token 400', '/token 200', '/credential 401', '/credential 200']);
    const all = issuer.requests.filter((r) => r.dpop).map((r) => r.dpopJti);
    expect(new Set(all).size).toBe(all.length);
  });

  it('answers DPoP nonce challenges with client-signed proofs and receives a batch of 3, each bound to its own key', async () => {
    const issuer = issuers['dpop']!;
    const { client } = walletClient(url, token);
    await client.connect();
    const { offer } = await issuer.createOffer();
    const result = await client.receiveCredential(offer, { batchSize: 3 });
    expect(result.credentials).toHaveLength(3);
    expect(new Set(await boundKeys(result)).size).toBe(3);
    const statuses = issuer.requests.filter((r) => r.dpop && (r.path === '/token' || r.path === '/credential')).map((r) => `${r.path} ${r.status}`);
    expect(statuses).toEqual(expect.arrayContaining(['/token 400', '/token 200', '/credential 401', '/credential 200']));
    expect(result.refresh?.dpop_jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // Re-issuance with the refresh token, bound to the same DPoP key.
    const again = await client.reissue(result.refresh!, { batchSize: 1 });
    await client.close();
    expect(again.credentials).toHaveLength(1);
    expect(again.credentials[0]!.checks.holder_binding).toBe(true);
    expect(issuer.requests.filter((r) => r.path === '/token' && r.status === 200)).toHaveLength(2);
  });

  it('waits for deferred issuance, polled by the engine, and pushes the credential to the client', async () => {
    const issuer = issuers['deferred']!;
    const statuses: string[] = [];
    const { client } = walletClient(url, token, { onFlowStatus: (s) => statuses.push(s.status), onProgress: (p) => statuses.push(p.step) });
    await client.connect();
    const { offer } = await issuer.createOffer();
    const result = await client.receiveCredential(offer);
    await client.close();
    expect(statuses).toContain('deferred');
    expect(result.credentials[0]!.checks.verified).toBe(true);
    expect(issuer.requests.filter((r) => r.path === '/deferred').length).toBeGreaterThanOrEqual(3);
  });

  it('forwards a notification to the issuer', async () => {
    const issuer = issuers['plain']!;
    const { client } = walletClient(url, token);
    await client.connect();
    const { offer } = await issuer.createOffer();
    const result = await client.receiveCredential(offer, { ack: false });
    const notificationId = result.credentials[0]!.notification_id!;
    expect(notificationId).toBeTruthy();
    const answer = await client.notify(result.flow_id, notificationId, 'credential_accepted', 'stored');
    await client.ack(result.flow_id);
    await client.close();
    expect(answer).toMatchObject({ status: 'sent', notification_id: notificationId });
    expect(issuer.notifications).toContainEqual({ notification_id: notificationId, event: 'credential_accepted', event_description: 'stored' });
  });

  it('asks for encrypted credential responses when the issuer requires them', async () => {
    const { client } = walletClient(url, token);
    await client.connect();
    const { offer } = await issuers['encrypted']!.createOffer();
    const result = await client.receiveCredential(offer);
    await client.close();
    expect(result.credentials[0]!.checks.verified).toBe(true);
  });

  it('verifies x5c-signed credentials and signed metadata; lets the user choose among offered credentials', async () => {
    const issuer = issuers['x5c']!;
    const choices: string[][] = [];
    const { client } = walletClient(url, token, {
      chooseCredential: async (request) => {
        choices.push(request.options.map((o) => o.credential_configuration_id));
        return 'diploma_jwt';
      },
    });
    await client.connect();
    const { offer } = await issuer.createOffer({ configurationIds: ['pid_sd_jwt', 'diploma_jwt', 'mdl_mdoc'] });
    const result = await client.receiveCredential(offer);
    expect(choices).toEqual([['pid_sd_jwt', 'diploma_jwt', 'mdl_mdoc']]);
    expect(result.issuer.signed_metadata).toBe(true);
    expect(result.credentials[0]).toMatchObject({ format: 'jwt_vc_json', checks: { verified: true, issuer_key: 'x5c', holder_binding: true } });

    const { client: mdoc } = walletClient(url, token, { chooseCredential: async () => 'mdl_mdoc' });
    await mdoc.connect();
    const passed = await mdoc.receiveCredential((await issuer.createOffer({ configurationIds: ['pid_sd_jwt', 'mdl_mdoc'] })).offer);
    expect(passed.credentials[0]).toMatchObject({ format: 'mso_mdoc', checks: { verified: false, issuer_key: 'none' } });
    await Promise.all([client.close(), mdoc.close()]);
  });

  it('verifies a credential whose issuer key is a DID', async () => {
    const { client } = walletClient(url, token);
    await client.connect();
    const result = await client.receiveCredential((await issuers['did']!.createOffer()).offer);
    await client.close();
    expect(result.credentials[0]!.checks).toMatchObject({ verified: true, issuer_key: 'did', holder_binding: true });
  });

  it('gets a fresh nonce and new proofs once when the issuer answers invalid_nonce', async () => {
    const issuer = issuers['plain']!;
    let proofRounds = 0;
    const keyring = createKeyring();
    const { client } = walletClient(url, token, {
      sign: async (item, context) => {
        if (item.purpose === 'proof' && ++proofRounds === 1) issuer.expireNonces(); // the nonce dies in transit
        return keyring.sign(item, context);
      },
    });
    await client.connect();
    const result = await client.receiveCredential((await issuer.createOffer()).offer);
    await client.close();
    expect(proofRounds).toBe(2);
    expect(result.credentials[0]!.checks.verified).toBe(true);
    const credentialStatuses = issuer.requests.filter((r) => r.path === '/credential').slice(-2).map((r) => r.status);
    expect(credentialStatuses).toEqual([400, 200]);
  });

  it('refuses an untrusted issuer before asking for tokens', async () => {
    const { client } = walletClient(url, token);
    await client.connect();
    const error = await client.receiveCredential((await untrusted.createOffer()).offer).catch((e: unknown) => e);
    await client.close();
    expect(error).toBeInstanceOf(EngineFlowError);
    expect(error).toMatchObject({ code: 'untrusted_issuer' });
    expect(untrusted.requests.some((r) => r.path === '/token')).toBe(false);
  });

  it.each([
    ['signature', 'the credential signature does not verify'],
    ['cnf', 'did not prove'],
    ['vct', 'vct'],
    ['expired', 'expired'],
  ] as const)('refuses a credential with a wrong %s and keeps it from the client', async (kind, message) => {
    const issuer = issuers['plain']!;
    issuer.tamper(kind);
    try {
      const { client } = walletClient(url, token);
      await client.connect();
      const error = await client.receiveCredential((await issuer.createOffer()).offer).catch((e: unknown) => e);
      await client.close();
      expect(error).toMatchObject({ code: 'invalid_credential' });
      expect((error as Error).message).toContain(message);
    } finally {
      issuer.tamper(null);
    }
  });

  it('has kept answering: health is ready after every refusal', async () => {
    const ready = await fetch(`${wallet}/health/ready`);
    expect(ready.status).toBe(200);
  });
});
