import { createHash } from 'node:crypto';
import { UnavailableError, ValidationError, WalletError } from '@wallet/domain';
// Types only: the module itself is loaded by `createRedisCache`, so a process
// that uses the memory driver never loads ioredis.
import type { Cluster, ClusterOptions, Redis as RedisClient, RedisOptions } from 'ioredis';
import type { Cache, CacheDeps, Lock, SetOptions, Unsubscribe } from '../ports';
import {
  checkTtl,
  closedError,
  defaultReporter,
  type ErrorReporter,
  HeldLock,
  invokeHandler,
  newLockToken,
  rejectedCommand,
} from './common';
import { checkKeyPrefix, hashSlot, resolveTopology, type RedisAuth, type RedisConnectionOptions, type RedisTopology } from './redis-topology';

export interface RedisCacheOptions extends RedisConnectionOptions {
  /** Prepended to every key and channel (default `wallet:`). */
  keyPrefix?: string;
  /** How long a command may wait while disconnected before failing (default 2000 ms). */
  commandTimeoutMs?: number;
}

/** What the driver needs from ioredis: its two client classes. */
export interface IoRedis {
  Redis: new (...args: [string, RedisOptions] | [RedisOptions]) => RedisClient;
  Cluster: new (nodes: Array<{ host: string; port: number }>, options: ClusterOptions) => Cluster;
}

/** Loads ioredis and connects (in the background: Redis being down at start is not an error). */
export async function createRedisCache(
  options: RedisCacheOptions,
  deps: CacheDeps = {},
): Promise<RedisCache> {
  const settings = checkOptions(options);
  const { Redis, Cluster } = await import('ioredis');
  return new RedisCache({ Redis, Cluster }, settings, deps);
}

interface Settings {
  topology: RedisTopology;
  keyPrefix: string;
  commandTimeoutMs: number;
}

function checkOptions(options: RedisCacheOptions): Settings {
  // Throws ValidationError naming the setting; never echoes the URL or a password.
  const topology = resolveTopology(options);
  const commandTimeoutMs = options.commandTimeoutMs ?? 2000;
  if (!Number.isSafeInteger(commandTimeoutMs) || commandTimeoutMs < 1) {
    throw new ValidationError('commandTimeoutMs must be a whole number of milliseconds, at least 1', [
      { path: '/commandTimeoutMs', message: 'expected an integer >= 1' },
    ]);
  }
  const keyPrefix = options.keyPrefix ?? 'wallet:';
  const prefixProblem = checkKeyPrefix(keyPrefix);
  if (prefixProblem) {
    throw new ValidationError(`keyPrefix ${prefixProblem}`, [{ path: '/keyPrefix', message: prefixProblem }]);
  }
  return { topology, keyPrefix, commandTimeoutMs };
}

/** Reconnect quickly at first, then once a second for as long as it takes. */
function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 5), 1000);
}

class Script {
  readonly sha: string;
  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }
}

// KEYS[1] lock, KEYS[2] fence counter; ARGV[1] token, ARGV[2] ttl ms.
// The fence only grows when the lock is taken, and the counter never expires.
// A missing counter starts at the server's time in ms, not at 0: if Redis
// lost its data (restart without persistence), new fences still exceed those
// handed out before, as long as a name averaged under 1000 acquisitions a
// second and the server clock did not go back. Built as a string: Lua would
// print a large number as 1.7e+12.
const ACQUIRE_LOCK = new Script(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  if redis.call('EXISTS', KEYS[2]) == 0 then
    local now = redis.call('TIME')
    redis.call('SET', KEYS[2], now[1] .. string.sub(string.format('%06d', tonumber(now[2])), 1, 3))
  end
  return redis.call('INCR', KEYS[2])
end
return false`);

// KEYS[1] lock; ARGV[1] token, ARGV[2] ttl ms.
const EXTEND_LOCK = new Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`);

