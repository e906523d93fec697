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

/** A service key as the key ring stores it. */
export interface KeyRecord {
  id: string;
  purpose: string;
  alg: SigningAlg | 'RS256';
  publicJwk: Record<string, unknown>;
  privateJwk: Record<string, unknown>;
  status: 'active' | 'retired';
  publishUntil: string | null;
  createdAt: string;
  version: number;
}

/** The narrow storage port the key ring needs (the platform backs it with the store). */
export interface KeyRecordStore {
  list(purpose: string): Promise<KeyRecord[]>;
  create(record: Omit<KeyRecord, 'createdAt' | 'version'>): Promise<void>;
  /** Compare-and-set on `version`; resolves false on a conflict. */
  retire(record: KeyRecord, publishUntil: string): Promise<boolean>;
  remove(record: KeyRecord): Promise<void>;
}

export interface KeyRingOptions {
  purpose: string;
  alg: SigningAlg;
  /** Rotate when the active key is older than this. */
  rotationIntervalMs: number;
  /** Longest lifetime of anything signed; retired keys stay published this long. */
  maxTokenLifetimeMs: number;
  /** 32-byte key that encrypts private keys at rest; null stores them in the clear (development only). */
  keyEncryptionKey: Uint8Array | null;
  now?: () => Date;
}

interface ActiveKey {
  kid: string;
  alg: SigningAlg;
  key: CryptoKey;
}

/**
 * Service signing keys with rotation. Every replica reads the same records, so
 * all publish the same JWKS. Rotation creates a new active key and retires the
 * previous ones; a retired key's public half stays published until every token
 * it may have signed has expired, then it is deleted.
 *
 * Two replicas that rotate at the same moment may both create a key: both are
 * published, the newest signs. Nothing breaks; the next rotation retires the extra.
 */
export class KeyRing {
  private readonly now: () => Date;
  private active: ActiveKey | null = null;
  private published: JSONWebKeySet = { keys: [] };

  constructor(
    private readonly store: KeyRecordStore,
    private readonly options: KeyRingOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** Loads keys, creates the first one, rotates an expired one and prunes old ones. */
  async refresh(): Promise<void> {
    const now = this.now();
    const records: KeyRecord[] = [];
    for (const record of await this.store.list(this.options.purpose)) {
      if (record.status === 'retired' && record.publishUntil && Date.parse(record.publishUntil) <= now.getTime()) {
        await this.store.remove(record);
      } else {
        records.push(record);
      }
    }
    const newest = newestActive(records);
    if (!newest || now.getTime() - Date.parse(newest.createdAt) >= this.options.rotationIntervalMs) {
      await this.rotate();
      return;
    }
    await this.load(records);
  }

  /** Creates a new active key and retires every other active key. */
  async rotate(): Promise<void> {
    const material = await generateSigningKey(this.options.alg);
    await this.store.create({
      id: material.kid,
      purpose: this.options.purpose,
      alg: material.alg,
      publicJwk: { ...material.publicJwk },
      privateJwk: await wrapPrivateJwk(material.privateJwk, this.options.keyEncryptionKey),
      status: 'active',
      publishUntil: null,
    });
    const publishUntil = new Date(this.now().getTime() + this.options.maxTokenLifetimeMs).toISOString();
    for (const record of await this.store.list(this.options.purpose)) {
      if (record.status === 'active' && record.id !== material.kid) await this.store.retire(record, publishUntil);
    }
    await this.load(await this.store.list(this.options.purpose));
  }

  /** The public keys to publish: the active key and retired keys still within their publish window. */
  jwks(): JSONWebKeySet {
    return this.published;
  }

  get activeKid(): string {
    return this.requireActive().kid;
  }

  /** The public JWK of the key that signs now. */
  get activePublicJwk(): JWK {
    const kid = this.requireActive().kid;
    const jwk = this.published.keys.find((k) => k.kid === kid);
    if (!jwk) throw new Error(`key ring "${this.options.purpose}" does not publish its active key`);
    return jwk;
  }

  /** Signs with the active key. `kid` overrides the header's key id (a DID URL, say) without changing the key. */
  async sign(
    payload: JWTPayload,
    options: { typ?: string; expiresInSeconds?: number; kid?: string; header?: Record<string, unknown> } = {},
  ): Promise<string> {
    const active = this.requireActive();
    const { kid, ...rest } = options;
    return signJwt({
      payload,
      key: active.key,
      kid: kid ?? active.kid,
      alg: active.alg,
      issuedAt: Math.floor(this.now().getTime() / 1000),
      ...rest,
    });
  }

  private requireActive(): ActiveKey {
    if (!this.active) throw new Error(`key ring "${this.options.purpose}" has not been loaded`);
    return this.active;
  }

  private async load(records: KeyRecord[]): Promise<void> {
    const newest = newestActive(records);
    if (!newest) throw new Error(`key ring "${this.options.purpose}" has no active key`);
    const alg = newest.alg;
    const privateJwk = await unwrapPrivateJwk(newest.privateJwk, this.options.keyEncryptionKey);
    this.active = { kid: newest.id, alg, key: await importPrivateKey(privateJwk, alg) };
    const nowMs = this.now().getTime();
    this.published = {
      keys: records
        .filter((r) => r.status === 'active' || (r.publishUntil !== null && Date.parse(r.publishUntil) > nowMs))
        .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id.localeCompare(b.id)))
        .map((r) => publicPart(r.publicJwk as unknown as JWK)),
    };
  }
}

function newestActive(records: KeyRecord[]): KeyRecord | undefined {
  return records
    .filter((r) => r.status === 'active')
    .sort((a, b) => (a.createdAt === b.createdAt ? b.id.localeCompare(a.id) : a.createdAt < b.createdAt ? 1 : -1))[0];
}
