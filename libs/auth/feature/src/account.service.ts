import { RefusalError, VersionConflictError, WalletError, type Passkey, type User } from '@wallet/domain';
import { Collections, eraseUserData, type Repository, type Store, type Stored } from '@wallet/persistence';
import type { AuditLog } from '@wallet/platform';
import { privateDataEtag, staleEtag } from './private-data';
import type { TokenService } from './token.service';

/** A keystore write: the new blob (null: leave it) and the tags the client based it on (null: no precondition sent). */
export interface PrivateDataWrite {
  bytes: Buffer | null;
  ifMatch: string[] | null;
}

export interface PasskeyView {
  id: string;
  credentialId: string;
  nickname: string | null;
  createTime: string;
  lastUseTime: string | null;
  prfCapable: boolean;
  transports: string[];
}

export function viewPasskey(passkey: Stored<Passkey>): PasskeyView {
  return {
    id: passkey.id,
    credentialId: passkey.id,
    nickname: passkey.name || null,
    createTime: passkey.createdAt,
    lastUseTime: passkey.lastUsedAt,
    prfCapable: passkey.prfCapable,
    transports: passkey.transports,
  };
}

type UserValue = User;
const valueOf = (user: Stored<User>): UserValue => {
  const { tenantId: _t, version: _v, createdAt: _c, updatedAt: _u, ...value } = user;
  return value;
};

/**
 * Accounts: the keystore blob with its ETag and atomic check-and-write,
 * passkey rename and removal, account info and deletion.
 *
 * Every change to a user's passkey set or keystore is a compare-and-set on
 * the user record's version, so such changes are serialized per user across
 * replicas: of two racing writers with the same tag exactly one wins.
 */
export class AccountService {
  readonly users: Repository<User>;
  readonly passkeys: Repository<Passkey>;

  constructor(
    private readonly store: Store,
    private readonly tokens: TokenService,
    private readonly audit: AuditLog,
  ) {
    this.users = store.repository(Collections.users);
    this.passkeys = store.repository(Collections.passkeys);
  }

  async requireUser(tenantId: string, userId: string): Promise<Stored<User>> {
    const user = await this.users.get(tenantId, userId);
    if (!user) throw new RefusalError('unauthorized', 'account_gone', 'the account no longer exists');
    return user;
  }

  async listPasskeys(tenantId: string, userId: string): Promise<Array<Stored<Passkey>>> {
    const page = await this.passkeys.list(tenantId, { where: { userId }, limit: 1000 });
    return page.items;
  }

  /**
   * Writes the keystore blob if the client's tag is current, in one
   * compare-and-set that may also carry another change to the user record
   * (`alsoChange`). Rules:
   * - same content as stored: nothing to do, success (a repeated write is idempotent);
   * - a blob is stored and no tag was sent: 428 `precondition_required`;
   * - the tag is not the current one: 412 `etag_mismatch` with the current tag;
   * - lost the compare-and-set to a concurrent writer: 412 the same way.
   * `requireWrite` makes the record change even when the blob stays (passkey add/remove
   * serialize on it).
   */
  async writePrivateData(
    tenantId: string,
    userId: string,
    write: PrivateDataWrite,
    options: { requireWrite?: boolean; check?: (user: Stored<User>) => Promise<void> } = {},
  ): Promise<Stored<User>> {
    const user = await this.requireUser(tenantId, userId);
    await options.check?.(user);
    let next = valueOf(user);
    if (write.bytes !== null) {
      const tag = privateDataEtag(write.bytes);
      if (tag === user.privateDataEtag && !options.requireWrite) return user;
      if (tag !== user.privateDataEtag) {
        if (user.privateDataEtag !== null) {
          if (write.ifMatch === null) {
            throw new RefusalError('precondition_failed', 'precondition_required', 'send the current keystore tag in If-Match or X-Private-Data-If-Match', {
              details: { currentEtag: user.privateDataEtag },
            });
          }
          if (!write.ifMatch.includes(user.privateDataEtag) && !write.ifMatch.includes('*')) throw staleEtag(user.privateDataEtag);
        }
        next = { ...next, privateData: write.bytes.toString('base64url'), privateDataEtag: tag };
      }
    } else if (write.ifMatch !== null && user.privateDataEtag !== null && !write.ifMatch.includes(user.privateDataEtag) && !write.ifMatch.includes('*')) {
      throw staleEtag(user.privateDataEtag);
    }
    try {
      return await this.users.update(tenantId, userId, next, user.version);
    } catch (error) {
      if (error instanceof VersionConflictError) {
        const current = await this.users.get(tenantId, userId);
        if (write.bytes !== null && current?.privateDataEtag === privateDataEtag(write.bytes) && !options.requireWrite) return current;
        throw staleEtag(current?.privateDataEtag ?? null);
      }
      throw error;
    }
  }

