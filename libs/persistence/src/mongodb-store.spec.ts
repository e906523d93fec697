import { UnavailableError, VersionConflictError } from '@wallet/domain';
import { describeIfAvailable, mongoAvailable, startMongo, type MongoHandle } from '@wallet/testing';
import mongoose from 'mongoose';
import { createServer } from 'node:net';
import { createStore } from './create-store';
import { runPersistenceContract, Widgets, type Widget } from './persistence.contract';
import type { CollectionSpec, Store } from './ports';

// The MongoDB driver must not pull in better-sqlite3.
jest.mock('better-sqlite3', () => {
  throw new Error('better-sqlite3 must not be loaded by the mongodb driver');
});

const suite = describeIfAvailable(
  'persistence:mongodb',
  mongoAvailable(),
  'no MONGODB_URI, FerretDB or mongod found (build FerretDB with tools/ferretdb/build.sh)',
);

function widget(id: string, overrides: Partial<Widget> = {}): Widget {
  return { id, sku: `sku-${id}`, color: 'red', size: 1, active: true, note: null, tags: [], attrs: {}, ...overrides };
}

suite('mongodb driver', () => {
  let server: MongoHandle;
  let raw: mongoose.Connection;
  const stores: Store[] = [];

  beforeAll(async () => {
    server = await startMongo();
    raw = await mongoose.createConnection(server.uri, { bufferCommands: false }).asPromise();
  }, 60_000);

  afterAll(async () => {
    for (const store of stores) await store.close();
    await raw?.close();
    await server?.stop();
  }, 60_000);

  async function open(claimTimeoutMs?: number): Promise<Store> {
    const store = await createStore({ type: 'mongodb', uri: server.uri, ...(claimTimeoutMs ? { claimTimeoutMs } : {}) });
    stores.push(store);
    return store;
  }

  runPersistenceContract('mongodb', (deps) => createStore({ type: 'mongodb', uri: server.uri }, deps), {
    // A second connection, as a second process would open it.
    openPeer: (deps) => createStore({ type: 'mongodb', uri: server.uri }, deps),
    durable: true,
    timeoutMs: 120_000,
  });

  describe('layout', () => {
    it('stores {_id: "<scope>|<id>", scope, version, timestamps, data} with scoped indexes', async () => {
      const store = await open();
      await store.repository(Widgets).create('layout', widget('w1'));
      const doc = await raw.collection('contract_widgets').findOne({ _id: 'layout|w1' as never });
      expect(doc).toEqual({
        _id: 'layout|w1',
        scope: 'layout',
        version: 1,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        data: widget('w1'),
      });
      const indexes = await raw.collection('contract_widgets').indexes();
      expect(indexes.map((index) => ({ name: index.name, key: index.key, unique: index.unique === true }))).toEqual(
        expect.arrayContaining([
          { name: 'u__sku', key: { scope: 1, 'data.sku': 1 }, unique: true },
          { name: 'i__color', key: { scope: 1, 'data.color': 1 }, unique: false },
        ]),
      );
    });

    it('creates the indexes once when two stores use a new collection at the same time', async () => {
      const spec: CollectionSpec<Widget> = { ...Widgets, name: `fresh_${Date.now()}` };
      const [a, b] = await Promise.all([open(), open()]);
      const results = await Promise.allSettled([
        a.repository(spec).create('acme', widget('w1', { sku: 'same' })),
        b.repository(spec).create('acme', widget('w2', { sku: 'same' })),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'already_exists', fields: ['sku'] } });
      const names = (await raw.collection(spec.name).indexes()).map((index) => index.name).sort();
      expect(names).toEqual(['_id_', 'i__color', 'u__sku']);
    });
  });

  describe('compare-and-set claims', () => {
    const claims = () => raw.collection<{ _id: string; at: Date }>('contract_widgets__claims');

    it('releases its claim after an update and a versioned delete', async () => {
      const widgets = (await open()).repository(Widgets);
      await widgets.create('claims-a', widget('w1'));
      await widgets.update('claims-a', 'w1', widget('w1', { size: 2 }), 1);
      await widgets.delete('claims-a', 'w1', 2);
      expect(await claims().countDocuments({ _id: { $in: ['claims-a|w1|2', 'claims-a|w1|3'] } })).toBe(0);
    });

    it('a held claim makes a writer with that version lose until the claim times out', async () => {
      const widgets = (await open(1500)).repository(Widgets);
      await widgets.create('claims-b', widget('w1'));
      // Another writer is between its claim and its update.
      await claims().insertOne({ _id: 'claims-b|w1|2', at: new Date() });
      const error = await widgets.update('claims-b', 'w1', widget('w1', { size: 5 }), 1).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VersionConflictError);
      expect(error).toMatchObject({ expectedVersion: 1, actualVersion: null });
      expect((await widgets.require('claims-b', 'w1')).version).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 1700));
      expect(await widgets.update('claims-b', 'w1', widget('w1', { size: 5 }), 1)).toMatchObject({ version: 2, size: 5 });
    });

    it('breaks the stale claim of a crashed writer once, and only while the record is at that version', async () => {
      const [a, b] = await Promise.all([open(), open()]);
      const widgets = a.repository(Widgets);
      await widgets.create('claims-c', widget('w1'));
      await claims().insertOne({ _id: 'claims-c|w1|2', at: new Date(Date.now() - 60_000) });
      const results = await Promise.allSettled([
        widgets.update('claims-c', 'w1', widget('w1', { color: 'a' }), 1),
        b.repository(Widgets).update('claims-c', 'w1', widget('w1', { color: 'b' }), 1),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(loser.reason).toBeInstanceOf(VersionConflictError);
      const stored = await widgets.require('claims-c', 'w1');
      expect(stored.version).toBe(2);
      expect(await claims().findOne({ _id: 'claims-c|w1|2' })).toBeNull();

      // A stale claim for a version the record has left is a plain conflict.
      await claims().insertOne({ _id: 'claims-c|w1|2', at: new Date(Date.now() - 60_000) });
      await expect(widgets.update('claims-c', 'w1', widget('w1'), 1)).rejects.toMatchObject({
        code: 'version_conflict',
        actualVersion: 2,
      });
    });
  });

  describe('availability', () => {
    it('rejects with UnavailableError, without echoing the URI, when the server cannot be reached', async () => {
      const port = await new Promise<number>((resolve) => {
        const probe = createServer().listen(0, '127.0.0.1', () => {
          const address = probe.address();
          probe.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
        });
      });
      const error = await createStore({
        type: 'mongodb',
        uri: `mongodb://user:s3cret-password@127.0.0.1:${port}/x`,
        serverSelectionTimeoutMs: 300,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnavailableError);
      expect(String((error as Error).message)).not.toContain('s3cret');
      expect(JSON.stringify((error as UnavailableError).details ?? {})).not.toContain('s3cret');
    });

    it('ping runs the ping command', async () => {
      const store = await open();
      await expect(store.ping()).resolves.toBeUndefined();
      await store.close();
      await expect(store.ping()).rejects.toBeInstanceOf(UnavailableError);
    });
  });
});
