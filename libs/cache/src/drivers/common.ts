import { randomBytes } from 'node:crypto';
import { UnavailableError, ValidationError, WalletError } from '@wallet/domain';
import type { CacheErrorSource } from '../ports';

/** Both drivers accept the same TTLs: whole milliseconds, at least 1 (Redis rejects `PX 0`). */
export function checkTtl(ttlMs: number | undefined, field = 'ttlMs'): number | undefined {
  if (ttlMs === undefined) return undefined;
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) {
    throw new ValidationError(`${field} must be a whole number of milliseconds, at least 1`, [
      { path: `/${field}`, message: 'expected an integer >= 1' },
    ]);
  }
  return ttlMs;
}

/** 128 random bits identifying one lock holder. */
export function newLockToken(): string {
  return randomBytes(16).toString('base64url');
}

export function closedError(): UnavailableError {
  return new UnavailableError('cache', { details: { reason: 'closed' } });
}

/** The store refused a command, e.g. `increment` on a value that is not an integer. */
export function rejectedCommand(cause: unknown): WalletError {
  return new WalletError('internal', 'the cache rejected the command', { cause });
}

export interface LockOps {
  extend(token: string, ttlMs: number): Promise<boolean>;
  release(token: string): Promise<boolean>;
}

export class HeldLock {
  constructor(
    readonly name: string,
    readonly token: string,
    readonly fence: number,
    private readonly ops: LockOps,
  ) {}

  async extend(ttlMs: number): Promise<boolean> {
    return this.ops.extend(this.token, checkTtl(ttlMs) as number);
  }

  async release(): Promise<boolean> {
    return this.ops.release(this.token);
  }
}

export type ErrorReporter = (error: unknown, source: CacheErrorSource) => void;

/**
 * Without a reporter, connection errors are left to surface as `UnavailableError`
 * from commands and `ping()` (they repeat on every reconnect attempt), and
 * errors thrown by subscription handlers become process warnings.
 */
export function defaultReporter(error: unknown, source: CacheErrorSource): void {
  if (source === 'subscriber') {
    process.emitWarning(error instanceof Error ? error : String(error), { code: 'WALLET_CACHE_SUBSCRIBER' });
  }
}

/** Calls a subscription handler so that neither a throw nor a rejection escapes. */
export function invokeHandler(
  handler: (message: string) => void,
  message: string,
  report: ErrorReporter,
): void {
  try {
    const result: unknown = handler(message);
    if (result instanceof Promise) result.catch((error: unknown) => report(error, 'subscriber'));
  } catch (error) {
    report(error, 'subscriber');
  }
}
