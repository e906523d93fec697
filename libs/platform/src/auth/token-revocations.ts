import type { Cache } from '@wallet/cache';

const JTI_PREFIX = 'auth:revoked:jti:';
const USER_PREFIX = 'auth:revoked:user:';
const SESSION_PREFIX = 'auth:revoked:sid:';

export interface RevocationOptions {
  /** Longest access-token lifetime: a user-wide revocation must outlive every token it covers. */
  maxTokenLifetimeMs: number;
  now?: () => number;
}

/**
 * The access-token revocation list, in the shared cache so every replica sees
 * it: single tokens by `jti` (kept until the token would have expired),
 * every token of a user issued up to a moment (account deletion, and an
 * admin's suspension or removal of the user), and every token of a session
 * (logout, refresh-token reuse).
 *
 * `iat` has one-second granularity, so a user-wide revocation also covers
 * tokens issued later within the same second.
 */
export class AccessTokenRevocations {
  private readonly now: () => number;

  constructor(
    private readonly cache: Cache,
    private readonly options: RevocationOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Revokes one token until its expiry (`exp`, seconds since the epoch). */
  async revokeToken(jti: string, exp: number): Promise<void> {
    const ttlMs = exp * 1000 - this.now() + 1000;
    if (ttlMs <= 0) return;
    await this.cache.set(`${JTI_PREFIX}${jti}`, '1', { ttlMs });
  }

  /** Revokes every token of the user issued until now. */
  async revokeUser(tenantId: string, userId: string): Promise<void> {
    const cutoff = Math.floor(this.now() / 1000) + 1;
    await this.cache.set(`${USER_PREFIX}${tenantId}:${userId}`, String(cutoff), {
      ttlMs: this.options.maxTokenLifetimeMs + 1000,
    });
  }

  /** Revokes every access token of one session (refresh-token family, the tokens' `sid`). */
  async revokeSession(tenantId: string, sid: string): Promise<void> {
    await this.cache.set(`${SESSION_PREFIX}${tenantId}:${sid}`, '1', { ttlMs: this.options.maxTokenLifetimeMs + 1000 });
  }

  async isRevoked(token: { jti: string; tenantId: string; userId: string; iat: number; sid?: string }): Promise<boolean> {
    // One round trip for the three lists.
    const keys = [`${JTI_PREFIX}${token.jti}`, `${USER_PREFIX}${token.tenantId}:${token.userId}`];
    if (token.sid) keys.push(`${SESSION_PREFIX}${token.tenantId}:${token.sid}`);
    const [byJti = null, userCutoff = null, bySession = null] = await this.cache.getMany(keys);
    if (byJti !== null || bySession !== null) return true;
    return userCutoff !== null && token.iat < Number(userCutoff);
  }
}
