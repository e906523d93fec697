import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { redisInlineProbe } from './probes';
import { sleep, spawnServerProcess, stopChild } from './processes';
import { findExecutable } from './suites';

/**
 * Multi-node Redis set-ups for the cache's driver suites, started from the
 * machine's `redis-server` in temporary directories, on loopback only:
 *
 * - `startRedisCluster()`: a Redis Cluster of three masters (and, on request,
 *   one replica each), slots assigned and nodes met through ordinary commands
 *   (no `redis-cli` needed);
 * - `startRedisSentinel()`: a master, a replica and three sentinels watching
 *   them, with helpers for a forced failover and for killing the master.
 *
 * Ports are fixed, outside the kernel's ephemeral range (32768-60999), because
 * a cluster's nodes and a sentinel's view of the master are addressed by port:
 * each set-up takes a block of ten in 17200-17299 (a cluster node's bus port,
 * set with `cluster-port`, is its port plus 100, so 17300-17399), claimed with
 * a lock file in the temp directory so that test processes running at the same
 * time never share a block. Persistence is off. Everything is killed when the
 * test process exits, even without `stop()`.
 */

const PORT_RANGE = { first: 17_200, last: 17_299, block: 10 };
/** A cluster node's bus port is its port plus this (`cluster-port`; Redis would add 10000). */
const CLUSTER_BUS_OFFSET = 100;
const START_TIMEOUT_MS = 10_000;
const LOCK_DIR = join(tmpdir(), 'wallet-redis-topologies');
const HOST = '127.0.0.1';

/** True when these set-ups can run here: `redis-server` is on PATH. */
export function redisTopologiesAvailable(): boolean {
  return findExecutable('redis-server') !== null;
}

// --- port blocks -------------------------------------------------------------

const heldLocks = new Set<string>();
let lockExitHook = false;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function claimLock(path: string): boolean {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      heldLocks.add(path);
      if (!lockExitHook) {
        lockExitHook = true;
        process.once('exit', () => {
          for (const held of heldLocks) rmSync(held, { force: true });
        });
      }
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let owner = 0;
      try {
        owner = Number(readFileSync(path, 'utf8'));
      } catch {
        // Removed meanwhile: try again.
      }
      if (owner && pidAlive(owner)) return false;
      // Left behind by a process that is gone.
      rmSync(path, { force: true });
    }
  }
  return false;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

interface PortBlock {
  ports: number[];
  release(): void;
}

/** `count` consecutive ports (and their cluster-bus twins) no other test process holds. */
async function reservePorts(count: number): Promise<PortBlock> {
  if (count > PORT_RANGE.block) throw new Error(`at most ${PORT_RANGE.block} ports per set-up`);
  mkdirSync(LOCK_DIR, { recursive: true });
  for (let base = PORT_RANGE.first; base + count - 1 <= PORT_RANGE.last; base += PORT_RANGE.block) {
    const lock = join(LOCK_DIR, `${base}.lock`);
    if (!claimLock(lock)) continue;
    const ports = Array.from({ length: count }, (_, i) => base + i);
    const free = await Promise.all(ports.flatMap((port) => [portFree(port), portFree(port + CLUSTER_BUS_OFFSET)]));
    const release = () => {
      heldLocks.delete(lock);
      rmSync(lock, { force: true });
    };
    if (free.every(Boolean)) return { ports, release };
    release();
  }
  throw new Error(
    `no free block of ${count} loopback ports in ${PORT_RANGE.first}-${PORT_RANGE.last} (plus ${CLUSTER_BUS_OFFSET} for cluster buses)`,
  );
}

// --- processes ---------------------------------------------------------------

/** One `redis-server` process (a data node or a sentinel) that can be killed and started again. */
class RedisProcess {
  private child: ChildProcess | null = null;

  constructor(
    private readonly binary: string,
    readonly port: number,
    private readonly args: () => string[],
    private readonly password: string | undefined,
  ) {}

