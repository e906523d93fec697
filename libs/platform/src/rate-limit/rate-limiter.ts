import type { Cache } from '@wallet/cache';

export interface RateLimitRule {
  /** Requests allowed per window. */
  limit: number;
  windowMs: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Requests left in the current window (0 when refused). */
  remaining: number;
  /** Milliseconds until the current window ends. */
  resetMs: number;
}

/**
 * Fixed-window counters in the shared cache, so every replica counts against
 * the same budget: one atomic increment per request, the key expiring with
 * its window. A burst of up to twice the limit can straddle a window edge;
 * that is the price of one cache round trip per request.
 */
export class RateLimiter {
  constructor(
    private readonly cache: Cache,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request of `subject` in `bucket` and says whether it is within the rule. */
  async hit(bucket: string, subject: string, rule: RateLimitRule): Promise<RateLimitDecision> {
    const now = this.now();
    const window = Math.floor(now / rule.windowMs);
    const resetMs = (window + 1) * rule.windowMs - now;
    const count = await this.cache.increment(`rl:${bucket}:${window}:${subject}`, { ttlMs: resetMs + 1000 });
    return { allowed: count <= rule.limit, remaining: Math.max(0, rule.limit - count), resetMs };
  }
}
