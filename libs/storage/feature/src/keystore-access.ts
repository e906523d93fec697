import { Inject, Injectable } from '@nestjs/common';
import { ValidationError, VersionConflictError, type User } from '@wallet/domain';
import { Collections, type Repository, type Store, type VaultOwner } from '@wallet/persistence';
import { WALLET_STORE } from '@wallet/platform';
import { createHash } from 'node:crypto';

/** What an archive carries of the account's keystore blob (opaque, client-encrypted). */
export interface ArchivedKeystore {
  /** base64url of the blob's bytes, as auth stores it. */
  privateData: string;
}

export type ImportedKeystore = 'restored' | 'kept' | 'absent';

const MAX_PRIVATE_DATA_CHARS = 1_048_576;

/**
 * The storage service's narrow access to the account's keystore blob
 * (`users.privateData`, owned by auth): read it for an export, and restore it
 * on import into an account that has none. The tag is auth's: base64url
 * SHA-256 of the bytes, so auth's `If-Match` checks keep working.
 */
@Injectable()
export class KeystoreAccess {
  private readonly users: Repository<User>;

  constructor(@Inject(WALLET_STORE) store: Store) {
    this.users = store.repository(Collections.users);
  }

  async read(owner: VaultOwner): Promise<ArchivedKeystore | null> {
    const user = await this.users.get(owner.tenantId, owner.userId);
    return user?.privateData ? { privateData: user.privateData } : null;
  }

  /** Validates an archive's keystore before anything is imported. */
  check(keystore: unknown): asserts keystore is ArchivedKeystore | null {
    if (keystore === null || keystore === undefined) return;
    const value = (keystore as { privateData?: unknown }).privateData;
    const keys = typeof keystore === 'object' ? Object.keys(keystore as object) : [];
    if (
      typeof value !== 'string' ||
      keys.length !== 1 ||
      value.length > MAX_PRIVATE_DATA_CHARS ||
      !/^[A-Za-z0-9_-]*$/.test(value)
    ) {
      throw new ValidationError('corrupted vault archive: the keystore must be {"privateData": "<base64url>"} or null', [
        { path: '/archive/line/1/keystore', message: 'malformed keystore' },
      ]);
    }
  }

  /** Stores the archived blob if the account has none; never overwrites one. */
  async restore(owner: VaultOwner, keystore: ArchivedKeystore | null): Promise<ImportedKeystore> {
    if (!keystore) return 'absent';
    for (let attempt = 0; attempt < 3; attempt++) {
      const user = await this.users.get(owner.tenantId, owner.userId);
      if (!user || user.privateData) return 'kept';
      const etag = createHash('sha256').update(Buffer.from(keystore.privateData, 'base64url')).digest('base64url');
      try {
        await this.users.update(owner.tenantId, owner.userId, { ...user, privateData: keystore.privateData, privateDataEtag: etag }, user.version);
        return 'restored';
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
      }
    }
    return 'kept';
  }
}