  get running(): boolean {
    return this.child !== null;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error(`redis on port ${this.port} is already running`);
    const server = spawnServerProcess(this.binary, this.args());
    this.child = server.child;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (server.exited()) {
        this.child = null;
        throw new Error(`redis on port ${this.port} ${server.exited()}:\n${server.output()}`);
      }
      if (await answers(this.port)) return;
      await sleep(30);
    }
    const output = server.output();
    await this.kill();
    throw new Error(`redis on port ${this.port} did not answer within ${START_TIMEOUT_MS} ms:\n${output}`);
  }

  /** SIGKILL: no shutdown, no goodbye to the cluster or the sentinels. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child) await stopChild(child);
  }

  /** Runs one command on this process with a short-lived connection. */
  async command(...args: Array<string | number>): Promise<unknown> {
    return withClient(this.port, this.password, (client) => client.call(String(args[0]), ...args.slice(1).map(String)));
  }
}

/** Answers a PING, or NOAUTH when a password is set: either way the server is up. */
function answers(port: number): Promise<boolean> {
  return redisInlineProbe(port, 'PING\r\n', (reply) =>
    reply.includes('\r\n') ? /^(\+PONG|-NOAUTH)/.test(reply) : undefined,
  );
}

async function withClient<T>(
  port: number,
  password: string | undefined,
  use: (client: Redis) => Promise<T>,
): Promise<T> {
  const client = new Redis({
    host: HOST,
    port,
    ...(password ? { password } : {}),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2000,
    commandTimeout: 5000,
    enableReadyCheck: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await use(client);
  } finally {
    client.disconnect();
  }
}

/** Polls `check` until it returns a value other than undefined. */
async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`${what} within ${timeoutMs} ms${why}`);
    }
    await sleep(50);
  }
}

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

function requireBinary(): string {
  const binary = findExecutable('redis-server');
  if (!binary) throw new Error('redis-server was not found on PATH');
  return binary;
}

function dataNodeArgs(port: number, dir: string, password: string | undefined): string[] {
  const settings: Array<[string, string]> = [
    ['port', String(port)],
    ['bind', HOST],
    ['save', ''],
    ['appendonly', 'no'],
    ['dir', dir],
    ['daemonize', 'no'],
    ['loglevel', 'warning'],
    ['enable-debug-command', 'local'],
    // A replica's first sync starts at once (the default waits 5 s for more replicas to join).
    ['repl-diskless-sync-delay', '0'],
  ];
  if (password) settings.push(['requirepass', password], ['masterauth', password]);
  return settings.flatMap(([name, value]) => [`--${name}`, value]);
}

function credentials(password: string | undefined): string {
  return password ? `:${encodeURIComponent(password)}@` : '';
}

// --- cluster -----------------------------------------------------------------

export interface RedisClusterOptions {
  /** Number of masters (default 3). */
  masters?: number;
  /** One replica per master (default false). Needed for failover tests. */
  replicas?: boolean;
  /** `requirepass` and `masterauth` of every node. */
  password?: string;
  /** `cluster-node-timeout` (default 1000 ms): how soon a dead master is failed over. */
  nodeTimeoutMs?: number;
}

