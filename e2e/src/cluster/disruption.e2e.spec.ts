import { clientAddresses, ClusterClient, describeIfAvailable, waitFor } from '@wallet/testing';
import { localClusterMissing, startClusterHarness, TEST_BASE_PORTS, walletUser, type ClusterHarness, type WalletUser } from './harness';
import { describeLoad, Load, readiness, text, type LoadResult } from './load';

/**
 * The local cluster under disruption, with clients on the proxy only:
 * kill -9 of one replica of each service under load, a Redis restart and a
 * store restart. Each prints what the clients saw (attempts, failures by
 * status, retries, operations that gave up) and checks that no
 * acknowledged vault write was lost, no operation gave up, and no answer was
 * a 500. The numbers are in docs/deployment.md ("What happens on each failure").
 */

const missing = localClusterMissing();
const describeCluster = describeIfAvailable('cluster:disruption', missing === null, missing ?? '');

/** Every acknowledged write, read back by another device of the same user. */
async function lostWrites(readers: WalletUser[], result: LoadResult): Promise<string[]> {
  const lost: string[] = [];
  for (const [u, acked] of result.acknowledged.entries()) {
    for (const [id, content] of acked) {
      const stored = await readers[u]!.vault.get(id);
      if (!stored || text(stored.value) !== content) lost.push(id);
    }
  }
  return lost;
}

const totalGaveUp = (result: LoadResult) => Object.values(result.kinds).reduce((a, s) => a + s.gaveUp, 0);
const statusesSeen = (result: LoadResult) => new Set(Object.values(result.kinds).flatMap((s) => Object.keys(s.failures)));

