import { createLocalEngine, directRegistry, type LocalEngine } from '@wallet/engine-flows';
import { outboundGuardedFetch } from '@wallet/engine-feature';
import { OutboundClient } from '@wallet/platform';
import { startTestIssuer, type TestIssuer } from '@wallet/testing';
import { createKeyring, EngineClient, EngineFlowError, jwkThumbprint } from '@wallet/wallet-client';
import { decodeJwt, decodeProtectedHeader } from 'jose';

/**
 * "Local engine": the flows run inside the wallet's own process, with no
 * engine server; the issuer is built from the @openid4vc issuer and
 * authorization server code.
 */
describe('engine in local mode (no engine process) against the third-party issuer', () => {
  let issuer: TestIssuer;
  let engine: LocalEngine;
  let outbound: OutboundClient;
  const trusted = new Set<string>();

  beforeAll(async () => {
    issuer = await startTestIssuer({ dpop: 'nonce', batchSize: 3 });
    trusted.add(issuer.url);
    // The guard as a deployment would run it, loosened only for loopback test servers.
    outbound = new OutboundClient({ allowHttp: true, allowCidrs: ['127.0.0.0/8'] });
    const fetch = outboundGuardedFetch(outbound, 1_048_576);
    engine = await createLocalEngine({
      fetch,
      allowHttp: true,
      registry: directRegistry({
        fetch,
        trust: (id) => (trusted.has(id) ? { trusted: true, reason: 'on the wallet\'s list', source: 'static' } : { trusted: false, reason: 'not on the wallet\'s list', source: 'static' }),
      }),
    });
  });
  afterAll(async () => {
    await engine.close();
    await outbound.close();
    await issuer.close();
  });

  function client(keyring = createKeyring(), handlers: Partial<ConstructorParameters<typeof EngineClient>[0]['handlers']> = {}) {
    return new EngineClient({
      transport: engine.connect,
      getToken: () => 'local',
      handlers: { sign: keyring.sign, consent: async () => true, ...handlers },
      reconnect: { attempts: 0 },
    });
  }

  it('receives a DPoP-bound SD-JWT VC through the nonce challenges, checked, with type metadata', async () => {
    const keyring = createKeyring();
    const wallet = client(keyring);
    await wallet.connect();
    const { link } = await issuer.createOffer({ grant: 'pre-authorized_code' });
    const result = await wallet.receiveCredential(link);
    await wallet.close();

    expect(result.credentials).toHaveLength(1);
    const [credential] = result.credentials;
    expect(credential).toMatchObject({
      credential_configuration_id: 'pid_sd_jwt',
      format: 'dc+sd-jwt',
      vct: `${issuer.url}/vct/pid`,
      checks: { verified: true, issuer_key: 'jwt-vc-issuer', holder_binding: true, status: 'absent' },
    });
    expect(credential!.type_metadata).toMatchObject({ vct: `${issuer.url}/vct/pid` });
    const payload = decodeJwt(String(credential!.credential).split('~')[0]!);
    const proofKeys = await Promise.all(keyring.keys().filter((k) => k.purpose === 'proof').map((k) => jwkThumbprint(k.publicJwk)));
    expect(proofKeys).toContain(await jwkThumbprint((payload['cnf'] as { jwk: Parameters<typeof jwkThumbprint>[0] }).jwk));
    expect(decodeProtectedHeader(String(credential!.credential).split('~')[0]!).typ).toBe('dc+sd-jwt');
    // Both servers challenged for a nonce, and the engine answered each with a proof the client signed.
    const dpopStatuses = issuer.requests.filter((r) => r.dpop && (r.path === '/token' || r.path === '/credential')).map((r) => `${r.path} ${r.status}`);
    expect(dpopStatuses).toEqual(expect.arrayContaining(['/token 400', '/token 200', '/credential 401', '/credential 200']));
    expect(result.refresh).toMatchObject({ credential_issuer: issuer.url, credential_configuration_id: 'pid_sd_jwt' });
  });

  it('refuses an issuer the trust decision does not cover, before any token request', async () => {
    const other = await startTestIssuer();
    try {
      const wallet = client();
      await wallet.connect();
      const { link } = await other.createOffer({ grant: 'pre-authorized_code' });
      const error = await wallet.receiveCredential(link).catch((e: unknown) => e);
      await wallet.close();
      expect(error).toBeInstanceOf(EngineFlowError);
      expect(error).toMatchObject({ code: 'untrusted_issuer' });
      expect(other.requests.some((r) => r.path === '/token')).toBe(false);
    } finally {
      await other.close();
    }
  });
});