export interface RedisTestCluster {
  /** `redis+cluster://[:password@]127.0.0.1:<port>,...` naming every master. */
  readonly url: string;
  /** `127.0.0.1:<port>` of every master, for the cache's `nodes` setting. */
  readonly seeds: readonly string[];
  /** Ports of the nodes, masters first (then the replica of each, in the same order). */
  readonly ports: readonly number[];
  /** The port of the master that serves `key` now (asks the cluster). */
  masterOf(key: string): Promise<number>;
  /** The master ports, as the cluster sees them now. */
  masters(): Promise<number[]>;
  /** Runs one command on the node at `port`. */
  command(port: number, ...args: Array<string | number>): Promise<unknown>;
  /**
   * Manual failover (`CLUSTER FAILOVER` on its replica): the replica of the
   * master at `masterPort` takes over. Resolves with the new master's port once
   * every running node agrees.
   */
  failover(masterPort: number): Promise<number>;
  /** SIGKILL of a node (no goodbye to the others). */
  kill(port: number): Promise<void>;
  /** Resolves once every slot is served by a running master and every node says the state is ok. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const SLOTS = 16_384;

/** Starts a Redis Cluster (three masters by default) and waits until it serves every slot. */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisTestCluster> {
  const binary = requireBinary();
  const masterCount = options.masters ?? 3;
  const replicaCount = options.replicas ? masterCount : 0;
  const { password } = options;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
  const block = await reservePorts(masterCount + replicaCount);
  const root = mkdtempSync(join(tmpdir(), 'wallet-redis-cluster-'));
  const nodes = block.ports.map((port) => {
    const dir = join(root, String(port));
    mkdirSync(dir);
    return new RedisProcess(
      binary,
      port,
      () => [
        ...dataNodeArgs(port, dir, password),
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(port + CLUSTER_BUS_OFFSET),
        '--cluster-config-file',
        join(dir, 'nodes.conf'),
        '--cluster-node-timeout',
        String(nodeTimeoutMs),
        // Fail over whatever the replica's lag: test data is disposable.
        '--cluster-replica-validity-factor',
        '0',
        '--cluster-allow-replica-migration',
        'no',
      ],
      password,
    );
  });
  const byPort = new Map(nodes.map((node) => [node.port, node]));
  const node = (port: number): RedisProcess => {
    const found = byPort.get(port);
    if (!found) throw new Error(`no cluster node on port ${port}`);
    return found;
  };
  const masters = nodes.slice(0, masterCount);
  const replicas = nodes.slice(masterCount);

  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(root, { recursive: true, force: true });
    block.release();
  };

  const clusterNodes = async (port: number) => {
    const text = String(await node(port).command('CLUSTER', 'NODES'));
    return text
      .trim()
      .split('\n')
      .map((line) => {
        const [id = '', address = '', flags = '', masterId = '', , , , link = '', ...slots] = line.split(' ');
        return {
          id,
          port: Number(/:(\d+)@/.exec(address)?.[1]),
          flags: flags.split(','),
          masterId,
          connected: link === 'connected',
          slots,
        };
      });
  };

  const healthy = async (): Promise<true | undefined> => {
    const running = nodes.filter((n) => n.running);
    for (const n of running) {
      const info = String(await n.command('CLUSTER', 'INFO'));
      if (infoField(info, 'cluster_state') !== 'ok') return undefined;
      if (infoField(info, 'cluster_slots_ok') !== String(SLOTS)) return undefined;
    }
    // Every slot on a running master, as every running node sees it.
    for (const n of running) {
      const view = await clusterNodes(n.port);
      for (const entry of view) {
        if (entry.flags.includes('master') && entry.slots.length > 0 && !node(entry.port).running) return undefined;
        if (entry.flags.some((flag) => flag === 'fail' || flag === 'fail?' || flag === 'handshake')) {
          if (node(entry.port).running) return undefined;
        }
      }
    }
    return true;
  };

  const waitUntilHealthy = async (timeoutMs = 15_000) => {
    try {
      await until('the cluster did not become healthy', timeoutMs, healthy);
    } catch (error) {
      // What the nodes think, for the failure message.
      const views = await Promise.all(
        nodes
          .filter((n) => n.running)
          .map(async (n) => `node ${n.port}:\n${String(await n.command('CLUSTER', 'NODES').catch((e: unknown) => e))}`),
      );
      throw new Error(`${(error as Error).message}\n${views.join('\n')}`);
    }
  };