describeCluster('the local cluster under disruption', () => {
  let h: ClusterHarness;
  let writers: WalletUser[];
  let readers: WalletUser[];
  const addresses = clientAddresses(8, 100);

  beforeAll(async () => {
    h = await startClusterHarness(TEST_BASE_PORTS.disruption);
    process.stdout.write(`cluster started:\n${h.log.join('\n')}\n`);
    writers = [];
    readers = [];
    for (let u = 0; u < 3; u++) {
      const writer = walletUser(h, addresses[u]!);
      await writer.auth.register({ displayName: `Writer ${u}` });
      const reader = walletUser(h, addresses[u + 3]!, writer);
      await reader.auth.login();
      writers.push(writer);
      readers.push(reader);
    }
  }, 1_200_000); // the first start on a machine builds the chart renderer with Go (minutes)

  afterAll(async () => {
    await Promise.all([...(writers ?? []), ...(readers ?? [])].map((u) => u.client.close()));
    await h?.stop();
  }, 120_000);

  it('every kind of load request works before any disruption', async () => {
    const load = new Load(h, writers, addresses[6]!, 'warm-up');
    load.start();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const result = await load.stop();
    process.stdout.write(`${describeLoad('no disruption', result)}\n`);
    for (const [kind, s] of Object.entries(result.kinds)) expect({ kind, failures: s.failures, gaveUp: s.gaveUp }).toEqual({ kind, failures: {}, gaveUp: 0 });
    expect(await lostWrites(readers, result)).toEqual([]);
  }, 60_000);

  it('kill -9 of one replica of each service under load: no acknowledged write lost, every client request completes on the other replica', async () => {
    const load = new Load(h, writers, addresses[6]!, 'kill');
    load.start();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const victims = ['auth', 'storage', 'engine', 'registry', 'admin', 'verifier'].map((service) => h.cluster.replica(service, 0));
    await Promise.all(victims.map((replica) => replica.kill('SIGKILL')));
    const killedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const result = await load.stop();
    process.stdout.write(`${describeLoad('kill -9 of one replica of each service', result)}\n`);

    expect(victims.map((v) => v.process.describeExit())).toEqual(victims.map(() => 'was killed by SIGKILL'));
    expect(totalGaveUp(result)).toBe(0);
    expect(statusesSeen(result).has('500')).toBe(false);
    const lost = await lostWrites(readers, result);
    process.stdout.write(`  lost acknowledged writes: ${lost.length}\n`);
    expect(lost).toEqual([]);
    // Writes went on after the kill, on the surviving replica.
    expect(result.acknowledged.reduce((a, m) => a + m.size, 0)).toBeGreaterThan(10);
    expect(Date.now() - killedAt).toBeGreaterThan(3000);

    // The killed replicas come back (as the kubelet would restart them) and take traffic again.
    for (const victim of victims) await victim.start();
    const client = new ClusterClient(addresses[7]);
    try {
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) seen.add((await client.get(`${h.cluster.urls.wallet}/auth/.well-known/jwks.json`)).upstream);
      expect(seen).toContain(h.cluster.replica('auth', 0).address);
    } finally {
      await client.close();
    }
  }, 180_000);

  it('Redis restart: every replica reports not ready (503) while it is down and ready again after; nothing in the store is touched, ceremonies work again', async () => {
    const jwksBefore = await (await fetch(`${h.cluster.replica('auth', 0).url}/auth/.well-known/jwks.json`)).text();
    const load = new Load(h, writers, addresses[6]!, 'redis');
    load.start();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await h.cluster.redis.stop('SIGKILL');
    let down: Record<string, number> = {};
    await waitFor(
      async () => {
        down = await readiness(h.cluster);
        return Object.values(down).every((status) => status === 503);
      },
      20_000,
      () => `not every replica reported 503 with Redis down: ${JSON.stringify(down)}`,
      250,
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await h.cluster.redis.start();
    const restartedAt = Date.now();
    let up: Record<string, number> = {};
    await waitFor(
      async () => {
        up = await readiness(h.cluster);
        return Object.values(up).every((status) => status === 200);
      },
      30_000,
      () => `not every replica is ready again after the Redis restart: ${JSON.stringify(up)}`,
      250,
    );
    const readyAfterMs = Date.now() - restartedAt;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const result = await load.stop();
    process.stdout.write(`${describeLoad('Redis killed and restarted', result)}\n  readiness: 503 on all ${Object.keys(down).length} replicas while down, 200 on all ${readyAfterMs} ms after the restart\n`);

    // Requests that need Redis were refused with 503 (or 502 when nginx had no answer), never 500.
    expect(statusesSeen(result).has('500')).toBe(false);
    expect(await lostWrites(readers, result)).toEqual([]);
    expect(await (await fetch(`${h.cluster.replica('auth', 1).url}/auth/.well-known/jwks.json`)).text()).toBe(jwksBefore);
    // Redis has no persistence: a new ceremony works (challenges in the fresh Redis), and the vault as before.
    const user = walletUser(h, addresses[7]!);
    try {
      await user.auth.register({ displayName: 'After Redis' });
      await user.vault.put({ id: 'after-redis', category: 'credential', tags: {}, value: new Uint8Array([1, 2, 3]) });
      expect([...(await user.vault.get('after-redis'))!.value]).toEqual([1, 2, 3]);
    } finally {
      await user.client.close();
    }
    const since = await readers[0]!.vault.syncAll(null);
    expect(since.unreadable).toEqual([]);
  }, 180_000);

  it('store restart: the replicas that use it report 503 while it is down and ready again after; acknowledged writes are all there', async () => {
    const load = new Load(h, writers, addresses[6]!, 'store');
    load.start();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await h.cluster.store.stop('SIGKILL');
    let down: Record<string, number> = {};
    await waitFor(
      async () => {
        down = await readiness(h.cluster);
        return ['auth', 'storage'].every((service) => h.cluster.replicasOf(service).every((r) => down[r.name] === 503));
      },
      20_000,
      () => `auth and storage did not report 503 with the store down: ${JSON.stringify(down)}`,
      250,
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await h.cluster.store.start();
    const restartedAt = Date.now();
    let up: Record<string, number> = {};
    await waitFor(
      async () => {
        up = await readiness(h.cluster);
        return Object.values(up).every((status) => status === 200);
      },
      60_000,
      () => `not every replica is ready again after the store restart: ${JSON.stringify(up)}`,
      250,
    );
    const readyAfterMs = Date.now() - restartedAt;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const result = await load.stop();
    const notReady = Object.entries(down).filter(([, status]) => status !== 200).map(([name, status]) => `${name} ${status || 'no answer'}`);
    process.stdout.write(`${describeLoad('store killed and restarted', result)}\n  readiness while down: ${notReady.join(', ')}; 200 on all ${readyAfterMs} ms after the restart\n`);

    expect(statusesSeen(result).has('500')).toBe(false);
    const lost = await lostWrites(readers, result);
    process.stdout.write(`  lost acknowledged writes: ${lost.length}\n`);
    expect(lost).toEqual([]);
    // Writes work again.
    const after = await writers[0]!.vault.put({ id: 'after-store', category: 'credential', tags: {}, value: new Uint8Array([4]) });
    expect(after.version).toBe(1);
  }, 180_000);
});
