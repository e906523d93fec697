import { Inject, Injectable } from '@nestjs/common';
import { WalletError } from '@wallet/domain';
import { Collections, type Store } from '@wallet/persistence';
import { AccessTokenRevocations, WALLET_STORE } from '@wallet/platform';
import { stripMeta } from '../admin-records';

/**
 * How many times the refresh-token sweep lists the user's active tokens
 * again. A refresh racing with the sweep turns the token it rotates into a new
 * active one, which the next pass finds; each such race needs a refresh that
 * won a compare-and-set against the sweep, so a few passes are plenty.
 */
const MAX_SWEEPS = 5;

/**
 * Cutting a user off, for suspension and removal: their access tokens in the
 * shared revocation list (`AccessTokenRevocations`, checked by every service
 * on every request and engine handshake), and their refresh-token families
 * (sessions) in the store and in that list. See ADR 0018 for the order of the
 * steps around the user record's change.
 *
 * A revocation that cannot be written (the cache is down) is a 503
 * `unavailable` saying what was and was not done, never a success and never a
 * 500: the caller repeats the request, and every step here may run again.
 */
@Injectable()
export class UserSessions {
  constructor(
    @Inject(WALLET_STORE) private readonly store: Store,
    private readonly revocations: AccessTokenRevocations,
  ) {}

  /** Every access token of the user issued until now (user-wide `iat` cut-off). */
  async revokeAccessTokens(tenant: string, userId: string, ifFailed: string): Promise<void> {
    await this.revoking(ifFailed, () => this.revocations.revokeUser(tenant, userId));
  }

  /**
   * Ends every session of the user: each active refresh token is marked
   * `revoked` (compare-and-set; a lost race is swept again), then the family
   * of every revoked one (these, and any revoked before) is revoked in the
   * list, so an access token a racing refresh issued after the user-wide
   * cut-off is refused too; then the user-wide cut-off is moved to now.
   */
  async endSessions(tenant: string, userId: string, ifFailed: string): Promise<void> {
    const tokens = this.store.repository(Collections.refreshTokens);
    const families = new Set<string>();
    for (let sweep = 1; ; sweep++) {
      let active = 0;
      let cursor: string | undefined;
      do {
        const page = await tokens.list(tenant, { where: { userId, status: 'active' }, limit: 500, ...(cursor ? { cursor } : {}) });
        for (const token of page.items) {
          active += 1;
          families.add(token.familyId);
          await tokens.update(tenant, token.id, { ...stripMeta(token), status: 'revoked' }, token.version).catch((error: unknown) => {
            // Rotated or deleted meanwhile: the next sweep finds what took its place.
            if (!(error instanceof WalletError && (error.code === 'version_conflict' || error.code === 'not_found'))) throw error;
          });
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      if (active === 0) break;
      if (sweep === MAX_SWEEPS) {
        throw new WalletError('unavailable', `the user's refresh tokens kept changing while they were revoked; ${ifFailed}`);
      }
    }
    // Families already revoked in the store are revoked in the list again: a repeat after an attempt
    // that marked the tokens but could not write the list must not skip them.
    let cursor: string | undefined;
    do {
      const page = await tokens.list(tenant, { where: { userId, status: 'revoked' }, limit: 500, ...(cursor ? { cursor } : {}) });
      for (const token of page.items) families.add(token.familyId);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    await this.revoking(ifFailed, async () => {
      for (const family of families) await this.revocations.revokeSession(tenant, family);
      await this.revocations.revokeUser(tenant, userId);
    });
  }

  private async revoking(ifFailed: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      // Whatever the cache threw (unavailable, timeout, a driver error): the tokens are not revoked, so no success and no 500.
      throw new WalletError('unavailable', `the user's access tokens could not be revoked (the shared cache did not answer); ${ifFailed}`, { cause: error });
    }
  }
}