  try {
    await Promise.all(nodes.map((n) => n.start()));
    // Distinct epochs up front, as redis-cli does, so no collision has to be resolved.
    await Promise.all(nodes.map((n, i) => n.command('CLUSTER', 'SET-CONFIG-EPOCH', i + 1)));
    const perMaster = Math.ceil(SLOTS / masterCount);
    await Promise.all(
      masters.map((m, i) =>
        m.command('CLUSTER', 'ADDSLOTSRANGE', i * perMaster, Math.min(SLOTS, (i + 1) * perMaster) - 1),
      ),
    );
    const first = nodes[0] as RedisProcess;
    for (const other of nodes.slice(1)) await first.command('CLUSTER', 'MEET', HOST, other.port, other.port + CLUSTER_BUS_OFFSET);
    await until('the cluster nodes did not meet', START_TIMEOUT_MS, async () => {
      for (const n of nodes) {
        const view = await clusterNodes(n.port);
        if (view.length !== nodes.length || view.some((e) => e.flags.includes('handshake') || !e.connected)) {
          return undefined;
        }
      }
      return true;
    });
    for (const [i, replica] of replicas.entries()) {
      const masterId = String(await (masters[i] as RedisProcess).command('CLUSTER', 'MYID'));
      await replica.command('CLUSTER', 'REPLICATE', masterId);
    }
    await waitUntilHealthy(START_TIMEOUT_MS);
    // Replicas in sync and known to every node (clients learn them from CLUSTER SLOTS).
    await until('the replicas did not sync', START_TIMEOUT_MS, async () => {
      for (const replica of replicas) {
        const info = String(await replica.command('INFO', 'replication'));
        if (infoField(info, 'master_link_status') !== 'up') return undefined;
      }
      for (const n of nodes) {
        const view = await clusterNodes(n.port);
        if (view.filter((e) => e.flags.includes('slave')).length !== replicas.length) return undefined;
      }
      return true;
    });
  } catch (error) {
    await stop();
    throw error;
  }

  const seeds = masters.map((m) => `${HOST}:${m.port}`);
  const anyRunning = () => {
    const running = nodes.find((n) => n.running);
    if (!running) throw new Error('no cluster node is running');
    return running;
  };
  const currentMasters = async () => {
    const view = await clusterNodes(anyRunning().port);
    return view.filter((e) => e.flags.includes('master') && e.slots.length > 0).map((e) => e.port);
  };

