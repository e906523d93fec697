import type { JSONWebKeySet, JWK, JWTPayload } from 'jose';
import { signJwt } from './jwt';
import {
  generateSigningKey,
  importPrivateKey,
  publicPart,
  unwrapPrivateJwk,
  wrapPrivateJwk,
  type CryptoKey,
  type SigningAlg,
} from './signing-keys';

/** One key of a ring, as the store holds it. Times are ISO 8601. */
export interface RingKey {
  kid: string;
  alg: SigningAlg;
  publicJwk: Record<string, unknown>;
  /** Wrapped with the key encryption key (unless none is configured). */
  privateJwk: Record<string, unknown>;
  /** When the key entered the ring (every replica publishes it from its next read on). */
  publishedAt: string;
  /** When it starts signing. */
  activeFrom: string;
  /** Set when a successor is added: it leaves the JWKS and the ring then. */
  publishUntil: string | null;
}

/** A ring as read, with the version its compare-and-set is based on. */
export interface RingState {
  keys: RingKey[];
  version: number;
}

/**
 * The storage port of a key ring (the platform backs it with the store). All
 * of a purpose's keys are one record, so every change is one compare-and-set.
 */
export interface KeyRingStore {
  read(purpose: string): Promise<RingState | null>;
  /** Creates the ring; resolves false when it exists already (another replica created it first). */
  create(purpose: string, keys: RingKey[]): Promise<boolean>;
  /** Replaces the keys if the ring is still at `expectedVersion`; resolves false otherwise. */
  replace(purpose: string, keys: RingKey[], expectedVersion: number): Promise<boolean>;
  /** Keys kept in an older layout, carried into the ring when it is created. */
  legacyKeys?(purpose: string, now: Date): Promise<RingKey[]>;
  /** Told which keys left the ring (after their publication ended), to remove any older copies. */
  discarded?(purpose: string, kids: string[]): Promise<void>;
}

export interface KeyRingOptions {
  purpose: string;
  /** The algorithm of keys this ring creates (existing keys keep theirs). */
  alg: SigningAlg;
  /** A key signs for this long; its successor is published `prePublishMs` before that. */
  rotationIntervalMs: number;
  /** Longest lifetime of anything signed: a superseded key stays published this long (plus `prePublishMs`). */
  maxTokenLifetimeMs: number;
  /** 32-byte key that encrypts private keys at rest; null stores them in the clear (development only). */
  keyEncryptionKey: Uint8Array | null;
  /** How often `start()` re-reads the ring (default: a tenth of the rotation interval, 1 s to 1 h). */
  refreshIntervalMs?: number;
  /**
   * How long a new key is published before any replica signs with it (default
   * twice `refreshIntervalMs`). Must exceed the refresh interval plus the
   * clock difference between replicas: every replica has read the key by then.
   */
  prePublishMs?: number;
  /** Least time between two re-reads for unknown key ids (default: 1 s, or the refresh interval if shorter). */
  missReloadIntervalMs?: number;
  /** Told about a failed periodic refresh (the ring keeps its last view). Gets the error, never key material. */
  onRefreshError?: (error: unknown) => void;
  now?: () => Date;
}

/** Compare-and-set attempts before an update gives up (each lost attempt means another replica changed the ring). */
const MAX_ATTEMPTS = 10;

/**
 * A ring holds at most this many keys (what a JWKS consumer accepts): with a
 * rotation interval far below the token lifetime, rotation waits until
 * superseded keys have left.
 */
export const MAX_RING_KEYS = 100;

/** Default refresh interval for a rotation interval: a tenth of it, within 1 s and 1 h. */
export function defaultKeyRefreshIntervalMs(rotationIntervalMs: number): number {
  return Math.min(3_600_000, Math.max(1000, Math.floor(rotationIntervalMs / 10)));
}

/**
 * The keys of a ring to publish at `now`: every key not past its
 * `publishUntil`, newest first. Public members only.
 */
export function publishedRingKeys(keys: readonly RingKey[], now: Date): JWK[] {
  const nowMs = now.getTime();
  return keys
    .filter((k) => k.publishUntil === null || Date.parse(k.publishUntil) > nowMs)
    .sort(newestFirst)
    .map((k) => ({ ...publicPart(k.publicJwk as unknown as JWK), kid: k.kid, alg: k.alg }));
}

