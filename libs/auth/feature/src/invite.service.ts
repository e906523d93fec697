import { RefusalError, VersionConflictError, type Invite } from '@wallet/domain';
import { Collections, type Repository, type Store, type Stored } from '@wallet/persistence';
import { createHash } from 'node:crypto';

/** How invite codes are stored: SHA-256, base64url (the code itself never is). */
export const hashInviteCode = (code: string): string => createHash('sha256').update(code, 'utf8').digest('base64url');

const required = () => new RefusalError('forbidden', 'invite_required', 'this tenant requires an invite code to register');
const invalid = () => new RefusalError('forbidden', 'invite_invalid', 'the invite code is unknown, expired, revoked or used up');

/**
 * Invite codes of tenants with `requireInvite`. A use is consumed with a
 * compare-and-set on the invite's version, so two registrations racing for
 * the last use of a code cannot both get it.
 */
export class InviteService {
  private readonly invites: Repository<Invite>;

  constructor(
    store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.invites = store.repository(Collections.invites);
  }

  /** Cheap check before the ceremony is verified: a code is present and currently usable. */
  async check(tenantId: string, code: unknown): Promise<void> {
    this.usable(await this.find(tenantId, code));
  }

  /** Consumes one use atomically; refuses with 403 `invite_invalid` when none is left. */
  async consume(tenantId: string, code: unknown): Promise<Stored<Invite>> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const invite = this.usable(await this.find(tenantId, code));
      const { tenantId: _t, version, createdAt: _c, updatedAt: _u, ...value } = invite;
      try {
        return await this.invites.update(tenantId, invite.id, { ...value, uses: invite.uses + 1 }, version);
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
      }
    }
    throw invalid();
  }

  private async find(tenantId: string, code: unknown): Promise<Stored<Invite> | null> {
    if (code === undefined || code === null || code === '') throw required();
    if (typeof code !== 'string' || code.length > 256) throw invalid();
    return this.invites.findOne(tenantId, { codeHash: hashInviteCode(code) });
  }

  private usable(invite: Stored<Invite> | null): Stored<Invite> {
    if (!invite || invite.revoked || invite.uses >= invite.maxUses) throw invalid();
    if (invite.expiresAt !== null && Date.parse(invite.expiresAt) <= this.now().getTime()) throw invalid();
    return invite;
  }
}
