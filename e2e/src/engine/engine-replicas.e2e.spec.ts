import {
  describeIfAvailable,
  redisAvailable,
  startBuiltApp,
  startRedis,
  startTestIssuer,
  startTestPdp,
  uniquePrefix,
  type RedisHandle,
  type ServiceProcess,
  type TestIssuer,
  type TestPdp,
} from '@wallet/testing';
import { createKeyring, EngineConnectionError } from '@wallet/wallet-client';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessToken, authenticatedSocket, engineUrl, loopbackEngineEnv, walletClient } from './engine-fixtures';

const describeRedis = describeIfAvailable('engine-replicas:redis', redisAvailable(), 'set REDIS_URL or put redis-server on PATH');

/**
 * Two engine processes sharing Redis (flow state, pub/sub) and the store: the
 * all-in-one (auth, registry, engine) and a standalone engine that reads the
 * registry over HTTP. Flows move between them with the client's socket.
 */
describeRedis('engine replicas sharing Redis', () => {
  let redis: RedisHandle;
  let issuer: TestIssuer;
  let deferredIssuer: TestIssuer;
  let pdp: TestPdp;
  let a: ServiceProcess;
  let b: ServiceProcess;
  let dir: string;
  let token: string;
  let urlA: string;
  let urlB: string;

  beforeAll(async () => {
    redis = await startRedis();
    issuer = await startTestIssuer({ dpop: 'nonce' });
    deferredIssuer = await startTestIssuer({ deferred: { pendingPolls: 1, intervalSeconds: 1 } });
    const trusted = new Set([issuer.url, deferredIssuer.url]);
    pdp = await startTestPdp((q) => trusted.has(q.subject.id));
    dir = mkdtempSync(join(tmpdir(), 'wallet-engine-replicas-'));
    const shared = {
      WALLET_STORAGE_SQLITE_PATH: join(dir, 'wallet.db'),
      WALLET_CACHE_TYPE: 'redis',
      WALLET_CACHE_REDIS_URL: redis.url,
      WALLET_CACHE_REDIS_KEY_PREFIX: uniquePrefix('engine-replicas'),
      ...loopbackEngineEnv(pdp.url),
      WALLET_ENGINE_DEFERRED_MIN_INTERVAL_MS: '200',
    };
    a = await startBuiltApp('all-in-one', { ...shared, WALLET_ENGINE_DEFERRED_POLL_TICK_MS: '200' });
    // B never polls deferred issuances itself: what it delivers of them came from A. It checks
    // access tokens against auth's JWKS over HTTP, as an engine does where auth runs elsewhere.
    b = await startBuiltApp('engine', {
      ...shared,
      WALLET_AUTH_JWKS_URL: `${a.servers.get('wallet')!}/auth/.well-known/jwks.json`,
      WALLET_ENGINE_REGISTRY_URL: a.servers.get('wallet')!,
      WALLET_ENGINE_DEFERRED_POLL_TICK_MS: '3600000',
    });
    urlA = engineUrl(a.servers.get('wallet')!);
    urlB = engineUrl(b.servers.get('engine')!);
    token = await accessToken(a.servers.get('wallet')!);
  });

  afterAll(async () => {
    await Promise.all([a?.stop('SIGTERM'), b?.child.exitCode === null ? b.stop('SIGTERM') : undefined]);
    await Promise.all([issuer?.close(), deferredIssuer?.close(), pdp?.close()]);
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes on B a flow started on A after the socket dropped mid-flow', async () => {
    const keyring = createKeyring();
    let flowId = '';
    const onA = walletClient(urlA, token, {
      // The socket drops while the user looks at the consent screen.
      consent: () => {
        void onA.client.close();
        return new Promise<boolean>(() => undefined);
      },
    }, { keyring });
    await onA.client.connect();
    const { offer } = await issuer.createOffer();
    const dropped = onA.client.receiveCredential(offer, { onStarted: (id) => (flowId = id) }).catch((e: unknown) => e);
    expect(await dropped).toMatchObject({ code: 'closed' });
    expect(flowId).not.toBe('');

    const consents: string[] = [];
    const onB = walletClient(urlB, token, { consent: async (q) => (consents.push(q.issuer.credential_issuer), true) }, { keyring });
    const hello = await onB.client.connect();
    expect(hello.flows.map((f) => f.flow_id)).toContain(flowId);
    const result = await onB.client.resume(flowId);
    await onB.client.close();
    expect(consents).toEqual([issuer.url]);
    expect(result.credentials[0]!.checks).toMatchObject({ verified: true, holder_binding: true });
    // DPoP nonce challenges were answered on B, with the key the client keeps.
    expect(issuer.requests.filter((r) => r.path === '/credential' && r.status === 200)).toHaveLength(1);
  });

  it('delivers on B a deferred credential that A polled', async () => {
    const keyring = createKeyring();
    let flowId = '';
    const onA = walletClient(urlA, token, {
      onFlowStatus: () => undefined,
      onProgress: (p) => {
        if (p.step === 'deferred') void onA.client.close();
      },
    }, { keyring });
    await onA.client.connect();
    const started = onA.client.receiveCredential((await deferredIssuer.createOffer()).offer, { onStarted: (id) => (flowId = id) }).catch((e: unknown) => e);
    expect(await started).toMatchObject({ code: 'closed' });

    const statuses: string[] = [];
    const onB = walletClient(urlB, token, { onFlowStatus: (s) => statuses.push(s.status) }, { keyring });
    await onB.client.connect();
    const result = await onB.client.resume(flowId);
    await onB.client.close();
    expect(statuses[0]).toBe('deferred');
    expect(result.credentials[0]!.checks.verified).toBe(true);
    expect(deferredIssuer.requests.filter((r) => r.path === '/deferred').length).toBeGreaterThanOrEqual(2);
  });

  it('closes its connections with "going away" when it shuts down, and the flow resumes on the other replica', async () => {
    const keyring = createKeyring();
    let flowId = '';
    let consentAsked!: () => void;
    const asked = new Promise<void>((resolve) => (consentAsked = resolve));
    const onB = walletClient(urlB, token, { consent: () => (consentAsked(), new Promise<boolean>(() => undefined)) }, { keyring, reconnect: { attempts: 0 } });
    await onB.client.connect();
    const running = onB.client.receiveCredential((await issuer.createOffer()).offer, { onStarted: (id) => (flowId = id) }).catch((e: unknown) => e);
    await asked;
    const watcher = await authenticatedSocket(urlB, token);
    const stopped = b.stop('SIGTERM');
    expect((await watcher.closed).code).toBe(1001);
    // Its only replica gone, the client gives up and names the flow to resume elsewhere.
    const lost = await running;
    expect(lost).toBeInstanceOf(EngineConnectionError);
    expect(lost).toMatchObject({ flowId });
    expect(await stopped).toBe(0);
    const onA = walletClient(urlA, token, {}, { keyring });
    await onA.client.connect();
    const result = await onA.client.resume(flowId);
    await onA.client.close();
    expect(result.credentials[0]!.checks.verified).toBe(true);
  });
});