  async updatePrivateData(tenantId: string, userId: string, write: PrivateDataWrite, requestId: string | null): Promise<Stored<User>> {
    const before = await this.requireUser(tenantId, userId);
    const after = await this.writePrivateData(tenantId, userId, write);
    if (after.version !== before.version) {
      await this.audit.record(tenantId, {
        actorType: 'user',
        actorId: userId,
        action: 'user.private-data.update',
        resourceType: 'user',
        resourceId: userId,
        before: { privateDataEtag: before.privateDataEtag },
        after: { privateDataEtag: after.privateDataEtag },
        requestId,
      });
    }
    return after;
  }

  async renamePasskey(tenantId: string, userId: string, passkeyId: string, name: string, requestId: string | null): Promise<void> {
    const passkey = await this.ownedPasskey(tenantId, userId, passkeyId);
    const { tenantId: _t, version, createdAt: _c, updatedAt: _u, ...value } = passkey;
    await this.passkeys.update(tenantId, passkey.id, { ...value, name }, version);
    await this.audit.record(tenantId, {
      actorType: 'user',
      actorId: userId,
      action: 'passkey.rename',
      resourceType: 'passkey',
      resourceId: passkey.id,
      before: { name: passkey.name },
      after: { name },
      requestId,
    });
  }

  /**
   * Removes a passkey, with the re-wrapped keystore (if sent) in the same
   * compare-and-set on the user record. The last passkey cannot be removed (409).
   */
  async removePasskey(tenantId: string, userId: string, passkeyId: string, write: PrivateDataWrite, requestId: string | null): Promise<Stored<User>> {
    const passkey = await this.ownedPasskey(tenantId, userId, passkeyId);
    const user = await this.writePrivateData(tenantId, userId, write, {
      requireWrite: true,
      check: async () => {
        if ((await this.passkeys.count(tenantId, { userId })) <= 1) {
          throw new RefusalError('already_exists', 'last_passkey', 'the last passkey of an account cannot be removed');
        }
      },
    });
    await this.passkeys.delete(tenantId, passkey.id).catch((error: unknown) => {
      if (!(error instanceof WalletError && error.code === 'not_found')) throw error;
    });
    await this.audit.record(tenantId, {
      actorType: 'user',
      actorId: userId,
      action: 'passkey.remove',
      resourceType: 'passkey',
      resourceId: passkey.id,
      before: { name: passkey.name },
      requestId,
    });
    return user;
  }

  /**
   * Deletes the account and everything the user owns in this store (the one
   * list in `@wallet/persistence`, `eraseUserData`, which the admin API's user
   * removal runs too), the user record with the keystore last; revokes every token.
   */
  async deleteAccount(tenantId: string, userId: string, requestId: string | null): Promise<Record<string, number>> {
    const user = await this.requireUser(tenantId, userId);
    await this.tokens.revokeUser(tenantId, userId);
    const removed = await eraseUserData(this.store, tenantId, userId);
    await this.users.delete(tenantId, userId);
    await this.audit.record(tenantId, {
      actorType: 'user',
      actorId: userId,
      action: 'user.delete',
      resourceType: 'user',
      resourceId: userId,
      before: { displayName: user.displayName, handle: user.handle },
      after: { removed },
      requestId,
    });
    return removed;
  }

  private async ownedPasskey(tenantId: string, userId: string, passkeyId: string): Promise<Stored<Passkey>> {
    const passkey = await this.passkeys.get(tenantId, passkeyId);
    // Another user's passkey is answered exactly like a missing one.
    if (!passkey || passkey.userId !== userId) throw new RefusalError('not_found', 'passkey_not_found', 'no such passkey on this account');
    return passkey;
  }
}