// KEYS[1] lock; ARGV[1] token.
const RELEASE_LOCK = new Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`);

// KEYS[1] key; ARGV[1] '1' when the key must be absent, ARGV[2] expected,
// ARGV[3] next, ARGV[4] ttl ms or ''.
const COMPARE_AND_SET = new Script(`
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
if ARGV[4] == '' then
  redis.call('SET', KEYS[1], ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
end
return 1`);

// KEYS[1] counter; ARGV[1] ttl ms or '' (applied only when INCR creates the key).
const INCREMENT = new Script(`
local created = redis.call('EXISTS', KEYS[1]) == 0
local value = redis.call('INCR', KEYS[1])
if created and ARGV[1] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return value`);

/**
 * Replies that mean "not now" rather than "never": Redis refused the command
 * without running it (loading, a busy script, a replica that is read-only
 * since a failover, a cluster that is moving or missing slots, too few
 * replicas), so it is tried again within the command's time budget.
 */
const NOT_EXECUTED_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

/** ioredis refused to send the command because the connection was not ready. */
const NOT_SENT = /^(Stream isn't writeable|Cluster isn't ready)/;

/** Pause between tries of a command Redis did not run (see `NOT_EXECUTED_REPLY`). */
const RETRY_DELAY_MS = 100;

type Client = RedisClient | Cluster;

function notExecuted(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'ReplyError') return NOT_EXECUTED_REPLY.test(error.message);
  return NOT_SENT.test(error.message);
}

/**
 * ioredis attaches the failed command to its errors (`error.command.args`):
 * for AUTH and HELLO that is the password, for SET the cached value. Errors
 * leave the driver without the arguments.
 */
function scrub(error: unknown): unknown {
  if (typeof error !== 'object' || error === null) return error;
  const withCommand = error as { command?: { name?: unknown; args?: unknown }; lastNodeError?: unknown };
  if (withCommand.command && typeof withCommand.command === 'object' && 'args' in withCommand.command) {
    withCommand.command = { name: withCommand.command.name };
  }
  if (withCommand.lastNodeError) scrub(withCommand.lastNodeError);
  return error;
}

/** How ioredis names a cluster node in its slot table (`cluster.slots`). */
function nodeKey(node: RedisClient): string {
  return `${node.options.host ?? '127.0.0.1'}:${node.options.port ?? 6379}`;
}

/** How often a command that waits for its slot's master asks the cluster for the slot table again. */
const SLOTS_REFRESH_MS = 200;

/** One ioredis client (a connection, or a cluster's connections) and a way to wait until it is ready. */
class Connection {
  lastError: unknown = null;
  private waiting: { promise: Promise<void>; resolve(): void; reject(error: unknown): void } | null = null;

  /** `cluster`: the client is a Cluster that runs commands (not only subscriptions). */
  constructor(
    readonly client: Client,
    report: ErrorReporter,
    private readonly cluster: Cluster | null = null,
  ) {
    // Without an 'error' listener ioredis would print every reconnect failure.
    client.on('error', (error: unknown) => {
      this.lastError = scrub(error);
      report(error, 'connection');
    });
    client.on('ready', () => {
      this.lastError = null;
      this.waiting?.resolve();
      this.waiting = null;
    });
    client.on('end', () => {
      this.waiting?.reject(closedError());
      this.waiting = null;
    });
  }

  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Resolves on the next 'ready'; every waiter shares one promise (no listener per command). */
  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (this.client.status === 'end') return Promise.reject(closedError());
    if (!this.waiting) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => undefined);
      this.waiting = { promise, resolve, reject };
    }
    return this.waiting.promise;
  }

  /**
   * Cluster only: resolves once the connection to the node serving the slot
   * of each of `keys` is open, or when `gaveUp()` says the caller stopped
   * waiting. ioredis opens a node's connection on its first command and
   * refuses commands for a node whose connection is opening or gone (a dead
   * master's slots point at it until the cluster promoted its replica and the
   * client re-read the slots). It refuses them without sending them, but with
   * the error of a command lost in flight, which the driver must not repeat.
   * Waiting here instead keeps that error for commands that were in flight.
   * Every known node's connection is opened up front, replicas too, so that a
   * MOVED to a replica just promoted finds its connection open.
   */
  async whenSlotsServed(keys: readonly string[], gaveUp: () => boolean): Promise<void> {
    const cluster = this.cluster;
    if (!cluster || keys.length === 0) return;
    const slots = [...new Set(keys.map(hashSlot))];
    let refreshedAt = 0;
    while (!gaveUp()) {
      const nodes = new Map(cluster.nodes('all').map((node) => [nodeKey(node), node]));
      for (const node of nodes.values()) {
        if (node.status === 'wait') node.connect().catch(() => undefined);
      }
      let served = true;
      let unknownOwner = false;
      for (const slot of slots) {
        const owner = cluster.slots[slot]?.[0];
        const node = owner === undefined ? undefined : nodes.get(owner);
        if (node?.status === 'ready') continue;
        served = false;
        if (!node || node.status === 'end') unknownOwner = true;
      }
      if (served) return;
      if (unknownOwner && Date.now() - refreshedAt >= SLOTS_REFRESH_MS) {
        refreshedAt = Date.now();
        cluster.refreshSlotsCache();
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(timeoutMs: number): Promise<void> {
    if (this.client.status === 'end') return;
    if (this.client.status === 'ready') {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          this.client.quit(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('QUIT was not answered')), timeoutMs);
          }),
        ]);
        // QUIT closes the connection but not what a Sentinel client keeps
        // beside it (its connections to the sentinels, watching for failovers).
        if (!this.client.isCluster) this.client.disconnect();
        return;
      } catch {
        // Fall through: drop the connection instead.
      } finally {
        clearTimeout(timer);
      }
    }
    this.client.disconnect();
  }
}

interface Subscription {
  handler: (message: string) => void;
}

interface Channel {
  subscriptions: Set<Subscription>;
  /** Settles when Redis confirmed SUBSCRIBE. */
  active: Promise<void>;
}

/**
 * The shared driver, on one Redis, a Sentinel-managed master or a Redis
 * Cluster. Keys live under `<prefix>kv:`, locks under `<prefix>lock:{<name>}`
 * with fence counters under `<prefix>fence:{<name>}` (the hash tag keeps both
 * in one cluster slot, as the acquire script needs); channels are
 * `<prefix><channel>`. Multi-step operations run as Lua scripts on one key or
 * one hash tag (EVALSHA with an EVAL fallback, since a restarted server has an
 * empty script cache). `getMany` is one MGET, or on a cluster one MGET per
 * slot, sent together.
 *
 * Failure behaviour: ioredis reconnects forever with a backoff capped at 1 s
 * (through the sentinels to whichever server is master now; a cluster
 * re-reads its slots). Commands are never queued inside ioredis; a command
 * issued while disconnected waits for the connection up to `commandTimeoutMs`
 * and then rejects with `UnavailableError`, and is never sent after its caller
 * gave up. A command Redis refused without running it (LOADING, READONLY after
 * a failover, TRYAGAIN, CLUSTERDOWN, ...) is tried again within the same
 * budget. Commands in flight when a connection drops reject at once and are
 * not resent (their effect is unknown, and resending INCR or GETDEL could
 * apply it twice). Subscriptions use a second client, opened on first
 * `subscribe`, which resubscribes after a reconnect or failover.
 */
export class RedisCache implements Cache {
  readonly driver = 'redis' as const;
  /** `single`, `sentinel` or `cluster`. */
  readonly topology: RedisTopology['kind'];

  private readonly main: Connection;
  private subscriber: Connection | null = null;
  private readonly channels = new Map<string, Channel>();
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly report: ErrorReporter;
  private closed = false;

  constructor(ioredis: IoRedis, settings: Settings, deps: CacheDeps = {}) {
    this.prefix = settings.keyPrefix;
    this.timeoutMs = settings.commandTimeoutMs;
    this.topology = settings.topology.kind;
    this.report = deps.onError ?? defaultReporter;
    const client = createClient(ioredis, settings);
    this.main = new Connection(client, this.report, settings.topology.kind === 'cluster' ? (client as Cluster) : null);
  }

  async get(key: string): Promise<string | null> {
    return this.run((redis) => redis.get(this.key(key)), this.main, [this.key(key)]);
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    const prefixed = keys.map((key) => this.key(key));
    if (this.topology !== 'cluster') return this.run((redis) => redis.mget(prefixed));
    // MGET is refused across slots: one per slot, sent together (reads, so a retry is harmless).
    const bySlot = new Map<number, number[]>();
    prefixed.forEach((key, index) => {
      const slot = hashSlot(key);
      bySlot.set(slot, [...(bySlot.get(slot) ?? []), index]);
    });
    return this.run(async (redis) => {
      const values: Array<string | null> = new Array<string | null>(keys.length).fill(null);
      await Promise.all(
        [...bySlot.values()].map(async (indexes) => {
          const replies = await redis.mget(indexes.map((index) => prefixed[index] as string));
          indexes.forEach((index, at) => {
            values[index] = replies[at] ?? null;
          });
        }),
      );
      return values;
    }, this.main, prefixed);
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<void> {
    const ttlMs = checkTtl(options.ttlMs);
    await this.run(
      (redis) => (ttlMs === undefined ? redis.set(this.key(key), value) : redis.set(this.key(key), value, 'PX', ttlMs)),
      this.main,
      [this.key(key)],
    );
  }

  async setIfAbsent(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    const ttlMs = checkTtl(options.ttlMs);
    const reply = await this.run(
      (redis) =>
        ttlMs === undefined ? redis.set(this.key(key), value, 'NX') : redis.set(this.key(key), value, 'PX', ttlMs, 'NX'),
      this.main,
      [this.key(key)],
    );
    return reply === 'OK';
  }

  async delete(key: string): Promise<boolean> {
    return (await this.run((redis) => redis.del(this.key(key)), this.main, [this.key(key)])) > 0;
  }

  async take(key: string): Promise<string | null> {
    return this.run((redis) => redis.getdel(this.key(key)), this.main, [this.key(key)]);
  }

  async compareAndSet(
    key: string,
    expected: string | null,
    next: string,
    options: SetOptions = {},
  ): Promise<boolean> {
    const ttlMs = checkTtl(options.ttlMs);
    const reply = await this.script(
      COMPARE_AND_SET,
      [this.key(key)],
      [expected === null ? '1' : '0', expected ?? '', next, ttlMs ?? ''],
    );
    return reply === 1;
  }

  async increment(key: string, options: SetOptions = {}): Promise<number> {
    const ttlMs = checkTtl(options.ttlMs);
    const reply = await this.script(INCREMENT, [this.key(key)], [ttlMs ?? '']);
    return Number(reply);
  }

  async acquireLock(name: string, ttlMs: number): Promise<Lock | null> {
    checkTtl(ttlMs);
    const tag = lockTag(name);
    const lockKey = `${this.prefix}lock:${tag}`;
    const token = newLockToken();
    const fence = await this.script(ACQUIRE_LOCK, [lockKey, `${this.prefix}fence:${tag}`], [token, ttlMs]);
    if (fence === null) return null;
    return new HeldLock(name, token, Number(fence), {
      extend: async (holder, extendMs) =>
        (await this.script(EXTEND_LOCK, [lockKey], [holder, extendMs])) === 1,
      release: async (holder) => (await this.script(RELEASE_LOCK, [lockKey], [holder])) === 1,
    });
  }

  async publish(channel: string, message: string): Promise<void> {
    const prefixed = this.prefix + channel;
    await this.run(
      (redis) => (this.topology === 'cluster' ? publisherFor(redis as Cluster, prefixed) : redis).publish(prefixed, message),
      this.main,
      [prefixed],
    );
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe> {
    if (this.closed) throw closedError();
    const connection = this.subscriberConnection();
    let entry = this.channels.get(channel);
    if (!entry) {
      const created: Channel = {
        subscriptions: new Set(),
        active: this.run(async (redis) => {
          await redis.subscribe(this.prefix + channel);
        }, connection),
      };
      created.active.catch(() => {
        if (this.channels.get(channel) === created) this.channels.delete(channel);
      });
      this.channels.set(channel, created);
      entry = created;
    }
    const subscription: Subscription = { handler };
    entry.subscriptions.add(subscription);
    try {
      await entry.active;
    } catch (error) {
      entry.subscriptions.delete(subscription);
      throw error;
    }
    const subscribed = entry;
    return async () => {
      // Delivery to this handler stops here, whatever happens to UNSUBSCRIBE.
      if (!subscribed.subscriptions.delete(subscription)) return;
      if (subscribed.subscriptions.size > 0 || this.channels.get(channel) !== subscribed) return;
      this.channels.delete(channel);
      if (this.closed) return;
      await this.run(async (redis) => {
        await redis.unsubscribe(this.prefix + channel);
      }, connection);
    };
  }

  async ping(): Promise<void> {
    const checks = [this.run(async (redis) => void (await redis.ping()))];
    // Pub/sub is part of being healthy once it is in use.
    if (this.subscriber) checks.push(this.run(async () => undefined, this.subscriber));
    await Promise.all(checks);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.channels.clear();
    await Promise.all([this.main, this.subscriber].map((connection) => connection?.close(this.timeoutMs)));
  }

  private key(key: string): string {
    return `${this.prefix}kv:${key}`;
  }

  private subscriberConnection(): Connection {
    if (!this.subscriber) {
      // A cluster's copy subscribes through one node of its choice: classic
      // PUBLISH reaches every node of a cluster, so any node will do.
      const client = this.main.client.duplicate();
      client.on('message', (channel: string, message: string) => this.dispatch(channel, message));
      this.subscriber = new Connection(client, this.report);
    }
    return this.subscriber;
  }

  private dispatch(prefixedChannel: string, message: string): void {
    if (!prefixedChannel.startsWith(this.prefix)) return;
    const entry = this.channels.get(prefixedChannel.slice(this.prefix.length));
    if (!entry) return;
    for (const subscription of [...entry.subscriptions]) {
      if (entry.subscriptions.has(subscription)) invokeHandler(subscription.handler, message, this.report);
    }
  }

  /** EVALSHA, falling back to EVAL when the server does not know the script yet. */
  private script(script: Script, keys: string[], args: Array<string | number>): Promise<unknown> {
    return this.run(
      async (redis) => {
        try {
          return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
        } catch (error) {
          if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
          return await redis.eval(script.lua, keys.length, ...keys, ...args);
        }
      },
      this.main,
      keys,
    );
  }

  /**
   * Runs `command` once the connection is ready (on a cluster: the
   * connections to the nodes serving `keys`, the keys the command touches),
   * within `commandTimeoutMs` in total, and maps failures to domain errors.
   */
  private async run<T>(
    command: (redis: Client) => Promise<T>,
    connection = this.main,
    keys: readonly string[] = [],
  ): Promise<T> {
    if (this.closed) throw closedError();
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        const cause = new Error(`no answer within ${this.timeoutMs} ms`, {
          cause: connection.lastError ?? undefined,
        });
        reject(new UnavailableError('cache', { cause }));
      }, this.timeoutMs);
    });
    const attempt = (async () => {
      for (;;) {
        if (!connection.ready) await connection.whenReady();
        await connection.whenSlotsServed(keys, () => timedOut || this.closed);
        // Never send a command after its caller has been told it failed.
        if (timedOut) throw new UnavailableError('cache');
        try {
          return await command(connection.client);
        } catch (error) {
          // Only what Redis or ioredis says was not run is tried again.
          if (!notExecuted(error) || this.closed) throw error;
          connection.lastError = scrub(error);
          await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
          if (timedOut) throw error;
        }
      }
    })();
    try {
      return await Promise.race([attempt, timeout]);
    } catch (error) {
      throw toCacheError(error);
    } finally {
      clearTimeout(timer);
      attempt.catch(() => undefined);
    }
  }
}

/**
 * The lock name as a hash tag, so that the lock and its fence counter share a
 * cluster slot. A name that contains braces (or is empty) is tagged by its
 * digest instead, since Redis would read a different tag out of it.
 */
function lockTag(name: string): string {
  if (/^[^{}]+$/.test(name)) return `{${name}}`;
  return `{#${createHash('sha256').update(name).digest('base64url').slice(0, 22)}}:${name}`;
}

/**
 * Where PUBLISH goes. On a cluster, ioredis would send a command without keys
 * to a random node, and two messages published one after the other from
 * different nodes can reach a subscriber in the wrong order; the master that
 * serves the channel's slot is one fixed node per channel (messages published
 * across a failover of that master may still arrive out of order). Every node
 * forwards a classic PUBLISH to the whole cluster, so subscribers anywhere
 * receive it.
 */
function publisherFor(client: Cluster, channel: string): Client {
  const owner = client.slots[hashSlot(channel)]?.[0];
  if (owner === undefined) return client;
  const node = client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner);
  return node?.status === 'ready' ? node : client;
}

