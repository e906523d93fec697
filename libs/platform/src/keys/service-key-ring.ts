import { defaultKeyRefreshIntervalMs, KeyRing, type KeyRingStore, type RingKey, type RingState, type SigningAlg } from '@wallet/crypto';
import { GLOBAL_SCOPE, NotFoundError, UniqueViolationError, VersionConflictError, type ServiceKeyRing } from '@wallet/domain';
import { Collections, type Repository } from '@wallet/persistence';
import type { WalletConfig } from '@wallet/config';
import type { Store } from '@wallet/persistence';

/**
 * Backs the key ring's storage port with the `keyRings` collection (global
 * scope, one record per purpose): creating a ring is a create that only one
 * replica wins, every change a compare-and-set on the record's version.
 * Keys of the older layout (`serviceKeys`, one record per key) are carried
 * over when a purpose's ring is first created, and removed once the ring has
 * dropped them.
 */
export class StoredKeyRings implements KeyRingStore {
  private readonly rings: Repository<ServiceKeyRing>;

  constructor(private readonly store: Store) {
    this.rings = store.repository(Collections.keyRings);
  }

  async read(purpose: string): Promise<RingState | null> {
    const stored = await this.rings.get(GLOBAL_SCOPE, purpose);
    return stored ? { keys: stored.keys, version: stored.version } : null;
  }

  async create(purpose: string, keys: RingKey[]): Promise<boolean> {
    try {
      await this.rings.create(GLOBAL_SCOPE, { id: purpose, keys });
      return true;
    } catch (error) {
      if (error instanceof UniqueViolationError) return false;
      throw error;
    }
  }

  async replace(purpose: string, keys: RingKey[], expectedVersion: number): Promise<boolean> {
    try {
      await this.rings.update(GLOBAL_SCOPE, purpose, { id: purpose, keys }, expectedVersion);
      return true;
    } catch (error) {
      if (error instanceof VersionConflictError || error instanceof NotFoundError) return false;
      throw error;
    }
  }

  /**
   * The purpose's keys in the per-key layout: the newest active one keeps
   * signing (replicas not yet upgraded sign with it too), other active ones
   * are treated as superseded now, retired ones keep their publication window.
   */
  async legacyKeys(purpose: string, now: Date): Promise<RingKey[]> {
    const records = [];
    const repository = this.store.repository(Collections.serviceKeys);
    let cursor: string | undefined;
    do {
      const page = await repository.list(GLOBAL_SCOPE, { where: { purpose }, limit: 1000, ...(cursor ? { cursor } : {}) });
      records.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const nowMs = now.getTime();
    const live = records.filter((r) => r.status === 'active' || (r.publishUntil !== null && Date.parse(r.publishUntil) > nowMs));
    const newestActive = live
      .filter((r) => r.status === 'active')
      .sort((a, b) => (a.createdAt === b.createdAt ? b.id.localeCompare(a.id) : a.createdAt < b.createdAt ? 1 : -1))[0];
    return live.map((r) => ({
      kid: r.id,
      alg: r.alg,
      publicJwk: r.publicJwk,
      privateJwk: r.privateJwk,
      publishedAt: r.createdAt,
      activeFrom: r.createdAt,
      publishUntil: r === newestActive ? null : (r.publishUntil ?? now.toISOString()),
    }));
  }

  async discarded(_purpose: string, kids: string[]): Promise<void> {
    const repository = this.store.repository(Collections.serviceKeys);
    for (const kid of kids) {
      try {
        await repository.delete(GLOBAL_SCOPE, kid);
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
    }
  }
}

/** Decodes `crypto.keyEncryptionKey` (base64url of 32 bytes), or null when unset. */
export function keyEncryptionKey(config: WalletConfig): Uint8Array | null {
  const value = config.crypto.keyEncryptionKey;
  return value ? new Uint8Array(Buffer.from(value, 'base64url')) : null;
}

/** How often replicas re-read a ring, and how long a new key is published before it signs. */
export interface KeyRingTimings {
  refreshIntervalMs: number;
  prePublishMs: number;
}

/**
 * `Cache-Control: max-age` of the JWKS endpoints: an HTTP cache (a proxy, a
 * relying party's client) may serve a JWKS this old, so a new key is published
 * at least this long before it signs (where the rotation interval allows).
 */
export const JWKS_MAX_AGE_SECONDS = 300;

/**
 * The timings for `crypto.keyRotationIntervalMs`: re-read every tenth of it
 * (1 s to 1 h); publish a new key twice that long before it signs, and at
 * least a JWKS cache lifetime plus one refresh, but at most half the rotation
 * interval (never less than two refreshes).
 */
export function keyRingTimings(config: WalletConfig): KeyRingTimings {
  const rotation = config.crypto.keyRotationIntervalMs;
  const refreshIntervalMs = defaultKeyRefreshIntervalMs(rotation);
  const wanted = Math.max(2 * refreshIntervalMs, JWKS_MAX_AGE_SECONDS * 1000 + refreshIntervalMs);
  return { refreshIntervalMs, prePublishMs: Math.max(2 * refreshIntervalMs, Math.min(wanted, Math.floor(rotation / 2))) };
}

/**
 * A loaded key ring for one purpose (`auth-access-token`, `verifier-token`,
 * ...). Not refreshing yet: `start()` it (ServiceKeysModule does).
 */
export async function openServiceKeyRing(
  store: Store,
  config: WalletConfig,
  purpose: string,
  now?: () => Date,
  alg: SigningAlg = config.crypto.signingAlg,
  timings: KeyRingTimings = keyRingTimings(config),
  onRefreshError?: (error: unknown) => void,
): Promise<KeyRing> {
  const ring = new KeyRing(new StoredKeyRings(store), {
    purpose,
    alg,
    rotationIntervalMs: config.crypto.keyRotationIntervalMs,
    maxTokenLifetimeMs: config.crypto.maxTokenLifetimeMs,
    keyEncryptionKey: keyEncryptionKey(config),
    ...timings,
    ...(onRefreshError ? { onRefreshError } : {}),
    ...(now ? { now } : {}),
  });
  await ring.refresh();
  return ring;
}
