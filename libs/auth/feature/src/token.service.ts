import type { WalletConfig } from '@wallet/config';
import { randomToken, type KeyRing } from '@wallet/crypto';
import { NotFoundError, RefusalError, TENANT_ID_SOURCE, VersionConflictError, WalletError, type RefreshToken, type User } from '@wallet/domain';
import { Collections, type Repository, type Store } from '@wallet/persistence';
import { ACCESS_TOKEN_TYPE, AuditLog, type AccessTokenRevocations, type TenantDirectory } from '@wallet/platform';
import { createHash, randomUUID } from 'node:crypto';

export interface IssuedTokens {
  appToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  /** Seconds until the access token expires. */
  expiresIn: number;
}

/**
 * Why no token may be issued to a user now: their tenant is gone or disabled,
 * or they are gone or not active (an admin suspended or removed them).
 */
export type StandingRefusal = 'tenant' | 'user_gone' | 'user_suspended';

const REFRESH_TOKEN = new RegExp(`^rt1\\.(${TENANT_ID_SOURCE})\\.([A-Za-z0-9_-]{43})$`);

/** SHA-256 of a refresh token, base64url: its record id (the token itself is never stored). */
const hashToken = (token: string): string => createHash('sha256').update(token).digest('base64url');

/**
 * Access tokens (ES256 `at+jwt`, short-lived) and rotating refresh tokens.
 *
 * A refresh token is `rt1.<tenant>.<256 random bits>`, stored by its hash.
 * Every login starts a family (`sid` in the access tokens); using a refresh
 * token rotates it (the old one is marked `rotated`, a new one issued), and
 * presenting a rotated or revoked one again revokes the whole family and its
 * access tokens: one of the two holders is a thief, and we cannot tell which.
 *
 * Nothing is issued to a user who is not active or whose tenant is gone or
 * disabled, checked again at the moment of issuing (see `issue`), so a
 * suspension racing with a login or a refresh leaves no live token behind.
 */
export class TokenService {
  private readonly refresh: Repository<RefreshToken>;
  private readonly users: Repository<User>;

  constructor(
    store: Store,
    private readonly ring: KeyRing,
    private readonly revocations: AccessTokenRevocations,
    private readonly audit: AuditLog,
    private readonly config: WalletConfig,
    private readonly tenants: TenantDirectory,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.refresh = store.repository(Collections.refreshTokens);
    this.users = store.repository(Collections.users);
  }

  /**
   * Starts a session (a new refresh-token family) for a user who just proved a
   * passkey. Refuses when, by now, the user is suspended (403
   * `account_suspended`) or gone (401 `account_gone`), or the tenant is gone or
   * disabled (404, as the guard answers).
   */
  async startSession(tenantId: string, userId: string): Promise<IssuedTokens> {
    return this.issue(tenantId, userId, randomUUID(), (why) => {
      switch (why) {
        case 'tenant':
          return new NotFoundError(`tenant "${tenantId}"`);
        case 'user_gone':
          return new RefusalError('unauthorized', 'account_gone', 'the account no longer exists');
        case 'user_suspended':
          return new RefusalError('forbidden', 'account_suspended', 'this account is suspended');
      }
    });
  }

  /**
   * Rotates a refresh token. Refuses (401 `invalid_grant`) unknown, expired and
   * reused ones (reuse revokes the family), and any token of a user who is
   * suspended or gone or whose tenant is gone or disabled: those are refused
   * before the token is used up (it works again once the block is lifted, unless
   * a suspension revoked it) and once more when the new tokens are issued.
   */
  async rotate(token: string, requestTenant: string | null): Promise<IssuedTokens> {
    const invalid = () => new RefusalError('unauthorized', 'invalid_grant', 'the refresh token is invalid, expired or revoked');
    const tenantId = REFRESH_TOKEN.exec(token)?.[1];
    if (!tenantId) throw invalid();
    if (requestTenant !== null && requestTenant !== tenantId) {
      throw new RefusalError('forbidden', 'tenant_mismatch', 'the refresh token belongs to another tenant than the request names');
    }
    const record = await this.refresh.get(tenantId, hashToken(token));
    if (!record) throw invalid();
    if (record.status !== 'active') {
      await this.revokeFamily(tenantId, record.userId, record.familyId, 'refresh-token.reuse');
      throw invalid();
    }
    if (Date.parse(record.expiresAt) <= this.now().getTime()) throw invalid();
    if ((await this.standing(tenantId, record.userId)) !== null) throw invalid();
    try {
      const { tenantId: _t, version, createdAt: _c, updatedAt: _u, ...value } = record;
      await this.refresh.update(tenantId, record.id, { ...value, status: 'rotated' }, version);
    } catch (error) {
      // Two presentations of the same token at once: the second is a reuse.
      if (error instanceof VersionConflictError) {
        await this.revokeFamily(tenantId, record.userId, record.familyId, 'refresh-token.reuse');
        throw invalid();
      }
      throw error;
    }
    return this.issue(tenantId, record.userId, record.familyId, invalid);
  }