function createClient({ Redis, Cluster }: IoRedis, { topology, commandTimeoutMs }: Settings): Client {
  const connection: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: true,
    retryStrategy: reconnectDelay,
    connectTimeout: Math.max(commandTimeoutMs, 1000),
    // How long disconnect() waits for a socket to close before destroying
    // it. ioredis also arms this timer for the dead socket of a failed
    // reconnect, where it only keeps the process alive (default 2 s).
    disconnectTimeout: 250,
  };
  const credentials = (auth: RedisAuth): RedisOptions => ({
    ...(auth.username !== undefined ? { username: auth.username } : {}),
    ...(auth.password !== undefined ? { password: auth.password } : {}),
  });
  switch (topology.kind) {
    case 'single': {
      const options: RedisOptions = {
        ...connection,
        ...credentials(topology.auth),
        ...(topology.database !== undefined ? { db: topology.database } : {}),
      };
      if (topology.url !== null) return new Redis(topology.url, options);
      const { host, port } = topology.endpoint as { host: string; port: number };
      return new Redis({ ...options, host, port, ...(topology.tls ? { tls: {} } : {}) });
    }
    case 'sentinel':
      return new Redis({
        ...connection,
        ...credentials(topology.auth),
        ...(topology.database !== undefined ? { db: topology.database } : {}),
        sentinels: topology.sentinels,
        name: topology.masterName,
        role: 'master',
        ...(topology.sentinelAuth.username !== undefined ? { sentinelUsername: topology.sentinelAuth.username } : {}),
        ...(topology.sentinelAuth.password !== undefined ? { sentinelPassword: topology.sentinelAuth.password } : {}),
        ...(topology.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
        sentinelRetryStrategy: reconnectDelay,
        sentinelCommandTimeout: Math.max(commandTimeoutMs, 500),
        // Reconnect to the new master as soon as a sentinel announces the switch,
        // rather than when the old one refuses a write.
        failoverDetector: true,
        // A master demoted by a failover answers writes with READONLY: find the
        // new one (the write is tried again, since it was not run).
        reconnectOnError: (error) => error.message.startsWith('READONLY'),
      });
    case 'cluster':
      return new Cluster(topology.nodes, {
        redisOptions: {
          ...credentials(topology.auth),
          maxRetriesPerRequest: 0,
          autoResendUnfulfilledCommands: false,
          connectTimeout: connection.connectTimeout,
          disconnectTimeout: 250,
          ...(topology.tls ? { tls: {} } : {}),
        },
        enableOfflineQueue: false,
        enableReadyCheck: true,
        clusterRetryStrategy: reconnectDelay,
        // MOVED, ASK, TRYAGAIN and CLUSTERDOWN (not run) are followed by ioredis.
        // A command whose node connection closed may have run: it is not resent.
        retryDelayOnFailover: 0,
        slotsRefreshTimeout: Math.max(commandTimeoutMs, 1000),
      });
  }
}

function toCacheError(error: unknown): WalletError {
  if (error instanceof WalletError) return error;
  scrub(error);
  if (error instanceof Error && error.name === 'ReplyError' && !NOT_EXECUTED_REPLY.test(error.message)) {
    return rejectedCommand(error);
  }
  return new UnavailableError('cache', { cause: error });
}