/**
 * The key that signs at `now`: of the keys already active, the one activated
 * last. A ring whose keys are all still to come (its creator's clock runs ahead
 * of ours) signs with its first key, which every replica published from the start.
 */
export function signingRingKey<K extends RingKey>(keys: readonly K[], now: Date): K | undefined {
  const nowMs = now.getTime();
  const active = keys.filter((k) => Date.parse(k.activeFrom) <= nowMs).sort(newestFirst);
  return active[0] ?? [...keys].sort(newestFirst).at(-1);
}

function newestFirst(a: RingKey, b: RingKey): number {
  const diff = Date.parse(b.activeFrom) - Date.parse(a.activeFrom);
  return diff !== 0 ? diff : a.kid < b.kid ? 1 : a.kid > b.kid ? -1 : 0;
}

/**
 * Service signing keys, agreed on by every replica through the store.
 *
 * - The ring is one record per purpose. Creating it and every change to it is
 *   a compare-and-set: of replicas racing (all started at once on an empty
 *   store, or all finding a rotation due), exactly one writes, the others read
 *   its result and adopt it.
 * - A new key is published `prePublishMs` before it signs (its `activeFrom`),
 *   longer than any replica goes without re-reading the ring, so no replica
 *   signs with a key another replica does not publish yet. The first key of a
 *   new ring signs at once: nobody published anything before it.
 * - The key it replaces stops signing at the new key's `activeFrom` and stays
 *   published until every token it may have signed has expired
 *   (`maxTokenLifetimeMs`, plus `prePublishMs` for replicas that read late),
 *   then leaves the ring.
 * - Each replica re-reads the ring every `refreshIntervalMs` (`start()`), and
 *   once, rate limited, when asked for a key id it does not know.
 *
 * Which key signs is a function of the ring and the clock, so replicas switch
 * at the same moment without writing anything at that moment.
 */
export class KeyRing {
  private readonly now: () => Date;
  private readonly refreshMs: number;
  private readonly prePublishMs: number;
  private readonly missReloadMs: number;
  private keys: RingKey[] = [];
  private loaded = false;
  /** Imported private keys by kid (imported when the ring is read, so signing never waits for it). */
  private readonly privateKeys = new Map<string, CryptoKey>();
  /** Store reads and writes of this replica, one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private lastMissReload = Number.NEGATIVE_INFINITY;
  private missReload: Promise<void> | null = null;
  /** Material generated for a write that lost its race, reused by the next attempt. */
  private spare: RingKey | null = null;

  constructor(
    private readonly store: KeyRingStore,
    private readonly options: KeyRingOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.refreshMs = options.refreshIntervalMs ?? defaultKeyRefreshIntervalMs(options.rotationIntervalMs);
    this.prePublishMs = options.prePublishMs ?? 2 * this.refreshMs;
    this.missReloadMs = options.missReloadIntervalMs ?? Math.min(1000, this.refreshMs);
    if (!(this.refreshMs > 0) || !(this.prePublishMs > this.refreshMs)) {
      throw new Error(`key ring "${options.purpose}": prePublishMs must exceed refreshIntervalMs`);
    }
  }

  get purpose(): string {
    return this.options.purpose;
  }

  /** How often `start()` re-reads the ring. */
  get refreshIntervalMs(): number {
    return this.refreshMs;
  }

  /**
   * Reads the ring and brings it up to date: creates it (with the first key)
   * when there is none, publishes the next key when a rotation is due, and
   * drops keys whose publication has ended. Concurrent replicas converge.
   */
  refresh(): Promise<void> {
    return this.serialized(() => this.update(false));
  }

  /**
   * Starts a rotation now: a new key is published and signs `prePublishMs`
   * later. When a rotation is already under way (a published key that does not
   * sign yet), that one is it, and nothing is added: replicas told to rotate
   * at the same moment add one key, not one each.
   */
  rotate(): Promise<void> {
    return this.serialized(() => this.update(true));
  }

