import { KeyRing, type KeyRecord, type KeyRecordStore, type SigningAlg } from '@wallet/crypto';
import { GLOBAL_SCOPE, NotFoundError, VersionConflictError, type ServiceKey } from '@wallet/domain';
import { Collections, type Repository, type Stored } from '@wallet/persistence';
import type { WalletConfig } from '@wallet/config';
import type { Store } from '@wallet/persistence';

/** Backs the key ring's storage port with the `serviceKeys` collection (global scope). */
export class StoredKeyRecords implements KeyRecordStore {
  private readonly keys: Repository<ServiceKey>;

  constructor(store: Store) {
    this.keys = store.repository(Collections.serviceKeys);
  }

  async list(purpose: string): Promise<KeyRecord[]> {
    const out: KeyRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.keys.list(GLOBAL_SCOPE, { where: { purpose }, limit: 1000, ...(cursor ? { cursor } : {}) });
      out.push(...page.items.map(toRecord));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return out;
  }

  async create(record: Omit<KeyRecord, 'createdAt' | 'version'>): Promise<void> {
    await this.keys.create(GLOBAL_SCOPE, { ...record, alg: record.alg });
  }

  async retire(record: KeyRecord, publishUntil: string): Promise<boolean> {
    const current = await this.keys.get(GLOBAL_SCOPE, record.id);
    if (!current) return false;
    try {
      const { tenantId: _t, version: _v, createdAt: _c, updatedAt: _u, ...value } = current;
      await this.keys.update(GLOBAL_SCOPE, record.id, { ...value, status: 'retired', publishUntil }, record.version);
      return true;
    } catch (error) {
      if (error instanceof VersionConflictError || error instanceof NotFoundError) return false;
      throw error;
    }
  }

  async remove(record: KeyRecord): Promise<void> {
    try {
      await this.keys.delete(GLOBAL_SCOPE, record.id, record.version);
    } catch (error) {
      // Another replica pruned or changed it first: nothing left to do.
      if (!(error instanceof VersionConflictError || error instanceof NotFoundError)) throw error;
    }
  }
}

function toRecord(stored: Stored<ServiceKey>): KeyRecord {
  return {
    id: stored.id,
    purpose: stored.purpose,
    alg: stored.alg,
    publicJwk: stored.publicJwk,
    privateJwk: stored.privateJwk,
    status: stored.status,
    publishUntil: stored.publishUntil,
    createdAt: stored.createdAt,
    version: stored.version,
  };
}

/** Decodes `crypto.keyEncryptionKey` (base64url of 32 bytes), or null when unset. */
export function keyEncryptionKey(config: WalletConfig): Uint8Array | null {
  const value = config.crypto.keyEncryptionKey;
  return value ? new Uint8Array(Buffer.from(value, 'base64url')) : null;
}

/** A loaded key ring for one purpose (`auth-access-token`, `verifier-id-token`, ...). */
export async function openServiceKeyRing(
  store: Store,
  config: WalletConfig,
  purpose: string,
  now?: () => Date,
  alg: SigningAlg = config.crypto.signingAlg,
): Promise<KeyRing> {
  const ring = new KeyRing(new StoredKeyRecords(store), {
    purpose,
    alg,
    rotationIntervalMs: config.crypto.keyRotationIntervalMs,
    maxTokenLifetimeMs: config.crypto.maxTokenLifetimeMs,
    keyEncryptionKey: keyEncryptionKey(config),
    ...(now ? { now } : {}),
  });
  await ring.refresh();
  return ring;
}
