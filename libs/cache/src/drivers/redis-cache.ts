import { createHash } from 'node:crypto';
import { UnavailableError, ValidationError, WalletError } from '@wallet/domain';
// Types only: the module itself is loaded by `createRedisCache`, so a process
// that uses the memory driver never loads ioredis.
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
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

export interface RedisCacheOptions {
  url: string;
  /** Prepended to every key and channel (default `wallet:`). */
  keyPrefix?: string;
  /** How long a command may wait while disconnected before failing (default 2000 ms). */
  commandTimeoutMs?: number;
}

type RedisConstructor = new (url: string, options: RedisOptions) => RedisClient;

/** Loads ioredis and connects (in the background: Redis being down at start is not an error). */
export async function createRedisCache(
  options: RedisCacheOptions,
  deps: CacheDeps = {},
): Promise<RedisCache> {
  const settings = checkOptions(options);
  const { Redis } = await import('ioredis');
  return new RedisCache(Redis, settings, deps);
}

interface Settings {
  url: string;
  keyPrefix: string;
  commandTimeoutMs: number;
}

function checkOptions(options: RedisCacheOptions): Settings {
  let protocol: string;
  try {
    protocol = new URL(options.url).protocol;
  } catch {
    protocol = '';
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    // The URL may carry a password: never echo it.
    throw new ValidationError('the cache URL must be a redis:// or rediss:// URL', [
      { path: '/url', message: 'expected redis://[user:password@]host[:port][/db]' },
    ]);
  }
  const commandTimeoutMs = options.commandTimeoutMs ?? 2000;
  if (!Number.isSafeInteger(commandTimeoutMs) || commandTimeoutMs < 1) {
    throw new ValidationError('commandTimeoutMs must be a whole number of milliseconds, at least 1', [
      { path: '/commandTimeoutMs', message: 'expected an integer >= 1' },
    ]);
  }
  return { url: options.url, keyPrefix: options.keyPrefix ?? 'wallet:', commandTimeoutMs };
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

/** Replies that mean "not now" rather than "never". */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

/** One ioredis connection and a way to wait until it is ready. */
class Connection {
  lastError: unknown = null;
  private waiting: { promise: Promise<void>; resolve(): void; reject(error: unknown): void } | null = null;

  constructor(
    readonly client: RedisClient,
    report: ErrorReporter,
  ) {
    // Without an 'error' listener ioredis would print every reconnect failure.
    client.on('error', (error: unknown) => {
      this.lastError = error;
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

  async close(timeoutMs: number): Promise<void> {
    if (this.client.status === 'end') return;
    if (this.ready) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          this.client.quit(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('QUIT was not answered')), timeoutMs);
          }),
        ]);
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
 * The shared driver. Keys live under `<prefix>kv:`, locks under
 * `<prefix>lock:` with fence counters under `<prefix>fence:`; channels are
 * `<prefix><channel>`. Multi-step operations run as Lua scripts (EVALSHA with
 * an EVAL fallback, since a restarted server has an empty script cache).
 *
 * Failure behaviour: ioredis reconnects forever with a backoff capped at 1 s.
 * Commands are never queued inside ioredis; a command issued while
 * disconnected waits for the connection up to `commandTimeoutMs` and then
 * rejects with `UnavailableError`, and is never sent after its caller gave up.
 * Commands in flight when the connection drops reject at once and are not
 * resent (their effect is unknown, and resending INCR or GETDEL could apply
 * it twice). Subscriptions use a second connection, opened on first
 * `subscribe`, which resubscribes after a reconnect.
 */
export class RedisCache implements Cache {
  readonly driver = 'redis' as const;

  private readonly main: Connection;
  private subscriber: Connection | null = null;
  private readonly channels = new Map<string, Channel>();
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly report: ErrorReporter;
  private closed = false;

  constructor(Redis: RedisConstructor, settings: Settings, deps: CacheDeps = {}) {
    this.prefix = settings.keyPrefix;
    this.timeoutMs = settings.commandTimeoutMs;
    this.report = deps.onError ?? defaultReporter;
    const client = new Redis(settings.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      autoResubscribe: true,
      retryStrategy: reconnectDelay,
      connectTimeout: Math.max(settings.commandTimeoutMs, 1000),
      // How long disconnect() waits for a socket to close before destroying
      // it. ioredis also arms this timer for the dead socket of a failed
      // reconnect, where it only keeps the process alive (default 2 s).
      disconnectTimeout: 250,
    });
    this.main = new Connection(client, this.report);
  }

  async get(key: string): Promise<string | null> {
    return this.run((redis) => redis.get(this.key(key)));
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    return this.run((redis) => redis.mget(keys.map((key) => this.key(key))));
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<void> {
    const ttlMs = checkTtl(options.ttlMs);
    await this.run((redis) =>
      ttlMs === undefined ? redis.set(this.key(key), value) : redis.set(this.key(key), value, 'PX', ttlMs),
    );
  }

  async setIfAbsent(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    const ttlMs = checkTtl(options.ttlMs);
    const reply = await this.run((redis) =>
      ttlMs === undefined
        ? redis.set(this.key(key), value, 'NX')
        : redis.set(this.key(key), value, 'PX', ttlMs, 'NX'),
    );
    return reply === 'OK';
  }

  async delete(key: string): Promise<boolean> {
    return (await this.run((redis) => redis.del(this.key(key)))) > 0;
  }

  async take(key: string): Promise<string | null> {
    return this.run((redis) => redis.getdel(this.key(key)));
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
    const lockKey = `${this.prefix}lock:${name}`;
    const token = newLockToken();
    const fence = await this.script(ACQUIRE_LOCK, [lockKey, `${this.prefix}fence:${name}`], [token, ttlMs]);
    if (fence === null) return null;
    return new HeldLock(name, token, Number(fence), {
      extend: async (holder, extendMs) =>
        (await this.script(EXTEND_LOCK, [lockKey], [holder, extendMs])) === 1,
      release: async (holder) => (await this.script(RELEASE_LOCK, [lockKey], [holder])) === 1,
    });
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.run((redis) => redis.publish(this.prefix + channel, message));
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
    return this.run(async (redis) => {
      try {
        return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return await redis.eval(script.lua, keys.length, ...keys, ...args);
      }
    });
  }

  /**
   * Runs `command` once the connection is ready, within `commandTimeoutMs`
   * in total, and maps failures to domain errors.
   */
  private async run<T>(command: (redis: RedisClient) => Promise<T>, connection = this.main): Promise<T> {
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
      if (!connection.ready) await connection.whenReady();
      // Never send a command after its caller has been told it failed.
      if (timedOut) throw new UnavailableError('cache');
      return command(connection.client);
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

function toCacheError(error: unknown): WalletError {
  if (error instanceof WalletError) return error;
  if (error instanceof Error && error.name === 'ReplyError' && !TRANSIENT_REPLY.test(error.message)) {
    return rejectedCommand(error);
  }
  return new UnavailableError('cache', { cause: error });
}
