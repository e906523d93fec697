import { clientAddresses, ClusterClient, createTestSdJwtHolder, createTestSdJwtIssuer, describeIfAvailable, UPSTREAM_HEADER } from '@wallet/testing';
import { createKeyring } from '@wallet/wallet-client';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { APP_CALLBACK, ISSUER, PID, runWallet } from '../verifier/verifier-fixtures';
import { engineClientFor, localClusterMissing, startClusterHarness, TEST_BASE_PORTS, walletUser, type ClusterHarness } from './harness';

/**
 * The local cluster (every service twice, nginx configured from the chart's
 * Ingresses) driven only through the proxy, as clients on the internet would:
 * the routes are the chart's, passkeys and the vault work whichever replica
 * answers, the verifier's flow completes with its event stream streamed and
 * its JWT checked against the JWKS the proxy serves, the engine's WebSocket
 * is upgraded through the proxy, and a rate limit counts across replicas.
 */

const missing = localClusterMissing();
const describeCluster = describeIfAvailable('cluster:proxy', missing === null, missing ?? '');

const bytes = (value: string) => new Uint8Array(Buffer.from(value, 'utf8'));
const text = (value: Uint8Array) => Buffer.from(value).toString('utf8');

/** The distinct replicas an answer header names (nginx lists every one it tried). */
const replicasIn = (upstreams: string[]) => new Set(upstreams.flatMap((u) => u.split(',').map((x) => x.trim())).filter(Boolean));