  /** Logout: revokes the access token presented and its session's refresh tokens. */
  async logout(principal: { tenantId: string; userId: string; jti: string; expiresAt: number; sid?: string }): Promise<void> {
    await this.revocations.revokeToken(principal.jti, principal.expiresAt);
    if (principal.sid) await this.revokeFamily(principal.tenantId, principal.userId, principal.sid, null);
  }

  /** Every refresh token and access token of a user (account deletion). */
  async revokeUser(tenantId: string, userId: string): Promise<void> {
    await this.revocations.revokeUser(tenantId, userId);
    await this.refresh.deleteMany(tenantId, { userId });
  }

  private async revokeFamily(tenantId: string, userId: string, familyId: string, auditAction: string | null): Promise<void> {
    let cursor: string | undefined;
    do {
      const page = await this.refresh.list(tenantId, { where: { familyId }, limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const item of page.items) {
        if (item.status === 'revoked') continue;
        const { tenantId: _t, version, createdAt: _c, updatedAt: _u, ...value } = item;
        await this.refresh.update(tenantId, item.id, { ...value, status: 'revoked' }, version).catch((error: unknown) => {
          if (!(error instanceof VersionConflictError)) throw error;
        });
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    await this.revocations.revokeSession(tenantId, familyId);
    if (auditAction) {
      await this.audit.record(tenantId, {
        actorType: 'system',
        actorId: null,
        action: auditAction,
        resourceType: 'session',
        resourceId: familyId,
        after: { userId, familyRevoked: true },
      });
    }
  }

  /**
   * Stores the new refresh token, then checks the user and the tenant again,
   * then signs the access token. The order closes the race with an admin's
   * suspension (ADR 0018), which stores the status and only then sweeps the
   * user's active refresh tokens and revokes their families (`sid`): either
   * this check reads the new status and nothing is handed out, or the refresh
   * token was stored before the sweep began, so the sweep revokes it and its
   * family, and with it the access token signed here.
   */
  private async issue(tenantId: string, userId: string, familyId: string, refuse: (why: StandingRefusal) => Error): Promise<IssuedTokens> {
    const auth = this.config.auth;
    const expiresIn = Math.floor(auth.accessTokenTtlMs / 1000);
    const refreshToken = `rt1.${tenantId}.${randomToken(32)}`;
    const id = hashToken(refreshToken);
    await this.refresh.create(tenantId, {
      id,
      userId,
      familyId,
      expiresAt: new Date(this.now().getTime() + auth.refreshTokenTtlMs).toISOString(),
      status: 'active',
    });
    let why: StandingRefusal | null;
    try {
      why = await this.standing(tenantId, userId);
    } catch (error) {
      await this.discard(tenantId, id);
      throw error;
    }
    if (why !== null) {
      await this.discard(tenantId, id);
      throw refuse(why);
    }
    const appToken = await this.ring.sign(
      { iss: auth.issuer, aud: auth.audience, sub: userId, tenant: tenantId, jti: randomUUID(), sid: familyId },
      { typ: ACCESS_TOKEN_TYPE, expiresInSeconds: expiresIn },
    );
    return { appToken, refreshToken, tokenType: 'Bearer', expiresIn };
  }

  /**
   * Whether the user may be given tokens now (null) or why not. The tenant
   * comes through the `TenantDirectory` (cached, evicted when admin changes
   * it), the user from the store. Any failure to read is a 503 `unavailable`:
   * no token, and never a 500.
   */
  private async standing(tenantId: string, userId: string): Promise<StandingRefusal | null> {
    try {
      const tenant = await this.tenants.find(tenantId);
      if (!tenant || !tenant.enabled) return 'tenant';
      const user = await this.users.get(tenantId, userId);
      if (!user) return 'user_gone';
      return user.status === 'active' ? null : 'user_suspended';
    } catch (error) {
      throw new WalletError('unavailable', 'the account could not be checked now; no token was issued; try again', { cause: error });
    }
  }

  /** Drops a refresh token that was stored but never handed out; best effort, since nobody holds it. */
  private async discard(tenantId: string, id: string): Promise<void> {
    await this.refresh.delete(tenantId, id).catch(() => undefined);
  }
}
