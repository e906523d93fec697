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

interface Entry {
  value: string;
  /** Epoch ms; null: no expiry. */
  expiresAt: number | null;
}

interface Subscription {
  handler: (message: string) => void;
}

export interface MemoryCacheOptions {
  /** How often expired entries are swept without being read (default 10 s). */
  sweepIntervalMs?: number;
}

const INTEGER = /^-?\d+$/;

/**
 * The in-process driver: state lives in this instance only, so it suits one
 * process (development, tests, the all-in-one app). Every operation runs
 * synchronously inside one call, which makes it atomic within the process.
 * Expiry uses the injected clock, checked on every access, and a periodic
 * (unref'd) sweep frees expired entries nobody reads again.
 */
export class MemoryCache implements Cache {
  readonly driver = 'memory' as const;

  private readonly entries = new Map<string, Entry>();
  private readonly locks = new Map<string, { token: string; expiresAt: number }>();
  /** Last fence handed out per lock name; kept for the life of the instance. */
  private readonly fences = new Map<string, number>();
  private readonly channels = new Map<string, Set<Subscription>>();
  private readonly now: () => number;
  private readonly report: ErrorReporter;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(deps: CacheDeps = {}, options: MemoryCacheOptions = {}) {
    this.now = deps.now ?? Date.now;
    this.report = deps.onError ?? defaultReporter;
    this.sweeper = setInterval(() => this.sweepExpired(), options.sweepIntervalMs ?? 10_000);
    this.sweeper.unref();
  }

  /** Removes every expired entry and lock; returns how many entries went. */
  sweepExpired(): number {
    const now = this.now();
    let removed = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt !== null && entry.expiresAt <= now) {
        this.entries.delete(key);
        removed += 1;
      }
    }
    for (const [name, lock] of this.locks) {
      if (lock.expiresAt <= now) this.locks.delete(name);
    }
    return removed;
  }

  /** Number of stored entries, expired ones not yet swept included. */
  get size(): number {
    return this.entries.size;
  }

  async get(key: string): Promise<string | null> {
    this.assertOpen();
    return this.live(key)?.value ?? null;
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    this.assertOpen();
    return keys.map((key) => this.live(key)?.value ?? null);
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<void> {
    this.assertOpen();
    this.write(key, value, checkTtl(options.ttlMs));
  }

  async setIfAbsent(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    this.assertOpen();
    const ttlMs = checkTtl(options.ttlMs);
    if (this.live(key)) return false;
    this.write(key, value, ttlMs);
    return true;
  }

  async delete(key: string): Promise<boolean> {
    this.assertOpen();
    return this.live(key) !== undefined && this.entries.delete(key);
  }

  async take(key: string): Promise<string | null> {
    this.assertOpen();
    const entry = this.live(key);
    if (!entry) return null;
    this.entries.delete(key);
    return entry.value;
  }

  async compareAndSet(
    key: string,
    expected: string | null,
    next: string,
    options: SetOptions = {},
  ): Promise<boolean> {
    this.assertOpen();
    const ttlMs = checkTtl(options.ttlMs);
    const current = this.live(key)?.value ?? null;
    if (current !== expected) return false;
    this.write(key, next, ttlMs);
    return true;
  }

  async increment(key: string, options: SetOptions = {}): Promise<number> {
    this.assertOpen();
    const ttlMs = checkTtl(options.ttlMs);
    const entry = this.live(key);
    if (!entry) {
      this.write(key, '1', ttlMs);
      return 1;
    }
    const current = INTEGER.test(entry.value) ? Number(entry.value) : NaN;
    if (!Number.isSafeInteger(current) || !Number.isSafeInteger(current + 1)) {
      throw rejectedCommand(new Error('value is not an integer or out of range'));
    }
    entry.value = String(current + 1);
    return current + 1;
  }

  async acquireLock(name: string, ttlMs: number): Promise<Lock | null> {
    this.assertOpen();
    checkTtl(ttlMs);
    const now = this.now();
    const held = this.locks.get(name);
    if (held && held.expiresAt > now) return null;
    const token = newLockToken();
    const fence = (this.fences.get(name) ?? 0) + 1;
    this.fences.set(name, fence);
    this.locks.set(name, { token, expiresAt: now + ttlMs });
    return new HeldLock(name, token, fence, {
      extend: async (holder, extendMs) => {
        this.assertOpen();
        const lock = this.heldBy(name, holder);
        if (!lock) return false;
        lock.expiresAt = this.now() + extendMs;
        return true;
      },
      release: async (holder) => {
        this.assertOpen();
        return this.heldBy(name, holder) !== undefined && this.locks.delete(name);
      },
    });
  }

  async publish(channel: string, message: string): Promise<void> {
    this.assertOpen();
    const subscriptions = this.channels.get(channel);
    if (!subscriptions?.size) return;
    // Delivered later, as Redis would: handlers never run inside publish().
    const targets = [...subscriptions];
    setImmediate(() => {
      for (const target of targets) {
        if (!this.closed && subscriptions.has(target)) invokeHandler(target.handler, message, this.report);
      }
    });
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe> {
    this.assertOpen();
    const subscription: Subscription = { handler };
    let subscriptions = this.channels.get(channel);
    if (!subscriptions) {
      subscriptions = new Set();
      this.channels.set(channel, subscriptions);
    }
    subscriptions.add(subscription);
    return async () => {
      const current = this.channels.get(channel);
      if (!current) return;
      current.delete(subscription);
      if (current.size === 0) this.channels.delete(channel);
    };
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.entries.clear();
    this.locks.clear();
    this.channels.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }

  /** The entry when present and not expired; an expired one is dropped. */
  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== null && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private write(key: string, value: string, ttlMs: number | undefined): void {
    this.entries.set(key, { value, expiresAt: ttlMs === undefined ? null : this.now() + ttlMs });
  }

  private heldBy(name: string, token: string): { token: string; expiresAt: number } | undefined {
    const lock = this.locks.get(name);
    if (!lock || lock.token !== token || lock.expiresAt <= this.now()) return undefined;
    return lock;
  }
}