describeCluster('the local cluster through the proxy', () => {
  let h: ClusterHarness;
  // One client address per test, so the services' per-address rate limits do not mix them.
  const [routesAt, passkeyAt, passkeyAt2, rateAt, verifierAt, engineAt, resumeAt] = clientAddresses(7, 20);

  beforeAll(async () => {
    h = await startClusterHarness(TEST_BASE_PORTS.proxy);
    process.stdout.write(`cluster started:\n${h.log.join('\n')}\n`);
  }, 1_200_000); // the first start on a machine builds the chart renderer with Go (minutes)

  afterAll(async () => {
    await h?.stop();
  }, 120_000);

  it('routes as the chart says: wallet paths to their service, the verifier on its host, admin and unknown hosts nowhere', async () => {
    const client = new ClusterClient(routesAt);
    try {
      const replicaAddresses = (component: string) => h.cluster.replicasOf(component).map((r) => r.address);
      // Every Ingress route of the wallet host reaches a replica of the Service the chart names.
      const walletRoutes = h.cluster.routes.filter((r) => r.host === h.cluster.walletHost);
      expect(walletRoutes.map((r) => r.path).sort()).toEqual(['/api/v2/wallet', '/auth', '/issuer/all', '/registry', '/storage', '/t', '/tenant', '/user', '/verifier/all']);
      for (const route of walletRoutes) {
        const component = h.cluster.services.find((s) => s.name === route.service)!.component;
        const answer = await client.get(`${h.cluster.urls.wallet}${route.path}/x`);
        expect({ path: route.path, upstream: replicaAddresses(component).includes(answer.upstream) }).toEqual({ path: route.path, upstream: true });
      }
      // Prefix matching is by whole segments: /users is not /user.
      const notRouted = await client.get(`${h.cluster.urls.wallet}/users`);
      expect(notRouted.status).toBe(404);
      expect(notRouted.headers.get(UPSTREAM_HEADER)).toBeNull();

      // Round robin over both auth replicas; both publish the same keys.
      const jwks = await Promise.all([0, 1, 2, 3].map(() => client.get(`${h.cluster.urls.wallet}/auth/.well-known/jwks.json`)));
      expect(jwks.map((a) => a.status)).toEqual([200, 200, 200, 200]);
      expect(new Set(jwks.map((a) => a.upstream))).toEqual(new Set(replicaAddresses('auth')));
      expect(new Set(jwks.map((a) => a.text)).size).toBe(1);

      // The verifier answers on its own host, at its root; not on the wallet host.
      const verifierJwks = await client.get(`${h.cluster.urls.verifier}/.well-known/jwks`);
      expect(verifierJwks.status).toBe(200);
      expect(replicaAddresses('verifier')).toContain(verifierJwks.upstream);
      expect((await client.get(`${h.cluster.urls.wallet}/.well-known/jwks`)).status).toBe(404);

      // The admin API has no route, on any host.
      for (const url of [`${h.cluster.urls.wallet}/admin/tenants`, `${h.cluster.urls.wallet}/api/v1/admin/tenants`, `${h.cluster.urls.verifier.replace('verifier.localhost', 'admin.localhost')}/admin/tenants`]) {
        const answer = await client.get(url, { authorization: `Bearer ${h.cluster.adminToken}` });
        expect({ url, status: answer.status, upstream: answer.headers.get(UPSTREAM_HEADER) }).toEqual({ url, status: 404, upstream: null });
      }
      // ... while it works through its in-cluster Service.
      const admin = await fetch(`${h.cluster.serviceUrl('admin')}/health/ready`);
      expect(admin.status).toBe(200);

      // A forged X-Forwarded-For from a client is replaced by nginx, not believed.
      const forged = await client.get(`${h.cluster.urls.wallet}/auth/.well-known/jwks.json`, { 'x-forwarded-for': '203.0.113.9' });
      expect(forged.status).toBe(200);
    } finally {
      await client.close();
    }
  });

  it('registers a passkey and logs in through the proxy; vault writes on one device sync to another, whatever replica answers', async () => {
    const device1 = walletUser(h, passkeyAt!);
    const device2 = walletUser(h, passkeyAt2!, device1);
    try {
      const session = await device1.auth.register({ displayName: 'Cluster user' });
      expect(session.userId).toMatch(/\S/);
      // The second device logs in with the same (synced) passkey: a session of the same account.
      const login = await device2.auth.login();
      expect(login.userId).toBe(session.userId);
      expect(login.accessToken).not.toBe(session.accessToken);

      // Device 1 writes 12 records (spread over both storage replicas), device 2 syncs them all.
      const since = (await device2.vault.sync()).cursor;
      for (let i = 0; i < 12; i++) {
        await device1.vault.put({ id: `card-${i}`, category: 'credential', tags: { kind: 'pid', n: String(i) }, value: bytes(`record ${i}`) });
      }
      const synced = await device2.vault.syncAll(since);
      expect(synced.changes.filter((c) => !c.deleted).map((c) => c.id).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `card-${i}`).sort());
      expect(synced.unreadable).toEqual([]);

      // Compare-and-set across replicas: device 2 edits card-3, device 1's stale write is refused, not lost.
      const current = await device2.vault.get('card-3');
      await device2.vault.put({ ...current!, value: bytes('edited on device 2') });
      await expect(device1.vault.put({ id: 'card-3', category: 'credential', tags: { kind: 'pid', n: '3' }, value: bytes('stale') })).rejects.toMatchObject({ name: 'VaultConflictError' });
      expect(text((await device1.vault.get('card-3'))!.value)).toBe('edited on device 2');
      const found = await device1.vault.queryAll({ kind: 'pid' });
      expect(found.items).toHaveLength(12);

      // Both storage replicas and both auth replicas answered some of it.
      const seen = replicasIn([...device1.client.upstreams, ...device2.client.upstreams]);
      for (const component of ['auth', 'storage']) {
        for (const replica of h.cluster.replicasOf(component)) expect({ replica: replica.name, seen: seen.has(replica.address) }).toEqual({ replica: replica.name, seen: true });
      }

      // Logout on one replica ends the session on every replica.
      const token = await device2.auth.accessToken();
      await device2.auth.logout();
      const after = await Promise.all([0, 1, 2, 3].map(() => device2.client.get(`${h.cluster.urls.wallet}/user/session/account-info`, { authorization: `Bearer ${token}` })));
      expect(after.map((a) => a.status)).toEqual([401, 401, 401, 401]);
    } finally {
      await Promise.all([device1.client.close(), device2.client.close()]);
    }
  });

  it('counts a rate limit across replicas: 30 ceremonies a minute per client address, wherever they land', async () => {
    const client = new ClusterClient(rateAt);
    try {
      const answers = [];
      for (let i = 0; i < 40; i++) answers.push(await client.request('POST', `${h.cluster.urls.wallet}/user/register-webauthn-begin`, { json: {} }));
      const statuses = answers.map((a) => a.status);
      process.stdout.write(`rate limit through the proxy: ${statuses.filter((s) => s === 200).length} x 200, ${statuses.filter((s) => s === 429).length} x 429\n`);
      expect(statuses.slice(0, 30)).toEqual(Array(30).fill(200));
      expect(statuses.slice(30)).toEqual(Array(10).fill(429));
      // The 30 allowed went to both auth replicas: each alone would have allowed 30.
      const served = new Set(answers.slice(0, 30).map((a) => a.upstream));
      expect(served).toEqual(new Set(h.cluster.replicasOf('auth').map((r) => r.address)));
      expect(answers[30]!.headers.get('content-type')).toContain('application/problem+json');
      expect(Number(answers[30]!.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another client address is not affected.
      const other = new ClusterClient(clientAddresses(1, 60)[0]);
      expect((await other.request('POST', `${h.cluster.urls.wallet}/user/register-webauthn-begin`, { json: {} })).status).toBe(200);
      await other.close();
    } finally {
      await client.close();
    }
  });

  it('completes a verifier flow on its own host: the event stream flows through the proxy, the JWT verifies against the JWKS the proxy serves', async () => {
    const client = new ClusterClient(verifierAt);
    try {
      const issuer = await createTestSdJwtIssuer(ISSUER, { privateJwk: h.issuerPki.leafPrivateJwk, x5c: h.issuerPki.x5c });
      const holder = await createTestSdJwtHolder();
      const credential = await issuer.issue(
        { given_name: 'Erika', address: { country: 'AT' } },
        { _sd: ['given_name', 'address'], address: { _sd: ['country'] } },
        { vct: PID, holderJwk: holder.publicJwk },
      );
      const started = await client.get(`${h.cluster.urls.verifier}/api/v1/startsiop?client_id=shop&state=c-1&client_callback=${encodeURIComponent(APP_CALLBACK)}`);
      expect(started.status).toBe(200);
      const walletUrl = started.text;
      const sessionId = started.headers.get('x-session-id')!;

      // The login page's event stream, open through the proxy before the wallet answers: it must arrive unbuffered.
      const events = await client.fetch(`${h.cluster.urls.verifier}/api/v1/sessions/${sessionId}/events`, { method: 'GET', headers: {} });
      expect(events.headers.get('content-type')).toContain('text/event-stream');
      const reader = events.body!.getReader();
      let streamed = '';
      const readUntil = async (needle: string) => {
        while (!streamed.includes(needle)) {
          const { value, done } = await reader.read();
          if (done) break;
          streamed += Buffer.from(value).toString('utf8');
        }
        return streamed;
      };
      // The verifier writes ": waiting" at once; nginx passes it on before the stream ends. (nginx 1.22 also
      // passed this small write on with proxy_buffering on, so the configuration is checked as well.)
      const verifierServer = readFileSync(h.cluster.nginxConfigFile, 'utf8').split('server_name verifier.localhost;')[1]!.split('\n  }\n')[0]!;
      expect(verifierServer).toContain('proxy_buffering off;');
      const waiting = await Promise.race([readUntil(': waiting'), new Promise<string>((resolve) => setTimeout(() => resolve('(nothing within 3 s)'), 3000))]);
      expect(waiting).toContain(': waiting');
      const eventText = readUntil('"answered"').finally(() => void reader.cancel());

      const result = await runWallet({
        walletUrl,
        credential,
        holderPrivateJwk: holder.privateJwk,
        disclose: { given_name: true, address: { country: true } },
        viaLoopback: { localAddress: verifierAt },
      });
      expect(result).toMatchObject({ status: 200 });
      const message = await eventText;
      const data = JSON.parse(message.split('\n').find((line) => line.startsWith('data: ') && line.includes('answered'))!.slice('data: '.length)) as Record<string, unknown>;
      const code = new URL(String(data['redirectTo'])).searchParams.get('code')!;

      const token = await client.request('POST', `${h.cluster.urls.verifier}/token`, {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: APP_CALLBACK }).toString(),
      });
      expect(token.status).toBe(200);
      const jwks = (await client.get(`${h.cluster.urls.verifier}/.well-known/jwks`)).json<JSONWebKeySet>();
      const { payload } = await jwtVerify(token.json<{ access_token: string }>().access_token, createLocalJWKSet(jwks), { audience: 'shop' });
      expect(payload).toMatchObject({ first_name: 'Erika', country: 'AT' });
      // Every verifier replica took part or could have: both serve the same keys.
      const [a, b] = h.cluster.replicasOf('verifier');
      expect(await (await fetch(`${a!.url}/.well-known/jwks`)).json()).toEqual(await (await fetch(`${b!.url}/.well-known/jwks`)).json());
    } finally {
      await client.close();
    }
  });

  it('upgrades the engine WebSocket through the proxy, on either replica', async () => {
    const user = walletUser(h, engineAt!);
    try {
      await user.auth.register({ displayName: 'Engine user' });
      const replicas = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const engine = engineClientFor(h, user, { sign: createKeyring().sign }, { onSocket: (upstream) => replicas.add(upstream) });
        const handshake = await engine.connect();
        expect(handshake).toMatchObject({ type: 'handshake_ok' });
        await engine.close();
      }
      expect(replicas).toEqual(new Set(h.cluster.replicasOf('engine').map((r) => r.address)));
    } finally {
      await user.client.close();
    }
  });

  it('resumes an engine flow on the other replica when the replica holding its socket is killed mid-flow', async () => {
    const user = walletUser(h, resumeAt!);
    try {
      await user.auth.register({ displayName: 'Resuming user' });
      const sockets: string[] = [];
      const keyring = createKeyring();
      let consentAsked!: () => void;
      const asked = new Promise<void>((resolve) => (consentAsked = resolve));
      let release!: (consent: boolean) => void;
      const released = new Promise<boolean>((resolve) => (release = resolve));
      const consents: string[] = [];
      const engine = engineClientFor(
        h,
        user,
        {
          sign: keyring.sign,
          // The user looks at the consent screen while the replica holding the socket dies.
          consent: async (request) => {
            consents.push(request.issuer.credential_issuer);
            consentAsked();
            return released;
          },
        },
        { onSocket: (upstream) => sockets.push(upstream) },
      );
      await engine.connect();
      const { offer } = await h.issuer.createOffer();
      let flowId = '';
      const result = engine.receiveCredential(offer, { onStarted: (id) => (flowId = id) });
      await asked;
      const holder = h.cluster.replicaAt(sockets[0]!)!;
      expect(holder.component).toBe('engine');
      await holder.kill('SIGKILL');
      release(true);
      const issued = await result;
      await engine.close();

      expect(flowId).not.toBe('');
      expect(issued.credentials[0]!.checks).toMatchObject({ verified: true, holder_binding: true });
      // The user was asked once; the flow finished on the other replica, reached through the proxy.
      expect(consents).toEqual([h.issuer.url]);
      const other = h.cluster.replicasOf('engine').find((r) => r !== holder)!;
      // (nginx names every replica it tried: the dead one refused the connection first.)
      expect(sockets.at(-1)!.split(',').pop()!.trim()).toBe(other.address);
      expect(sockets.length).toBeGreaterThan(1);
      // As the kubelet would: the killed replica starts again and takes connections.
      await holder.start();
      expect(holder.state).toBe('ready');
    } finally {
      await user.client.close();
    }
  });
});
