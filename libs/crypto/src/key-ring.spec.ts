import { decodeProtectedHeader } from 'jose';
import { randomBytes } from 'node:crypto';
import { verifyJwt } from './jwt';
import { KeyRing, type KeyRecord, type KeyRecordStore } from './key-ring';

/** A minimal store with the port's compare-and-set semantics; the platform tests the real one. */
class ArrayKeyStore implements KeyRecordStore {
  records: KeyRecord[] = [];
  constructor(private readonly now: () => Date) {}
  async list(purpose: string) {
    return this.records.filter((r) => r.purpose === purpose).map((r) => ({ ...r }));
  }
  async create(record: Omit<KeyRecord, 'createdAt' | 'version'>) {
    this.records.push({ ...record, createdAt: this.now().toISOString(), version: 1 });
  }
  async retire(record: KeyRecord, publishUntil: string) {
    const stored = this.records.find((r) => r.id === record.id);
    if (!stored || stored.version !== record.version) return false;
    Object.assign(stored, { status: 'retired', publishUntil, version: stored.version + 1 });
    return true;
  }
  async remove(record: KeyRecord) {
    this.records = this.records.filter((r) => r.id !== record.id);
  }
}

const DAY = 86_400_000;

describe('KeyRing', () => {
  let clock: Date;
  const now = () => clock;
  beforeEach(() => {
    clock = new Date('2026-01-01T00:00:00Z');
  });

  function ring(store: KeyRecordStore, kek: Uint8Array | null = null) {
    return new KeyRing(store, {
      purpose: 'access-token',
      alg: 'ES256',
      rotationIntervalMs: 30 * DAY,
      maxTokenLifetimeMs: DAY,
      keyEncryptionKey: kek,
      now,
    });
  }

  it('creates the first key, and another replica on the same store publishes the same JWKS', async () => {
    const store = new ArrayKeyStore(now);
    const kek = randomBytes(32);
    const a = ring(store, kek);
    await a.refresh();
    const b = ring(store, kek);
    await b.refresh();
    expect(store.records).toHaveLength(1);
    expect(a.jwks()).toEqual(b.jwks());
    expect(a.jwks().keys[0]).not.toHaveProperty('d');
    const token = await b.sign({ sub: 'u1' }, { expiresInSeconds: 60 });
    expect(decodeProtectedHeader(token).kid).toBe(a.activeKid);
    clock = new Date(clock.getTime() + 1000);
    await expect(verifyJwt(token, a.jwks(), { currentDate: clock })).resolves.toMatchObject({ payload: { sub: 'u1' } });
  });

  it('keeps a rotated key published until its tokens expired, then prunes it', async () => {
    const store = new ArrayKeyStore(now);
    const keys = ring(store);
    await keys.refresh();
    const oldKid = keys.activeKid;
    const oldToken = await keys.sign({ sub: 'u1' }, { expiresInSeconds: 3600 });

    clock = new Date(clock.getTime() + 31 * DAY);
    await keys.refresh(); // the active key is older than the rotation interval
    expect(keys.activeKid).not.toBe(oldKid);
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([keys.activeKid, oldKid]);
    expect(store.records.find((r) => r.id === oldKid)?.status).toBe('retired');
    await expect(verifyJwt(oldToken, keys.jwks(), { currentDate: new Date(clock.getTime() - 31 * DAY + 1000) })).resolves.toBeTruthy();

    clock = new Date(clock.getTime() + DAY + 1);
    await keys.refresh();
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([keys.activeKid]);
    expect(store.records.map((r) => r.id)).toEqual([keys.activeKid]);
  });

  it('stores private keys encrypted when a key encryption key is configured', async () => {
    const store = new ArrayKeyStore(now);
    await ring(store, randomBytes(32)).refresh();
    expect(Object.keys(store.records[0]!.privateJwk)).toEqual(['wrapped']);
    await expect(ring(store, randomBytes(32)).refresh()).rejects.toThrow();
  });

  it('refuses to sign before it is loaded', async () => {
    await expect(ring(new ArrayKeyStore(now)).sign({})).rejects.toThrow(/not been loaded/);
  });
});