  return {
    url: `redis+cluster://${credentials(password)}${seeds.join(',')}`,
    seeds,
    ports: block.ports,
    async masterOf(key) {
      const slot = Number(await anyRunning().command('CLUSTER', 'KEYSLOT', key));
      const ranges = (await anyRunning().command('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, ...unknown[]]]>;
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (!range) throw new Error(`slot ${slot} is not served`);
      return Number(range[2][1]);
    },
    masters: currentMasters,
    command: (port, ...args) => node(port).command(...args),
    async failover(masterPort) {
      const view = await clusterNodes(masterPort);
      const masterId = view.find((e) => e.port === masterPort)?.id;
      const replica = view.find((e) => e.masterId === masterId && e.flags.includes('slave'));
      if (!masterId || !replica) throw new Error(`the master on port ${masterPort} has no replica`);
      await node(replica.port).command('CLUSTER', 'FAILOVER');
      await until('the manual failover did not finish', START_TIMEOUT_MS, async () => {
        for (const n of nodes.filter((x) => x.running)) {
          const seen = await clusterNodes(n.port);
          const promoted = seen.find((e) => e.port === replica.port);
          if (!promoted?.flags.includes('master') || promoted.slots.length === 0) return undefined;
        }
        return true;
      });
      await waitUntilHealthy();
      return replica.port;
    },
    kill: (port) => node(port).kill(),
    waitUntilHealthy,
    stop,
  };
}

// --- sentinel ----------------------------------------------------------------

export interface RedisSentinelOptions {
  /** Name the sentinels know the master by (default `wallet-test`). */
  masterName?: string;
  /** `requirepass` of the data nodes. */
  password?: string;
  /** `requirepass` of the sentinels. */
  sentinelPassword?: string;
  /** `down-after-milliseconds` (default 1000): how soon a dead master is failed over. */
  downAfterMs?: number;
}

export interface RedisTestSentinel {
  /** `redis+sentinel://[:password@]127.0.0.1:<port>,.../<master name>[?sentinelPassword=...]`. */
  readonly url: string;
  readonly masterName: string;
  /** `127.0.0.1:<port>` of the three sentinels, for the cache's `nodes` setting. */
  readonly sentinels: readonly string[];
  /** Ports of the two data nodes (the first starts as master). */
  readonly dataPorts: readonly number[];
  /** The port of the master, as the first sentinel that answers says. */
  master(): Promise<number>;
  /** Runs one command on the data node at `port`. */
  command(port: number, ...args: Array<string | number>): Promise<unknown>;
  /**
   * `SENTINEL FAILOVER`: the replica is promoted. Resolves once every
   * sentinel names the new master and it has taken the role. The old master
   * keeps running; the sentinels would turn it into a replica at their next
   * check of it (within 10 s), until then it still takes writes from clients
   * that did not move. To keep the set-up ready for another failover this
   * does that step at once (`REPLICAOF` the new master) and waits for the sync.
   */
  failover(): Promise<{ from: number; to: number }>;
  /** SIGKILL of the master; resolves once the sentinels have promoted the replica. */
  killMaster(): Promise<{ from: number; to: number }>;
  /** Starts a killed data node again, as a replica of the current master, and waits for its sync. */
  revive(port: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a master, its replica and three sentinels, and waits until the sentinels know all of them. */
export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisTestSentinel> {
  const binary = requireBinary();
  const masterName = options.masterName ?? 'wallet-test';
  const { password, sentinelPassword } = options;
  const downAfterMs = options.downAfterMs ?? 1000;
  const block = await reservePorts(5);
  const root = mkdtempSync(join(tmpdir(), 'wallet-redis-sentinel-'));
  const [masterPort, replicaPort, ...sentinelPorts] = block.ports as [number, number, ...number[]];

  const dataNode = (port: number, replicaOf: number | null) => {
    const dir = join(root, String(port));
    mkdirSync(dir);
    return new RedisProcess(
      binary,
      port,
      () => [...dataNodeArgs(port, dir, password), ...(replicaOf ? ['--replicaof', HOST, String(replicaOf)] : [])],
      password,
    );
  };
  const data = [dataNode(masterPort, null), dataNode(replicaPort, masterPort)];
  const sentinels = sentinelPorts.map((port) => {
    const dir = join(root, String(port));
    mkdirSync(dir);
    const file = join(dir, 'sentinel.conf');
    const lines = [
      `port ${port}`,
      `bind ${HOST}`,
      'daemonize no',
      `dir ${dir}`,
      'loglevel warning',
      `sentinel monitor ${masterName} ${HOST} ${masterPort} 2`,
      `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
      `sentinel failover-timeout ${masterName} 5000`,
      `sentinel parallel-syncs ${masterName} 1`,
      ...(password ? [`sentinel auth-pass ${masterName} ${password}`] : []),
      ...(sentinelPassword ? [`requirepass ${sentinelPassword}`, `sentinel sentinel-pass ${sentinelPassword}`] : []),
    ];
    // Sentinel rewrites its file (what it learned): one per sentinel, written once.
    writeFileSync(file, `${lines.join('\n')}\n`);
    return new RedisProcess(binary, port, () => [file, '--sentinel'], sentinelPassword);
  });
  const all = [...data, ...sentinels];
  const dataByPort = new Map(data.map((n) => [n.port, n]));
  const dataNodeAt = (port: number) => {
    const found = dataByPort.get(port);
    if (!found) throw new Error(`no data node on port ${port}`);
    return found;
  };

  const stop = async () => {
    await Promise.all(all.map((n) => n.stop()));
    rmSync(root, { recursive: true, force: true });
    block.release();
  };

  const masterSeenBy = async (sentinel: RedisProcess): Promise<number> => {
    const reply = (await sentinel.command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as [string, string] | null;
    if (!reply) throw new Error(`sentinel ${sentinel.port} does not know ${masterName}`);
    return Number(reply[1]);
  };

  /** Every running sentinel names `port` as the master, and it has the role. */
  const promoted = async (port: number): Promise<true | undefined> => {
    for (const sentinel of sentinels.filter((s) => s.running)) {
      if ((await masterSeenBy(sentinel)) !== port) return undefined;
    }
    const info = String(await dataNodeAt(port).command('INFO', 'replication'));
    return infoField(info, 'role') === 'master' ? true : undefined;
  };

  /** The data node at `port` replicates from `master` and is in sync. */
  const replicating = async (port: number, master: number): Promise<true | undefined> => {
    const info = String(await dataNodeAt(port).command('INFO', 'replication'));
    const ok =
      infoField(info, 'role') === 'slave' &&
      infoField(info, 'master_port') === String(master) &&
      infoField(info, 'master_link_status') === 'up';
    return ok ? true : undefined;
  };

  try {
    await Promise.all(data.map((n) => n.start()));
    await until('the replica did not sync', START_TIMEOUT_MS, async () => {
      const info = String(await dataNodeAt(replicaPort).command('INFO', 'replication'));
      return infoField(info, 'master_link_status') === 'up' ? true : undefined;
    });
    await Promise.all(sentinels.map((s) => s.start()));
    // Each sentinel has found the replica and the two other sentinels (needed to agree on a failover).
    await until('the sentinels did not find each other', 15_000, async () => {
      for (const sentinel of sentinels) {
        const flat = (await sentinel.command('SENTINEL', 'MASTER', masterName)) as string[];
        const fields = new Map<string, string>();
        for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), String(flat[i + 1]));
        if (fields.get('num-slaves') !== '1' || fields.get('num-other-sentinels') !== String(sentinels.length - 1)) {
          return undefined;
        }
      }
      return true;
    });
  } catch (error) {
    await stop();
    throw error;
  }

  const master = async (): Promise<number> => {
    for (const sentinel of sentinels.filter((s) => s.running)) {
      try {
        return await masterSeenBy(sentinel);
      } catch {
        // Try the next sentinel.
      }
    }
    throw new Error('no sentinel answers');
  };
  const query = sentinelPassword ? `?sentinelPassword=${encodeURIComponent(sentinelPassword)}` : '';

  return {
    url: `redis+sentinel://${credentials(password)}${sentinelPorts.map((p) => `${HOST}:${p}`).join(',')}/${masterName}${query}`,
    masterName,
    sentinels: sentinelPorts.map((p) => `${HOST}:${p}`),
    dataPorts: [masterPort, replicaPort],
    master,
    command: (port, ...args) => dataNodeAt(port).command(...args),
    async failover() {
      const from = await master();
      const to = data.find((n) => n.port !== from)?.port as number;
      await (sentinels.find((s) => s.running) as RedisProcess).command('SENTINEL', 'FAILOVER', masterName);
      await until('the sentinel failover did not finish', 15_000, () => promoted(to));
      await dataNodeAt(from).command('REPLICAOF', HOST, to);
      await until('the old master did not sync from the new one', START_TIMEOUT_MS, () => replicating(from, to));
      return { from, to };
    },
    async killMaster() {
      const from = await master();
      const to = data.find((n) => n.port !== from)?.port as number;
      await dataNodeAt(from).kill();
      await until('the sentinels did not promote the replica', 20_000, () => promoted(to));
      return { from, to };
    },
    async revive(port) {
      const node = dataNodeAt(port);
      const current = await master();
      const dir = join(root, String(port));
      const revived = new RedisProcess(
        binary,
        port,
        () => [...dataNodeArgs(port, dir, password), '--replicaof', HOST, String(current)],
        password,
      );
      if (node.running) throw new Error(`the data node on port ${port} is running`);
      await revived.start();
      dataByPort.set(port, revived);
      data.splice(data.indexOf(node), 1, revived);
      all.splice(all.indexOf(node), 1, revived);
      await until('the revived node did not sync', START_TIMEOUT_MS, () => replicating(port, current));
    },
    stop,
  };
}