  /** Re-reads the ring every `refreshIntervalMs` until `stop()`. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) => this.options.onRefreshError?.(error));
    }, this.refreshMs);
    this.timer.unref();
  }

  /** Stops the periodic refresh and waits for a read or write in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.queue.catch(() => undefined);
  }

  /** The public keys to publish now: the signing key, the next one, and superseded keys still in their window. */
  jwks(): JSONWebKeySet {
    this.requireLoaded();
    return { keys: publishedRingKeys(this.keys, this.now()) };
  }

  get activeKid(): string {
    return this.signingKey().kid;
  }

  /** The public JWK of the key that signs now. */
  get activePublicJwk(): JWK {
    const key = this.signingKey();
    return { ...publicPart(key.publicJwk as unknown as JWK), kid: key.kid, alg: key.alg };
  }

  /**
   * The published public JWK for `kid`, or null. A kid this replica does not
   * know triggers one re-read of the ring (at most one per `missReloadIntervalMs`,
   * shared by concurrent callers): another replica may have rotated since the last read.
   */
  async publicKey(kid: string): Promise<JWK | null> {
    const find = () => publishedRingKeys(this.keys, this.now()).find((k) => k.kid === kid) ?? null;
    const known = this.loaded ? find() : null;
    if (known) return known;
    await this.reloadForMiss();
    return find();
  }

  /**
   * Signs with the key that signs now, or with `signingKid` (a key still
   * published: a request whose client id names that key, say). `kid` overrides
   * the header's key id (a DID URL, say) without changing the key.
   */
  async sign(
    payload: JWTPayload,
    options: { typ?: string; expiresInSeconds?: number; kid?: string; header?: Record<string, unknown>; signingKid?: string } = {},
  ): Promise<string> {
    const { kid, signingKid, ...rest } = options;
    let key: RingKey;
    if (signingKid === undefined) {
      key = this.signingKey();
    } else {
      const published = (await this.publicKey(signingKid)) ? this.keys.find((k) => k.kid === signingKid) : undefined;
      if (!published) throw new UnknownSigningKeyError(this.options.purpose, signingKid);
      key = published;
    }
    const privateKey = this.privateKeys.get(key.kid);
    if (!privateKey) throw new Error(`key ring "${this.options.purpose}" has not loaded its private key`);
    return signJwt({
      payload,
      key: privateKey,
      kid: kid ?? key.kid,
      alg: key.alg,
      issuedAt: Math.floor(this.now().getTime() / 1000),
      ...rest,
    });
  }

  private signingKey(): RingKey {
    this.requireLoaded();
    const key = signingRingKey(this.keys, this.now());
    if (!key) throw new Error(`key ring "${this.options.purpose}" has no key`);
    return key;
  }

  private requireLoaded(): void {
    if (!this.loaded) throw new Error(`key ring "${this.options.purpose}" has not been loaded`);
  }

  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private reloadForMiss(): Promise<void> {
    if (this.missReload) return this.missReload;
    const nowMs = Date.now();
    if (this.loaded && nowMs - this.lastMissReload < this.missReloadMs) return Promise.resolve();
    this.lastMissReload = nowMs;
    this.missReload = this.refresh().finally(() => {
      this.missReload = null;
    });
    return this.missReload;
  }

