import type { RedisConnectionOptions } from './drivers/redis-topology';

/**
 * The shared cache: key/value with TTL, atomic take, compare-and-set, counters,
 * locks with expiry and fencing, and pub/sub. Drivers: `memory` (one process)
 * and `redis` (shared by replicas: one Redis, a Sentinel-managed master or a
 * Redis Cluster). One contract suite runs against every one of them.
 * Values are strings; use `getJson`/`setJson` helpers for objects.
 */
export interface SetOptions {
  /** Time to live in milliseconds; omitted means no expiry. */
  ttlMs?: number;
}

export interface Lock {
  readonly name: string;
  /** Random token that identifies this holder. */
  readonly token: string;
  /**
   * Monotonic fencing number: each successful acquisition of a name gets a
   * larger one, so a resource can refuse writes from a holder whose lock expired.
   */
  readonly fence: number;
  /** Extends the lock if this holder still owns it. */
  extend(ttlMs: number): Promise<boolean>;
  /** Releases the lock if this holder still owns it. */
  release(): Promise<boolean>;
}

export type Unsubscribe = () => Promise<void>;

export interface Cache {
  readonly driver: 'memory' | 'redis';
  get(key: string): Promise<string | null>;
  /** Several keys in one round trip (Redis MGET); each value or null, in the order asked. */
  getMany(keys: readonly string[]): Promise<Array<string | null>>;
  set(key: string, value: string, options?: SetOptions): Promise<void>;
  /** Sets only when the key does not exist; true when it was set. */
  setIfAbsent(key: string, value: string, options?: SetOptions): Promise<boolean>;
  /** True when a key was deleted. */
  delete(key: string): Promise<boolean>;
  /** Atomic get-and-delete: of several concurrent takers exactly one gets the value. */
  take(key: string): Promise<string | null>;
  /**
   * Atomically replaces the value if it equals `expected` (null: the key must
   * not exist). True when the value was replaced. Like `set`, the new value
   * gets `options.ttlMs`, and no expiry when it is omitted.
   */
  compareAndSet(key: string, expected: string | null, next: string, options?: SetOptions): Promise<boolean>;
  /** Atomically adds 1 and returns the new value; the TTL is set when the key is created. */
  increment(key: string, options?: SetOptions): Promise<number>;
  /** Tries once to take the named lock; null when someone else holds it. */
  acquireLock(name: string, ttlMs: number): Promise<Lock | null>;
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once the subscription is active. */
  subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe>;
  /** Resolves when the cache answers; rejects with `UnavailableError` otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type CacheOptions =
  | { type: 'memory' }
  | ({
      type: 'redis';
      /** Prepended to every key and channel (default `wallet:`). */
      keyPrefix?: string;
      /** How long a command may wait while disconnected before failing (default 2000 ms). */
      commandTimeoutMs?: number;
    } & RedisConnectionOptions);

export type CacheErrorSource = 'connection' | 'subscriber';

export interface CacheDeps {
  /** Injected clock for the memory driver's expiry (tests freeze it). */
  now?: () => number;
  /**
   * Receives errors that have no caller to reject: connection errors of the
   * redis driver (repeated on every reconnect attempt while Redis is down) and
   * errors thrown by subscription handlers. Default: connection errors are
   * ignored here (commands and `ping()` reject with `UnavailableError` carrying
   * the cause) and handler errors become process warnings.
   */
  onError?: (error: unknown, source: CacheErrorSource) => void;
}
