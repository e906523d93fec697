import { SetMetadata } from '@nestjs/common';
import type { WalletConfig } from '@wallet/config';
import type { RateLimitRule } from './rate-limiter';

export const RATE_LIMIT = 'wallet:rate-limit';

export interface RateLimitOptions {
  /** Routes sharing a bucket share one budget (e.g. `auth-ceremony`). */
  bucket: string;
  /** A fixed rule, or one read from the configuration. */
  rule: RateLimitRule | ((config: WalletConfig) => RateLimitRule);
  /**
   * Whom to count: `ip` (the client address; behind a proxy set
   * `server.trustProxy`) or `principal` (the authenticated user, falling back
   * to the address on public routes). Default `ip`.
   */
  by?: 'ip' | 'principal';
}

/** Limits how often a route may be called, across every replica (429 with `Retry-After` past the limit). */
export function RateLimit(options: RateLimitOptions): MethodDecorator & ClassDecorator {
  return SetMetadata(RATE_LIMIT, options);
}