  /** Read, decide, compare-and-set; on a lost race read again and decide again. */
  private async update(forceRotation: boolean): Promise<void> {
    const { purpose } = this.options;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.now();
      const state = await this.store.read(purpose);
      if (!state) {
        const keys = await this.initialKeys(now);
        if (await this.store.create(purpose, keys)) {
          this.spare = null;
          await this.adopt(keys);
          return;
        }
        continue; // another replica created it first: adopt theirs on the next read
      }
      const next = await this.maintained(state.keys, now, forceRotation);
      if (!next) {
        await this.adopt(state.keys);
        return;
      }
      if (await this.store.replace(purpose, next.keys, state.version)) {
        if (next.added) this.spare = null;
        await this.adopt(next.keys);
        if (next.dropped.length > 0) await this.store.discarded?.(purpose, next.dropped).catch(() => undefined);
        return;
      }
    }
    throw new Error(`key ring "${purpose}": gave up after ${MAX_ATTEMPTS} conflicting updates`);
  }

  /** The first keys of a new ring: keys carried over from the older layout, or one fresh key that signs at once. */
  private async initialKeys(now: Date): Promise<RingKey[]> {
    const legacy = (await this.store.legacyKeys?.(this.options.purpose, now)) ?? [];
    if (legacy.some((k) => k.publishUntil === null)) return legacy;
    const fresh = await this.freshKey(now, now);
    return [...legacy, fresh];
  }

  /**
   * The ring after pruning and, when due (or forced), a rotation; null when
   * nothing changes.
   */
  private async maintained(
    keys: RingKey[],
    now: Date,
    forceRotation: boolean,
  ): Promise<{ keys: RingKey[]; added: boolean; dropped: string[] } | null> {
    const nowMs = now.getTime();
    const signing = signingRingKey(keys, now);
    const kept = keys.filter((k) => k === signing || k.publishUntil === null || Date.parse(k.publishUntil) > nowMs);
    const dropped = keys.filter((k) => !kept.includes(k)).map((k) => k.kid);
    const pending = kept.some((k) => Date.parse(k.activeFrom) > nowMs);
    const due =
      !signing || forceRotation || Date.parse(signing.activeFrom) + this.options.rotationIntervalMs - this.prePublishMs <= nowMs;
    if (pending || !due || kept.length >= MAX_RING_KEYS) return dropped.length > 0 ? { keys: kept, added: false, dropped } : null;

    const activeFrom = new Date(nowMs + this.prePublishMs);
    const fresh = await this.freshKey(now, activeFrom);
    // What the new key replaces signs until it takes over, and stays published while its tokens live.
    const publishUntil = new Date(activeFrom.getTime() + this.options.maxTokenLifetimeMs + this.prePublishMs).toISOString();
    const superseded = kept.map((k) => (k.publishUntil === null ? { ...k, publishUntil } : k));
    return { keys: [...superseded, fresh], added: true, dropped };
  }

  private async freshKey(publishedAt: Date, activeFrom: Date): Promise<RingKey> {
    if (!this.spare || this.spare.alg !== this.options.alg) {
      const material = await generateSigningKey(this.options.alg);
      this.spare = {
        kid: material.kid,
        alg: material.alg,
        publicJwk: { ...material.publicJwk },
        privateJwk: await wrapPrivateJwk(material.privateJwk, this.options.keyEncryptionKey),
        publishedAt: '',
        activeFrom: '',
        publishUntil: null,
      };
    }
    return { ...this.spare, publishedAt: publishedAt.toISOString(), activeFrom: activeFrom.toISOString() };
  }

  /** Makes `keys` this replica's view, importing the private keys it has not imported yet. */
  private async adopt(keys: RingKey[]): Promise<void> {
    if (!signingRingKey(keys, this.now())) throw new Error(`key ring "${this.options.purpose}" has no key`);
    const imported = new Map<string, CryptoKey>();
    for (const key of keys) {
      const known = this.privateKeys.get(key.kid);
      if (known) {
        imported.set(key.kid, known);
        continue;
      }
      try {
        const jwk = await unwrapPrivateJwk(key.privateJwk, this.options.keyEncryptionKey);
        imported.set(key.kid, await importPrivateKey(jwk, key.alg));
      } catch (error) {
        // Never the key itself: only which key and why.
        throw new Error(
          `key ring "${this.options.purpose}": cannot read the private key ${key.kid} (is crypto.keyEncryptionKey the one it was stored with?): ${
            error instanceof Error ? error.message : 'unknown error'
          }`,
        );
      }
    }
    this.privateKeys.clear();
    for (const [kid, key] of imported) this.privateKeys.set(kid, key);
    this.keys = keys;
    this.loaded = true;
  }
}

/** `sign({ signingKid })` for a key the ring does not hold (or no longer publishes). */
export class UnknownSigningKeyError extends Error {
  constructor(
    readonly purpose: string,
    readonly kid: string,
  ) {
    super(`key ring "${purpose}" holds no published key ${kid}`);
    this.name = 'UnknownSigningKeyError';
  }
}
