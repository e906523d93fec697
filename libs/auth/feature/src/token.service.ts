import type { WalletConfig } from '@wallet/config';
import { randomToken, type KeyRing } from '@wallet/crypto';
import { RefusalError, TENANT_ID_SOURCE, VersionConflictError, type RefreshToken } from '@wallet/domain';
import { Collections, type Repository, type Store } from '@wallet/persistence';
import { ACCESS_TOKEN_TYPE, AuditLog, type AccessTokenRevocations } from '@wallet/platform';
import { createHash, randomUUID } from 'node:crypto';

export interface IssuedTokens {
  appToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  /** Seconds until the access token expires. */
  expiresIn: number;
}

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
 */
export class TokenService {
  private readonly refresh: Repository<RefreshToken>;

  constructor(
    store: Store,
    private readonly ring: KeyRing,
    private readonly revocations: AccessTokenRevocations,
    private readonly audit: AuditLog,
    private readonly config: WalletConfig,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.refresh = store.repository(Collections.refreshTokens);
  }

  /** Starts a session (a new refresh-token family) for a user who just proved a passkey. */
  async startSession(tenantId: string, userId: string): Promise<IssuedTokens> {
    return this.issue(tenantId, userId, randomUUID());
  }

  /** Rotates a refresh token. Refuses (401) unknown, expired and reused ones; reuse revokes the family. */
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
    return this.issue(tenantId, record.userId, record.familyId);
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

  private async issue(tenantId: string, userId: string, familyId: string): Promise<IssuedTokens> {
    const auth = this.config.auth;
    const expiresIn = Math.floor(auth.accessTokenTtlMs / 1000);
    const appToken = await this.ring.sign(
      { iss: auth.issuer, aud: auth.audience, sub: userId, tenant: tenantId, jti: randomUUID(), sid: familyId },
      { typ: ACCESS_TOKEN_TYPE, expiresInSeconds: expiresIn },
    );
    const refreshToken = `rt1.${tenantId}.${randomToken(32)}`;
    await this.refresh.create(tenantId, {
      id: hashToken(refreshToken),
      userId,
      familyId,
      expiresAt: new Date(this.now().getTime() + auth.refreshTokenTtlMs).toISOString(),
      status: 'active',
    });
    return { appToken, refreshToken, tokenType: 'Bearer', expiresIn };
  }
}
