import { decodeProtectedHeader } from 'jose';
import { randomBytes } from 'node:crypto';
import { verifyJwt } from './jwt';
import { KeyRing, MAX_RING_KEYS, UnknownSigningKeyError, type KeyRingOptions, type KeyRingStore, type RingKey, type RingState } from './key-ring';

/**
 * A store with the port's compare-and-set semantics, answering after a
 * macrotask so concurrent rings interleave as replicas would; the platform
 * tests the real drivers across processes.
 */
class MemoryRingStore implements KeyRingStore {
  rings = new Map<string, RingState>();
  legacy: RingKey[] = [];
  discardedKids: string[] = [];
  reads = 0;
  writes = 0;

  private tick = () => new Promise((next) => setImmediate(next));

  async read(purpose: string) {
    await this.tick();
    this.reads++;
    const ring = this.rings.get(purpose);
    return ring ? structuredClone(ring) : null;
  }
  async create(purpose: string, keys: RingKey[]) {
    await this.tick();
    if (this.rings.has(purpose)) return false;
    this.writes++;
    this.rings.set(purpose, { keys: structuredClone(keys), version: 1 });
    return true;
  }
  async replace(purpose: string, keys: RingKey[], expectedVersion: number) {
    await this.tick();
    const ring = this.rings.get(purpose);
    if (!ring || ring.version !== expectedVersion) return false;
    this.writes++;
    this.rings.set(purpose, { keys: structuredClone(keys), version: expectedVersion + 1 });
    return true;
  }
  async legacyKeys() {
    return structuredClone(this.legacy);
  }
  async discarded(_purpose: string, kids: string[]) {
    this.discardedKids.push(...kids);
  }
  keys(purpose = 'access-token'): RingKey[] {
    return this.rings.get(purpose)?.keys ?? [];
  }
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
const REFRESH = HOUR;
const PRE = 2 * HOUR;

describe('KeyRing', () => {
  let clock: Date;
  const now = () => clock;
  const advance = (ms: number) => {
    clock = new Date(clock.getTime() + ms);
  };
  beforeEach(() => {
    clock = new Date('2026-01-01T00:00:00Z');
  });

  function ring(store: KeyRingStore, options: Partial<KeyRingOptions> = {}) {
    return new KeyRing(store, {
      purpose: 'access-token',
      alg: 'ES256',
      rotationIntervalMs: 30 * DAY,
      maxTokenLifetimeMs: DAY,
      keyEncryptionKey: null,
      refreshIntervalMs: REFRESH,
      prePublishMs: PRE,
      now,
      ...options,
    });
  }

  const kids = (keys: KeyRing) => keys.jwks().keys.map((k) => k.kid);

  it('creates the first key, and another replica on the same store publishes the same JWKS', async () => {
    const store = new MemoryRingStore();
    const kek = randomBytes(32);
    const a = ring(store, { keyEncryptionKey: kek });
    await a.refresh();
    const b = ring(store, { keyEncryptionKey: kek });
    await b.refresh();
    expect(store.keys()).toHaveLength(1);
    expect(a.jwks()).toEqual(b.jwks());
    expect(a.jwks().keys[0]).not.toHaveProperty('d');
    expect(a.jwks().keys[0]).toMatchObject({ kid: a.activeKid, alg: 'ES256', use: 'sig' });
    const token = await b.sign({ sub: 'u1' }, { expiresInSeconds: 60 });
    expect(decodeProtectedHeader(token).kid).toBe(a.activeKid);
    advance(1000);
    await expect(verifyJwt(token, a.jwks(), { currentDate: clock })).resolves.toMatchObject({ payload: { sub: 'u1' } });
  });

  it('replicas starting at once on an empty store create one key and all adopt it', async () => {
    for (let round = 0; round < 20; round++) {
      const store = new MemoryRingStore();
      const replicas = Array.from({ length: 5 }, () => ring(store));
      await Promise.all(replicas.map((r) => r.refresh()));
      expect(store.keys()).toHaveLength(1);
      expect(store.writes).toBe(1);
      for (const replica of replicas) {
        expect(replica.activeKid).toBe(store.keys()[0]!.kid);
        expect(replica.jwks()).toEqual(replicas[0]!.jwks());
      }
    }
  });

  it('publishes the next key before it signs, switches every replica at the same moment, and keeps the old key published while its tokens live', async () => {
    const store = new MemoryRingStore();
    const a = ring(store);
    const b = ring(store);
    await a.refresh();
    await b.refresh();
    const oldKid = a.activeKid;

    // Not due yet: the rotation starts a pre-publication interval before the 30 days are over.
    advance(30 * DAY - PRE - 1);
    await a.refresh();
    expect(store.keys()).toHaveLength(1);

    advance(1);
    const oldToken = await a.sign({ sub: 'u1' }, { expiresInSeconds: 3600 });
    await a.refresh();
    expect(store.keys()).toHaveLength(2);
    const newKid = store.keys().find((k) => k.kid !== oldKid)!.kid;
    // Published at once by the replica that added it, and by B once it re-reads; the old key still signs.
    expect(kids(a)).toEqual([newKid, oldKid]);
    expect(a.activeKid).toBe(oldKid);
    expect(kids(b)).toEqual([oldKid]);
    await b.refresh();
    expect(kids(b)).toEqual([newKid, oldKid]);
    expect(b.activeKid).toBe(oldKid);

    // B's own refresh a moment later does not add another key.
    advance(REFRESH);
    await b.refresh();
    expect(store.keys()).toHaveLength(2);

    // At the new key's activeFrom both replicas sign with it, without reading or writing anything.
    advance(PRE - REFRESH);
    const writes = store.writes;
    expect(a.activeKid).toBe(newKid);
    expect(b.activeKid).toBe(newKid);
    const newToken = await b.sign({ sub: 'u2' }, { expiresInSeconds: 60 });
    expect(decodeProtectedHeader(newToken).kid).toBe(newKid);
    expect(store.writes).toBe(writes);
    await expect(verifyJwt(oldToken, a.jwks(), { currentDate: new Date(clock.getTime() - PRE) })).resolves.toBeTruthy();

    // The old key stays published for a token lifetime (and a pre-publication interval) after it stopped signing.
    advance(DAY + PRE - 1);
    await a.refresh();
    expect(kids(a)).toEqual([newKid, oldKid]);
    advance(1);
    expect(kids(a)).toEqual([newKid]);
    await a.refresh();
    expect(store.keys().map((k) => k.kid)).toEqual([newKid]);
    expect(store.discardedKids).toEqual([oldKid]);
  });

  it('rotates once when several replicas are told to rotate at the same moment, and not again while the next key waits', async () => {
    const store = new MemoryRingStore();
    const replicas = Array.from({ length: 4 }, () => ring(store));
    for (const replica of replicas) await replica.refresh();
    const first = replicas[0]!.activeKid;

    await Promise.all(replicas.map((r) => r.rotate()));
    expect(store.keys()).toHaveLength(2);
    for (const replica of replicas) {
      expect(replica.jwks()).toEqual(replicas[0]!.jwks());
      expect(replica.activeKid).toBe(first);
    }
    await replicas[1]!.rotate();
    expect(store.keys()).toHaveLength(2);

    advance(PRE);
    const second = replicas[0]!.activeKid;
    expect(second).not.toBe(first);
    await Promise.all([replicas[2]!.rotate(), replicas[3]!.rotate()]);
    expect(store.keys()).toHaveLength(3);
    // Every replica re-reads within the refresh interval, and that is what the pre-publication relies on.
    advance(REFRESH);
    await Promise.all(replicas.map((r) => r.refresh()));
    advance(PRE - REFRESH);
    expect(new Set(replicas.map((r) => r.activeKid)).size).toBe(1);
    expect(replicas[0]!.activeKid).not.toBe(second);
  });

  it('signs only with keys every replica already publishes, as long as each re-reads within the refresh interval', async () => {
    const store = new MemoryRingStore();
    const replicas = Array.from({ length: 3 }, () => ring(store));
    for (const replica of replicas) await replica.refresh();
    // Each replica re-reads on its own schedule; rotations are forced now and then.
    for (let step = 0; step < 200; step++) {
      advance(REFRESH / 4);
      // Replica i re-reads at steps i, i + 4, ...: once per refresh interval.
      for (const [i, replica] of replicas.entries()) if (step % 4 === i) await replica.refresh();
      if (step % 17 === 0) await replicas[(step + 1) % 3]!.rotate();
      for (const signer of replicas) {
        const token = await signer.sign({ sub: 'u' }, { expiresInSeconds: 60 });
        for (const other of replicas) await expect(verifyJwt(token, other.jwks(), { currentDate: clock })).resolves.toBeTruthy();
      }
    }
    expect(store.keys().length).toBeGreaterThan(1);
  });

  it('signs with a named key while it is published, re-reading once for a key it does not know', async () => {
    const store = new MemoryRingStore();
    const a = ring(store);
    const b = ring(store, { missReloadIntervalMs: 50 });
    await a.refresh();
    await b.refresh();
    const oldKid = a.activeKid;
    await a.rotate();
    advance(PRE);
    const newKid = a.activeKid;
    expect(newKid).not.toBe(oldKid);

    // B has not read the rotation: a request naming the new key makes it re-read once.
    const reads = store.reads;
    const token = await b.sign({ sub: 'x' }, { signingKid: newKid });
    expect(decodeProtectedHeader(token).kid).toBe(newKid);
    expect(store.reads).toBe(reads + 1);
    // The superseded key still signs when named.
    expect(decodeProtectedHeader(await b.sign({}, { signingKid: oldKid, kid: 'did:jwk:x#0' })).kid).toBe('did:jwk:x#0');
    await expect(verifyJwt(await b.sign({}, { signingKid: oldKid }), b.jwks(), { currentDate: clock })).resolves.toBeTruthy();

    // An unknown kid: one re-read, then none again within the interval; the error names no key material.
    await new Promise((next) => setTimeout(next, 60));
    const before = store.reads;
    const error = await b.sign({}, { signingKid: 'nope' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownSigningKeyError);
    await expect(b.publicKey('nope')).resolves.toBeNull();
    expect(store.reads).toBe(before + 1);
    await expect(b.publicKey(newKid)).resolves.toMatchObject({ kid: newKid });
    expect(await b.publicKey(newKid)).not.toHaveProperty('d');
  });

  it('signs with the first key when the replica that created the ring runs ahead of this clock', async () => {
    const store = new MemoryRingStore();
    const ahead = ring(store, { now: () => new Date(clock.getTime() + 5000) });
    await ahead.refresh();
    const behind = ring(store);
    await behind.refresh();
    expect(behind.activeKid).toBe(ahead.activeKid);
    expect(store.keys()).toHaveLength(1);
  });

  it('carries keys of the older per-key layout into a new ring: the active one keeps signing', async () => {
    const store = new MemoryRingStore();
    const seedStore = new MemoryRingStore();
    await ring(seedStore).refresh();
    const [key] = seedStore.keys();
    store.legacy = [{ ...key!, publishedAt: '2025-12-20T00:00:00.000Z', activeFrom: '2025-12-20T00:00:00.000Z' }];
    const keys = ring(store);
    await keys.refresh();
    expect(keys.activeKid).toBe(key!.kid);
    expect(store.keys()).toHaveLength(1);
    // Its rotation counts from when it was created.
    advance(19 * DAY - PRE);
    await keys.refresh();
    expect(store.keys()).toHaveLength(2);
  });

  it('stores private keys encrypted when a key encryption key is configured, and a wrong one fails without naming the key', async () => {
    const store = new MemoryRingStore();
    await ring(store, { keyEncryptionKey: randomBytes(32) }).refresh();
    expect(Object.keys(store.keys()[0]!.privateJwk)).toEqual(['wrapped']);
    const error = (await ring(store, { keyEncryptionKey: randomBytes(32) })
      .refresh()
      .catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/cannot read the private key/);
    expect(error.message).not.toContain(String(store.keys()[0]!.privateJwk['wrapped']));
  });

  it('refuses to sign or publish before it is loaded', async () => {
    const keys = ring(new MemoryRingStore());
    await expect(keys.sign({})).rejects.toThrow(/not been loaded/);
    expect(() => keys.jwks()).toThrow(/not been loaded/);
  });

  it('refuses a pre-publication interval that is not longer than the refresh interval', () => {
    expect(() => ring(new MemoryRingStore(), { refreshIntervalMs: 1000, prePublishMs: 1000 })).toThrow(/prePublishMs/);
  });

  it(`holds at most ${MAX_RING_KEYS} keys: rotation waits while superseded keys are still published`, async () => {
    const store = new MemoryRingStore();
    const keys = ring(store, { rotationIntervalMs: 3 * PRE, maxTokenLifetimeMs: 365 * DAY });
    await keys.refresh();
    for (let i = 0; i < MAX_RING_KEYS + 5; i++) {
      advance(PRE);
      await keys.rotate();
    }
    expect(store.keys()).toHaveLength(MAX_RING_KEYS);
  }, 30_000);

  it('re-reads periodically once started', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
    try {
      const store = new MemoryRingStore();
      const keys = ring(store, { refreshIntervalMs: 1000, prePublishMs: 3000 });
      await keys.refresh();
      const reads = store.reads;
      keys.start();
      await jest.advanceTimersByTimeAsync(3500);
      await keys.stop();
      expect(store.reads).toBe(reads + 3);
      await jest.advanceTimersByTimeAsync(3000);
      expect(store.reads).toBe(reads + 3);
    } finally {
      jest.useRealTimers();
    }
  });
});
