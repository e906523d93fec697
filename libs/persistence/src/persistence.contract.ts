import { randomBytes } from 'node:crypto';
import {
  GLOBAL_SCOPE,
  NotFoundError,
  UnavailableError,
  UniqueViolationError,
  ValidationError,
  VersionConflictError,
  zRecordId,
  type ServiceKey,
  type StoredCredential,
  type Tenant,
  type User,
} from '@wallet/domain';
import { z } from 'zod';
import { Collections } from './collections';
import type { CollectionSpec, Filter, Repository, Store, StoreDeps, Stored } from './ports';

/**
 * The behaviour every `Store` driver must have, as one Jest suite. A driver's
 * spec file calls `runPersistenceContract` with a factory for a fresh store.
 */

export interface PersistenceContractOptions {
  /**
   * Opens a second `Store` on the same database as the last `makeStore` call,
   * as another process would. Races then run across the two stores, and the
   * durability test reopens the database with it. Without it both racers share
   * one store.
   */
  openPeer?: (deps: StoreDeps) => Promise<Store>;
  /** The driver keeps data across close and reopen (requires `openPeer`). */
  durable?: boolean;
  /** Rounds of the same-version race (default 20). */
  raceRounds?: number;
  /** Jest timeout per test (default 30 s). */
  timeoutMs?: number;
}

const zWidget = z.object({
  id: zRecordId,
  sku: z.string().min(1).max(64),
  color: z.string().min(1).max(32),
  size: z.number().int().nonnegative(),
  active: z.boolean(),
  note: z.string().max(200).nullable(),
  tags: z.array(z.string().min(1).max(32)).max(8),
  attrs: z.object({ weight: z.number().optional(), label: z.string().max(64).optional() }),
});
export type Widget = z.infer<typeof zWidget>;

/** The collection the contract exercises: one unique and one plain index. */
export const Widgets: CollectionSpec<Widget> = {
  name: 'contract_widgets',
  schema: zWidget,
  indexes: [{ fields: ['sku'], unique: true }, { fields: ['color'] }],
};

function widget(id: string, overrides: Partial<Widget> = {}): Widget {
  return {
    id,
    sku: `sku-${id}`,
    color: 'red',
    size: 1,
    active: true,
    note: null,
    tags: ['a', 'b'],
    attrs: { weight: 1.5, label: 'x' },
    ...overrides,
  };
}

const META_KEYS = ['createdAt', 'tenantId', 'updatedAt', 'version'];
const WIDGET_KEYS = [...Object.keys(widget('k')), ...META_KEYS].sort();

/** The error a promise rejects with; fails when it resolves. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('expected a rejection, but the promise resolved');
}

function issuePaths(error: Error): string[] {
  expect(error).toBeInstanceOf(ValidationError);
  return (error as ValidationError).issues.map((issue) => issue.path);
}

function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export function runPersistenceContract(
  name: string,
  makeStore: (deps: StoreDeps) => Promise<Store>,
  options: PersistenceContractOptions = {},
): void {
  const rounds = options.raceRounds ?? 20;

  describe(`persistence contract: ${name}`, () => {
    jest.setTimeout(options.timeoutMs ?? 30_000);

    const start = Date.parse('2030-01-02T03:04:05.000Z');
    const clock = { time: start };
    const deps: StoreDeps = { now: () => new Date(clock.time) };
    const run = randomBytes(3).toString('hex');
    let seq = 0;
    const newScope = (): string => `c${run}-${++seq}`;

    const opened: Store[] = [];
    let store: Store;
    let peer: Store;
    let widgets: Repository<Widget>;
    let peerWidgets: Repository<Widget>;

    beforeAll(async () => {
      store = await makeStore(deps);
      opened.push(store);
      peer = options.openPeer ? await options.openPeer(deps) : store;
      if (peer !== store) opened.push(peer);
      widgets = store.repository(Widgets);
      peerWidgets = peer.repository(Widgets);
    });

    afterAll(async () => {
      for (const s of opened) await s.close();
    });

    beforeEach(() => {
      clock.time = start;
    });

    async function seed(scope: string, ids: string[], overrides: (id: string, i: number) => Partial<Widget> = () => ({})) {
      const out: Array<Stored<Widget>> = [];
      for (const [i, id] of ids.entries()) out.push(await widgets.create(scope, widget(id, overrides(id, i))));
      return out;
    }

    describe('create, read, update, delete', () => {
      it('create stamps version 1, the scope and the clock, and get returns the same plain record', async () => {
        const scope = newScope();
        const created = await widgets.create(scope, widget('w1'));
        expect(created).toEqual({
          ...widget('w1'),
          tenantId: scope,
          version: 1,
          createdAt: '2030-01-02T03:04:05.000Z',
          updatedAt: '2030-01-02T03:04:05.000Z',
        });
        const read = await widgets.get(scope, 'w1');
        expect(read).toEqual(created);
        expect(Object.keys(read as object).sort()).toEqual(WIDGET_KEYS);
        expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
        expect(await peerWidgets.get(scope, 'w1')).toEqual(created);
      });

      it('get returns null and require throws NotFoundError for a missing or impossible id', async () => {
        const scope = newScope();
        expect(await widgets.get(scope, 'missing')).toBeNull();
        expect(await widgets.get(scope, 'has space')).toBeNull();
        expect(await widgets.get(scope, '')).toBeNull();
        const error = await failure(widgets.require(scope, 'missing'));
        expect(error).toBeInstanceOf(NotFoundError);
        expect(error).toMatchObject({ code: 'not_found' });
        await widgets.create(scope, widget('w1'));
        expect((await widgets.require(scope, 'w1')).sku).toBe('sku-w1');
      });

      it('update replaces the value, adds one to the version, keeps createdAt and sets updatedAt', async () => {
        const scope = newScope();
        const created = await widgets.create(scope, widget('w1'));
        clock.time = start + 60_000;
        const updated = await widgets.update(scope, 'w1', widget('w1', { color: 'blue', tags: [], note: 'n' }), 1);
        expect(updated).toEqual({
          ...widget('w1', { color: 'blue', tags: [], note: 'n' }),
          tenantId: scope,
          version: 2,
          createdAt: created.createdAt,
          updatedAt: '2030-01-02T03:05:05.000Z',
        });
        expect(await widgets.get(scope, 'w1')).toEqual(updated);
        clock.time = start + 120_000;
        const again = await widgets.update(scope, 'w1', { ...updated, size: 7 }, 2);
        expect(again).toMatchObject({ version: 3, size: 7, createdAt: created.createdAt, updatedAt: '2030-01-02T03:06:05.000Z' });
      });

      it('update of a missing record throws NotFoundError', async () => {
        const scope = newScope();
        const error = await failure(widgets.update(scope, 'nope', widget('nope'), 1));
        expect(error).toBeInstanceOf(NotFoundError);
        expect(await widgets.get(scope, 'nope')).toBeNull();
      });

      it('delete removes the record; a second delete throws NotFoundError', async () => {
        const scope = newScope();
        await seed(scope, ['w1', 'w2']);
        await widgets.delete(scope, 'w1');
        expect(await widgets.get(scope, 'w1')).toBeNull();
        expect(await widgets.count(scope)).toBe(1);
        expect(await failure(widgets.delete(scope, 'w1'))).toBeInstanceOf(NotFoundError);
        expect(await failure(widgets.delete(scope, 'w1', 1))).toBeInstanceOf(NotFoundError);
        await widgets.delete(scope, 'w2', 1);
        expect(await widgets.count(scope)).toBe(0);
      });

      it('an id is free again after delete and starts over at version 1', async () => {
        const scope = newScope();
        await widgets.create(scope, widget('w1'));
        await widgets.update(scope, 'w1', widget('w1', { size: 2 }), 1);
        await widgets.delete(scope, 'w1', 2);
        const again = await widgets.create(scope, widget('w1', { size: 9 }));
        expect(again).toMatchObject({ version: 1, size: 9 });
        const updated = await widgets.update(scope, 'w1', widget('w1', { size: 10 }), 1);
        expect(updated.version).toBe(2);
      });

      it('a record read from the store can be written back: metadata in the input is ignored', async () => {
        const scope = newScope();
        const created = await widgets.create(scope, {
          ...widget('w1'),
          tenantId: 'someone-else',
          version: 40,
          createdAt: 'yesterday',
        } as Widget);
        expect(created).toMatchObject({ tenantId: scope, version: 1, createdAt: '2030-01-02T03:04:05.000Z' });
        const updated = await widgets.update(scope, 'w1', { ...created, color: 'green' }, created.version);
        expect(updated).toMatchObject({ tenantId: scope, version: 2, color: 'green', createdAt: created.createdAt });
      });

      it('drops keys the schema does not know', async () => {
        const scope = newScope();
        const created = await widgets.create(scope, { ...widget('w1'), extra: 'x' } as Widget);
        expect(created).not.toHaveProperty('extra');
        expect(await widgets.get(scope, 'w1')).not.toHaveProperty('extra');
      });

      it('findOne matches strings, numbers, booleans and null with AND, and returns the lowest id', async () => {
        const scope = newScope();
        await seed(scope, ['w3', 'w1', 'w2', 'w4'], (id) => ({
          color: id === 'w4' ? 'blue' : 'red',
          size: id === 'w2' ? 5 : 1,
          active: id !== 'w3',
          note: id === 'w1' ? 'first' : null,
        }));
        expect((await widgets.findOne(scope, { color: 'red' }))?.id).toBe('w1');
        expect((await widgets.findOne(scope, { color: 'red', note: null }))?.id).toBe('w2');
        expect((await widgets.findOne(scope, { size: 5 }))?.id).toBe('w2');
        expect((await widgets.findOne(scope, { active: false }))?.id).toBe('w3');
        expect((await widgets.findOne(scope, { color: 'blue', active: true }))?.id).toBe('w4');
        expect((await widgets.findOne(scope, { sku: 'sku-w3' }))?.id).toBe('w3');
        expect((await widgets.findOne(scope, { id: 'w4' }))?.color).toBe('blue');
        expect(await widgets.findOne(scope, { color: 'blue', active: false })).toBeNull();
        expect(await widgets.findOne(scope, { color: 'red', size: 5, note: 'first' })).toBeNull();
        expect((await widgets.findOne(scope, {}))?.id).toBe('w1');
      });

      it('count counts the records of the scope, optionally filtered', async () => {
        const scope = newScope();
        expect(await widgets.count(scope)).toBe(0);
        await seed(scope, ['a', 'b', 'c', 'd', 'e'], (_id, i) => ({ color: i % 2 === 0 ? 'red' : 'blue', active: i < 2 }));
        expect(await widgets.count(scope)).toBe(5);
        expect(await widgets.count(scope, { color: 'red' })).toBe(3);
        expect(await widgets.count(scope, { color: 'red', active: true })).toBe(1);
        expect(await widgets.count(scope, { color: 'green' })).toBe(0);
      });

      it('a filter value that the field schema rejects matches nothing', async () => {
        const scope = newScope();
        await seed(scope, ['a', 'b']);
        expect(await widgets.findOne(scope, { size: -1 })).toBeNull();
        expect(await widgets.count(scope, { sku: null })).toBe(0);
        expect(await widgets.list(scope, { where: { active: 'yes' as unknown as boolean } })).toEqual({ items: [], nextCursor: null });
        expect(await widgets.deleteMany(scope, { size: 1.5 })).toBe(0);
        expect(await widgets.count(scope)).toBe(2);
      });
    });

    describe('validation', () => {
      it('create rejects an invalid value with ValidationError naming every bad path, and stores nothing', async () => {
        const scope = newScope();
        const error = await failure(
          widgets.create(scope, {
            ...widget('w1'),
            sku: '',
            size: -1,
            tags: ['ok', ''],
            attrs: { weight: 'heavy' as unknown as number },
          }),
        );
        expect(error).toMatchObject({ code: 'validation_failed' });
        expect(issuePaths(error).sort()).toEqual(['/attrs/weight', '/size', '/sku', '/tags/1']);
        expect(await widgets.count(scope)).toBe(0);
      });

      it('create rejects a value without a valid id', async () => {
        const scope = newScope();
        const { id: _omit, ...noId } = widget('w1');
        expect(issuePaths(await failure(widgets.create(scope, noId as Widget)))).toEqual(['/id']);
        expect(issuePaths(await failure(widgets.create(scope, widget('a/b'))))).toEqual(['/id']);
        expect(issuePaths(await failure(widgets.create(scope, null as unknown as Widget)))).toEqual(['']);
        expect(await widgets.count(scope)).toBe(0);
      });

      it('update rejects an invalid value or another id and leaves the record unchanged', async () => {
        const scope = newScope();
        const created = await widgets.create(scope, widget('w1'));
        expect(issuePaths(await failure(widgets.update(scope, 'w1', widget('w1', { color: '' }), 1)))).toEqual(['/color']);
        expect(issuePaths(await failure(widgets.update(scope, 'w1', widget('w2'), 1)))).toEqual(['/id']);
        for (const version of [0, -1, 1.5, Number.NaN]) {
          expect(await failure(widgets.update(scope, 'w1', widget('w1'), version))).toBeInstanceOf(ValidationError);
          expect(await failure(widgets.delete(scope, 'w1', version))).toBeInstanceOf(ValidationError);
        }
        expect(await widgets.get(scope, 'w1')).toEqual(created);
      });

      it('rejects scopes that are not tenant ids or reserved scopes', async () => {
        for (const scope of ['', 'Upper', 'a b', 'x|y', '-lead', 'trail-', 'a'.repeat(64), 'x/y']) {
          expect(await failure(widgets.get(scope, 'w1'))).toBeInstanceOf(ValidationError);
          expect(await failure(widgets.create(scope, widget('w1')))).toBeInstanceOf(ValidationError);
          expect(await failure(widgets.list(scope))).toBeInstanceOf(ValidationError);
          expect(await failure(widgets.count(scope))).toBeInstanceOf(ValidationError);
          expect(await failure(widgets.deleteMany(scope))).toBeInstanceOf(ValidationError);
        }
      });

      it('keeps global collections in GLOBAL_SCOPE', async () => {
        const tenants = store.repository(Collections.tenants);
        const tenant: Tenant = {
          id: `t${run}-g`,
          displayName: 'Acme',
          enabled: true,
          requireInvite: false,
          trustConfig: {},
          allowedProtocols: ['oid4vci'],
        };
        const error = await failure(tenants.create(newScope(), tenant));
        expect(issuePaths(error)).toEqual(['/scope']);
        expect(await tenants.create(GLOBAL_SCOPE, tenant)).toMatchObject({ tenantId: GLOBAL_SCOPE, version: 1 });
        expect(await failure(tenants.get(newScope(), tenant.id))).toBeInstanceOf(ValidationError);
        await tenants.delete(GLOBAL_SCOPE, tenant.id);
      });

      it('rejects filters on unknown or malformed fields and non-scalar values, before touching data', async () => {
        const scope = newScope();
        await seed(scope, ['a', 'b']);
        const where = (value: unknown) => value as Filter<Widget>;
        const bad = [
          where({ nope: 1 }),
          where({ "color') OR 1=1 --": 'x' }),
          where({ 'data.color': 'red' }),
          where({ $where: 'x' }),
          where({ color: { $ne: 'x' } }),
          where({ tags: ['a'] }),
        ];
        for (const filter of bad) {
          const error = await failure(widgets.deleteMany(scope, filter));
          expect(error).toMatchObject({ code: 'validation_failed' });
          expect(await failure(widgets.findOne(scope, filter))).toBeInstanceOf(ValidationError);
          expect(await failure(widgets.list(scope, { where: filter }))).toBeInstanceOf(ValidationError);
        }
        expect(await widgets.count(scope)).toBe(2);
      });

      it('rejects object keys that contain "." or start with "$"', async () => {
        const keys = store.repository(Collections.serviceKeys);
        const key: ServiceKey = {
          id: `k${run}`,
          purpose: 'sign',
          alg: 'ES256',
          publicJwk: { kty: 'EC', 'a.b': 1 },
          privateJwk: { kty: 'EC' },
          status: 'active',
          publishUntil: null,
        };
        expect(issuePaths(await failure(keys.create(GLOBAL_SCOPE, key)))).toEqual(['/publicJwk/a.b']);
        const dollar = { ...key, publicJwk: { kty: 'EC', nested: [{ $x: 1 }] } };
        expect(issuePaths(await failure(keys.create(GLOBAL_SCOPE, dollar)))).toEqual(['/publicJwk/nested/0/$x']);
        expect(await keys.get(GLOBAL_SCOPE, key.id)).toBeNull();
      });

      it('accepts limits from 1 to 1000 only', async () => {
        const scope = newScope();
        await seed(scope, ['a', 'b']);
        for (const limit of [0, -1, 1001, 2.5, Number.NaN, '5' as unknown as number]) {
          const error = await failure(widgets.list(scope, { limit }));
          expect(issuePaths(error)).toEqual(['/limit']);
        }
        expect((await widgets.list(scope, { limit: 1 })).items).toHaveLength(1);
        expect((await widgets.list(scope, { limit: 1000 })).items).toHaveLength(2);
      });
    });

    describe('uniqueness', () => {
      it('a second record with the same id throws UniqueViolationError naming id, and the first stays', async () => {
        const scope = newScope();
        const first = await widgets.create(scope, widget('w1'));
        const error = await failure(widgets.create(scope, widget('w1', { sku: 'other' })));
        expect(error).toBeInstanceOf(UniqueViolationError);
        expect(error).toMatchObject({ code: 'already_exists', fields: ['id'], collection: 'contract_widgets' });
        expect(await widgets.get(scope, 'w1')).toEqual(first);
        expect(await widgets.findOne(scope, { sku: 'other' })).toBeNull();
      });

      it('a unique index rejects a second record with the same value, naming the fields', async () => {
        const scope = newScope();
        await widgets.create(scope, widget('w1', { sku: 'S' }));
        const error = await failure(widgets.create(scope, widget('w2', { sku: 'S' })));
        expect(error).toBeInstanceOf(UniqueViolationError);
        expect(error).toMatchObject({ fields: ['sku'] });
        expect(await widgets.get(scope, 'w2')).toBeNull();
        expect(await widgets.count(scope, { sku: 'S' })).toBe(1);
      });

      it('uniqueness is per tenant: the same id and unique value are fine in another scope', async () => {
        const a = newScope();
        const b = newScope();
        await widgets.create(a, widget('w1', { sku: 'S' }));
        const other = await widgets.create(b, widget('w1', { sku: 'S', color: 'blue' }));
        expect(other).toMatchObject({ tenantId: b, version: 1, color: 'blue' });
        expect((await widgets.require(a, 'w1')).color).toBe('red');
      });

      it('update onto a taken unique value throws UniqueViolationError and changes nothing', async () => {
        const scope = newScope();
        await widgets.create(scope, widget('w1', { sku: 'S1' }));
        const second = await widgets.create(scope, widget('w2', { sku: 'S2' }));
        const error = await failure(widgets.update(scope, 'w2', widget('w2', { sku: 'S1' }), 1));
        expect(error).toBeInstanceOf(UniqueViolationError);
        expect(error).toMatchObject({ fields: ['sku'] });
        expect(await widgets.get(scope, 'w2')).toEqual(second);
        // Keeping one's own value is not a violation; a freed value can be taken.
        expect((await widgets.update(scope, 'w2', widget('w2', { sku: 'S2', size: 3 }), 1)).version).toBe(2);
        await widgets.update(scope, 'w1', widget('w1', { sku: 'S3' }), 1);
        expect((await widgets.update(scope, 'w2', widget('w2', { sku: 'S1' }), 2)).sku).toBe('S1');
        await widgets.delete(scope, 'w2');
        expect((await widgets.create(scope, widget('w4', { sku: 'S1' }))).sku).toBe('S1');
      });

      it('enforces the unique indexes of the domain collections per tenant', async () => {
        const a = newScope();
        const b = newScope();
        const users = store.repository(Collections.users);
        const user = (id: string, handle: string): User => ({
          id,
          handle,
          displayName: id,
          status: 'active',
          privateData: null,
          privateDataEtag: null,
        });
        await users.create(a, user('u1', 'h1'));
        expect(await failure(users.create(a, user('u2', 'h1')))).toMatchObject({ code: 'already_exists', fields: ['handle'] });
        expect((await users.create(b, user('u2', 'h1'))).tenantId).toBe(b);

        const credentials = store.repository(Collections.credentials);
        const credential = (id: string, userId: string, credentialIdentifier: string): StoredCredential => ({
          id,
          userId,
          credentialIdentifier,
          format: 'dc+sd-jwt',
          credential: 'eyJ...',
        });
        await credentials.create(a, credential('c1', 'u1', 'cid'));
        await credentials.create(a, credential('c2', 'u2', 'cid'));
        const error = await failure(credentials.create(a, credential('c3', 'u1', 'cid')));
        expect(error).toBeInstanceOf(UniqueViolationError);
        expect(error).toMatchObject({ fields: ['userId', 'credentialIdentifier'] });
        expect(await credentials.count(a, { userId: 'u1' })).toBe(1);
      });
    });

    describe('tenant isolation', () => {
      it('no operation on one scope sees or changes another, even when one scope prefixes the other', async () => {
        const a = newScope();
        const prefixed = `${a}-x`;
        const b = newScope();
        for (const scope of [a, prefixed, b]) {
          await widgets.create(scope, widget('w1', { sku: 'S', color: scope === a ? 'red' : 'blue' }));
          await widgets.create(scope, widget('w2', { sku: 'T', color: 'blue' }));
        }
        await widgets.create(b, widget('w3', { sku: 'U', color: 'red' }));

        expect((await widgets.require(a, 'w1')).tenantId).toBe(a);
        expect((await widgets.list(a)).items.map((w) => [w.tenantId, w.id])).toEqual([
          [a, 'w1'],
          [a, 'w2'],
        ]);
        expect((await widgets.list(prefixed)).items.map((w) => w.tenantId)).toEqual([prefixed, prefixed]);
        expect((await widgets.findOne(a, { color: 'red' }))?.tenantId).toBe(a);
        expect(await widgets.findOne(prefixed, { color: 'red' })).toBeNull();
        expect(await widgets.count(a)).toBe(2);
        expect(await widgets.count(b)).toBe(3);
        expect(await widgets.get(a, 'w3')).toBeNull();

        await widgets.update(a, 'w1', widget('w1', { sku: 'S', size: 99 }), 1);
        expect((await widgets.require(b, 'w1')).version).toBe(1);
        expect((await widgets.require(prefixed, 'w1')).size).toBe(1);
        expect(await failure(widgets.update(a, 'w3', widget('w3'), 1))).toBeInstanceOf(NotFoundError);

        await widgets.delete(a, 'w2');
        expect(await widgets.get(b, 'w2')).not.toBeNull();
        expect(await widgets.get(prefixed, 'w2')).not.toBeNull();
        expect(await failure(widgets.delete(a, 'w3'))).toBeInstanceOf(NotFoundError);

        expect(await widgets.deleteMany(b, { color: 'blue' })).toBe(2);
        expect(await widgets.deleteMany(prefixed)).toBe(2);
        expect(await widgets.count(a)).toBe(1);
        expect(await widgets.count(b)).toBe(1);
        expect((await widgets.require(a, 'w1')).size).toBe(99);
      });
    });

    describe('versions', () => {
      it('update with a stale version throws VersionConflictError with both versions, and changes nothing', async () => {
        const scope = newScope();
        await widgets.create(scope, widget('w1'));
        const current = await widgets.update(scope, 'w1', widget('w1', { size: 2 }), 1);
        const error = await failure(widgets.update(scope, 'w1', widget('w1', { size: 3 }), 1));
        expect(error).toBeInstanceOf(VersionConflictError);
        expect(error).toMatchObject({ code: 'version_conflict', expectedVersion: 1, actualVersion: 2 });
        expect(await failure(widgets.update(scope, 'w1', widget('w1'), 5))).toMatchObject({ expectedVersion: 5, actualVersion: 2 });
        expect(await widgets.get(scope, 'w1')).toEqual(current);
      });

      it('delete with a stale version throws VersionConflictError and keeps the record', async () => {
        const scope = newScope();
        await widgets.create(scope, widget('w1'));
        await widgets.update(scope, 'w1', widget('w1', { size: 2 }), 1);
        const error = await failure(widgets.delete(scope, 'w1', 1));
        expect(error).toBeInstanceOf(VersionConflictError);
        expect(error).toMatchObject({ expectedVersion: 1, actualVersion: 2 });
        expect((await widgets.require(scope, 'w1')).size).toBe(2);
      });
    });

    describe('pagination', () => {
      async function collect(scope: string, limit: number, where?: Filter<Widget>) {
        const pages: string[][] = [];
        let cursor: string | undefined;
        for (;;) {
          const page = await widgets.list(scope, { limit, ...(where ? { where } : {}), ...(cursor === undefined ? {} : { cursor }) });
          pages.push(page.items.map((w) => w.id));
          if (page.nextCursor === null) return pages;
          expect(page.items).toHaveLength(limit);
          cursor = page.nextCursor;
          if (pages.length > 100) throw new Error('pagination does not end');
        }
      }

      it('pages cover every record exactly once, in id order, and the last page has no cursor', async () => {
        const scope = newScope();
        const ids = Array.from({ length: 23 }, (_, i) => `w${String(i).padStart(2, '0')}`);
        await seed(scope, shuffle(ids));
        const pages = await collect(scope, 5);
        expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 5, 3]);
        expect(pages.flat()).toEqual(ids);
      });

      it('ends without an empty page when the count is a multiple of the limit', async () => {
        const scope = newScope();
        await seed(scope, ['a', 'b', 'c', 'd']);
        expect(await collect(scope, 2)).toEqual([
          ['a', 'b'],
          ['c', 'd'],
        ]);
      });

      it('orders ids bytewise (upper case before lower case, digits first)', async () => {
        const scope = newScope();
        const ids = ['b', 'B', '9', 'a-1', 'a.1', 'a_1', 'A', 'a~', 'a'];
        await seed(scope, ids);
        expect((await widgets.list(scope)).items.map((w) => w.id)).toEqual([...ids].sort());
      });

      it('a cursor is stable: it gives the same page again and is not shifted by records before it', async () => {
        const scope = newScope();
        await seed(scope, ['b', 'd', 'f', 'h', 'j']);
        const first = await widgets.list(scope, { limit: 2 });
        expect(first.items.map((w) => w.id)).toEqual(['b', 'd']);
        const cursor = first.nextCursor as string;
        expect(typeof cursor).toBe('string');
        const second = await widgets.list(scope, { limit: 2, cursor });
        expect(second.items.map((w) => w.id)).toEqual(['f', 'h']);
        await widgets.create(scope, widget('a'));
        await widgets.create(scope, widget('c'));
        await widgets.create(scope, widget('g'));
        const again = await widgets.list(scope, { limit: 2, cursor });
        expect(again.items.map((w) => w.id)).toEqual(['f', 'g']);
        expect(again.nextCursor).not.toBeNull();
      });

      it('pages through a filtered list', async () => {
        const scope = newScope();
        const ids = Array.from({ length: 12 }, (_, i) => `w${String(i).padStart(2, '0')}`);
        await seed(scope, ids, (_id, i) => ({ color: i % 3 === 0 ? 'blue' : 'red' }));
        const pages = await collect(scope, 3, { color: 'red' });
        expect(pages.map((p) => p.length)).toEqual([3, 3, 2]);
        expect(pages.flat()).toEqual(ids.filter((_id, i) => i % 3 !== 0));
      });

      it('lists 100 records by default', async () => {
        const scope = newScope();
        const ids = Array.from({ length: 105 }, (_, i) => `w${String(i).padStart(3, '0')}`);
        await seed(scope, ids);
        const first = await widgets.list(scope);
        expect(first.items).toHaveLength(100);
        expect(first.items[99]?.id).toBe('w099');
        const rest = await widgets.list(scope, { cursor: first.nextCursor as string });
        expect(rest.items.map((w) => w.id)).toEqual(['w100', 'w101', 'w102', 'w103', 'w104']);
        expect(rest.nextCursor).toBeNull();
      });

      it('an empty scope lists nothing', async () => {
        expect(await widgets.list(newScope())).toEqual({ items: [], nextCursor: null });
      });

      it('rejects cursors it did not make with ValidationError', async () => {
        const scope = newScope();
        await seed(scope, ['a', 'b']);
        const cursors = [
          'not a cursor',
          '',
          'YWI=',
          'YWJ',
          Buffer.from('has space').toString('base64url'),
          Buffer.from('é').toString('base64url'),
          'x'.repeat(400),
        ];
        for (const cursor of cursors) {
          const error = await failure(widgets.list(scope, { cursor }));
          expect(issuePaths(error)).toEqual(['/cursor']);
        }
        expect((await widgets.list(scope, { cursor: Buffer.from('a').toString('base64url') })).items.map((w) => w.id)).toEqual(['b']);
      });
    });

    describe('concurrent writers', () => {
      it(`of two writers with the same expected version exactly one wins (${rounds} rounds)`, async () => {
        const scope = newScope();
        for (let round = 0; round < rounds; round++) {
          const id = `r${round}`;
          await widgets.create(scope, widget(id));
          const [first, second] = await Promise.allSettled([
            widgets.update(scope, id, widget(id, { color: 'writer-a', size: 10 }), 1),
            peerWidgets.update(scope, id, widget(id, { color: 'writer-b', size: 20 }), 1),
          ]);
          const won = [first, second].filter((r) => r.status === 'fulfilled');
          const lost = [first, second].filter((r) => r.status === 'rejected');
          expect(won).toHaveLength(1);
          expect(lost).toHaveLength(1);
          expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(VersionConflictError);
          const winner = (won[0] as PromiseFulfilledResult<Stored<Widget>>).value;
          expect(winner.version).toBe(2);
          const stored = await peerWidgets.require(scope, id);
          expect(stored).toEqual(winner);
          expect(stored.size).toBe(stored.color === 'writer-a' ? 10 : 20);
        }
      });

      it('read-modify-write loops that retry on conflict lose no increment', async () => {
        const scope = newScope();
        await widgets.create(scope, widget('counter', { size: 0 }));
        const increment = async (repo: Repository<Widget>) => {
          for (let attempt = 0; attempt < 1000; attempt++) {
            const current = await repo.require(scope, 'counter');
            try {
              await repo.update(scope, 'counter', { ...current, size: current.size + 1 }, current.version);
              return;
            } catch (error) {
              if (!(error instanceof VersionConflictError)) throw error;
            }
          }
          throw new Error('gave up after 1000 conflicts');
        };
        const worker = async (repo: Repository<Widget>) => {
          for (let i = 0; i < 8; i++) await increment(repo);
        };
        await Promise.all([worker(widgets), worker(peerWidgets), worker(widgets), worker(peerWidgets)]);
        const counter = await widgets.require(scope, 'counter');
        expect(counter.size).toBe(32);
        expect(counter.version).toBe(33);
      });

      it('an update racing a versioned delete: exactly one of them succeeds', async () => {
        const scope = newScope();
        for (let round = 0; round < 5; round++) {
          const id = `d${round}`;
          await widgets.create(scope, widget(id));
          const [updated, deleted] = await Promise.allSettled([
            widgets.update(scope, id, widget(id, { size: 5 }), 1),
            peerWidgets.delete(scope, id, 1),
          ]);
          expect([updated.status, deleted.status].filter((s) => s === 'fulfilled')).toHaveLength(1);
          const stored = await widgets.get(scope, id);
          if (updated.status === 'fulfilled') {
            expect(stored).toMatchObject({ version: 2, size: 5 });
            expect((deleted as PromiseRejectedResult).reason).toBeInstanceOf(VersionConflictError);
          } else {
            expect(stored).toBeNull();
            expect(updated.reason).toBeInstanceOf(Error);
            expect(['not_found', 'version_conflict']).toContain((updated.reason as { code?: string }).code);
          }
        }
      });

      it('of concurrent creates with the same unique value exactly one succeeds', async () => {
        const scope = newScope();
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? widgets : peerWidgets).create(scope, widget(`w${i}`, { sku: 'same' }))),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const result of results) {
          if (result.status === 'rejected') {
            expect(result.reason).toBeInstanceOf(UniqueViolationError);
            expect(result.reason).toMatchObject({ fields: ['sku'] });
          }
        }
        expect(await widgets.count(scope, { sku: 'same' })).toBe(1);
        expect(await widgets.count(scope)).toBe(1);
      });

      it('of concurrent creates with the same id exactly one succeeds', async () => {
        const scope = newScope();
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? widgets : peerWidgets).create(scope, widget('same', { sku: `s${i}` }))),
        );
        const won = results.filter((r): r is PromiseFulfilledResult<Stored<Widget>> => r.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const result of results) {
          if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 'already_exists', fields: ['id'] });
        }
        expect((await widgets.require(scope, 'same')).sku).toBe(won[0]?.value.sku);
      });
    });

    describe('deleteMany', () => {
      it('removes the matching records of the scope and returns how many', async () => {
        const scope = newScope();
        await seed(scope, ['a', 'b', 'c', 'd', 'e'], (_id, i) => ({ color: i < 3 ? 'red' : 'blue' }));
        expect(await widgets.deleteMany(scope, { color: 'red' })).toBe(3);
        expect((await widgets.list(scope)).items.map((w) => w.id)).toEqual(['d', 'e']);
        expect(await widgets.deleteMany(scope, { color: 'red' })).toBe(0);
        expect(await widgets.deleteMany(scope)).toBe(2);
        expect(await widgets.count(scope)).toBe(0);
        // The freed unique values can be used again.
        expect((await widgets.create(scope, widget('a'))).sku).toBe('sku-a');
      });
    });

    describe('returned values are copies', () => {
      it('mutating what the store returned or was given does not change the stored record', async () => {
        const scope = newScope();
        const input = widget('w1');
        const created = await widgets.create(scope, input);
        const original = widget('w1');
        input.tags.push('input');
        (input.attrs as { label?: string }).label = 'input';
        created.color = 'mutated';
        created.tags.push('mutated');
        const got = await widgets.require(scope, 'w1');
        expect(got).toMatchObject({ color: original.color, tags: original.tags, attrs: original.attrs });
        got.tags.length = 0;
        got.attrs.weight = 100;
        const listed = (await widgets.list(scope)).items[0] as Stored<Widget>;
        expect(listed).toMatchObject({ tags: original.tags, attrs: original.attrs });
        listed.sku = 'changed';
        const found = (await widgets.findOne(scope, { sku: original.sku })) as Stored<Widget>;
        expect(found.sku).toBe(original.sku);
        found.tags.push('found');
        const updated = await widgets.update(scope, 'w1', found, 1);
        updated.tags.push('updated');
        expect((await widgets.require(scope, 'w1')).tags).toEqual([...original.tags, 'found']);
      });
    });

    describe('domain collections', () => {
      it('defines every entity collection', () => {
        expect(Object.keys(Collections).sort()).toEqual(
          [
            'auditEvents',
            'credentials',
            'invites',
            'issuers',
            'memberships',
            'passkeys',
            'presentations',
            'refreshTokens',
            'serviceKeys',
            'keyRings',
            'tenants',
            'users',
            'verifiers',
            'typeMetadata',
            'verifierServices',
          ].sort(),
        );
        expect(Collections.tenants.global).toBe(true);
        expect(Collections.serviceKeys.global).toBe(true);
        expect(Collections.keyRings.global).toBe(true);
        expect(Collections.users.global).toBeFalsy();
      });

      it('stores and finds a record of every entity', async () => {
        const scope = newScope();
        const roundTrip = async <T extends { id: string }>(
          spec: CollectionSpec<T>,
          recordScope: string,
          value: NoInfer<T>,
          where: NoInfer<Filter<T>>,
        ) => {
          const repo = store.repository(spec);
          const created = await repo.create(recordScope, value);
          expect(created).toEqual({
            ...value,
            tenantId: recordScope,
            version: 1,
            createdAt: '2030-01-02T03:04:05.000Z',
            updatedAt: '2030-01-02T03:04:05.000Z',
          });
          expect(await peer.repository(spec).findOne(recordScope, where)).toEqual(created);
          expect(await repo.count(recordScope, where)).toBe(1);
          if (recordScope === GLOBAL_SCOPE) await repo.delete(recordScope, value.id, 1);
        };
        await roundTrip(
          Collections.tenants,
          GLOBAL_SCOPE,
          {
            id: `t${run}-s`,
            displayName: 'T',
            enabled: true,
            requireInvite: true,
            trustConfig: { pdpUrl: 'https://pdp.example' },
            allowedProtocols: [],
          },
          { displayName: 'T', enabled: true },
        );
        await roundTrip(
          Collections.users,
          scope,
          { id: 'u1', handle: 'aGFuZGxl', displayName: 'U', status: 'active', privateData: 'blob', privateDataEtag: 'e1' },
          { handle: 'aGFuZGxl' },
        );
        await roundTrip(Collections.memberships, scope, { id: 'm1', userId: 'u1', role: 'admin' }, { userId: 'u1' });
        await roundTrip(
          Collections.passkeys,
          scope,
          {
            id: 'cred-id_1',
            userId: 'u1',
            publicKey: 'pk',
            counter: 0,
            transports: ['internal'],
            prfCapable: true,
            name: 'Phone',
            lastUsedAt: null,
          },
          { userId: 'u1', lastUsedAt: null },
        );
        await roundTrip(
          Collections.credentials,
          scope,
          { id: 'c1', userId: 'u1', credentialIdentifier: 'ci', format: 'jwt_vc_json', credential: 'x' },
          { userId: 'u1', credentialIdentifier: 'ci' },
        );
        await roundTrip(
          Collections.presentations,
          scope,
          { id: 'p1', userId: 'u1', presentationIdentifier: 'pi', presentation: 'y', audience: null },
          { presentationIdentifier: 'pi' },
        );
        await roundTrip(
          Collections.issuers,
          scope,
          { id: 'i1', credentialIssuerIdentifier: 'https://issuer.example', clientId: null, visible: true, clientPrivateKey: null },
          { credentialIssuerIdentifier: 'https://issuer.example', visible: true },
        );
        await roundTrip(Collections.verifiers, scope, { id: 'v1', name: 'V', url: 'https://verifier.example' }, { name: 'V' });
        await roundTrip(
          Collections.invites,
          scope,
          { id: 'inv1', codeHash: 'hash', expiresAt: null, maxUses: 1, uses: 0, revoked: false },
          { codeHash: 'hash', revoked: false },
        );
        await roundTrip(
          Collections.serviceKeys,
          GLOBAL_SCOPE,
          {
            id: `k${run}-s`,
            purpose: `p${run}`,
            alg: 'EdDSA',
            publicJwk: { kty: 'OKP', crv: 'Ed25519', x: 'abc' },
            privateJwk: { kty: 'OKP', d: 'def' },
            status: 'active',
            publishUntil: null,
          },
          { purpose: `p${run}` },
        );
        const ringKey = {
          kid: 'kid-1',
          alg: 'ES256' as const,
          publicJwk: { kty: 'EC', crv: 'P-256', x: 'abc', y: 'def' },
          privateJwk: { wrapped: 'jwe' },
          publishedAt: '2030-01-02T03:04:05.000Z',
          activeFrom: '2030-01-02T03:04:05.000Z',
          publishUntil: null,
        };
        await roundTrip(Collections.keyRings, GLOBAL_SCOPE, { id: `ring${run}`, keys: [ringKey, { ...ringKey, kid: 'kid-2' }] }, { id: `ring${run}` });
      });
    });

    describe('lifecycle', () => {
      it('ping resolves on an open store and closed stores reject with UnavailableError', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
        const extra = await makeStore(deps);
        opened.push(extra);
        expect(extra.driver).toBe(store.driver);
        const repo = extra.repository(Widgets);
        await repo.create(newScope(), widget('w1'));
        await extra.close();
        const error = await failure(extra.ping());
        expect(error).toBeInstanceOf(UnavailableError);
        expect(error).toMatchObject({ code: 'unavailable' });
        expect(await failure(repo.get(newScope(), 'w1'))).toBeInstanceOf(UnavailableError);
        expect(() => extra.repository(Collections.users)).toThrow(UnavailableError);
        await extra.close();
      });

      it('refuses a second spec with the same name but other indexes', () => {
        const clash: CollectionSpec<Widget> = { ...Widgets, indexes: [{ fields: ['color'], unique: true }] };
        expect(() => store.repository(clash)).toThrow(/different index/);
        expect(() => store.repository({ ...Widgets, name: 'Bad-Name' })).toThrow(/collection name/);
        expect(() => store.repository({ ...Widgets, name: 'w2', indexes: [{ fields: ['note'], unique: true }] })).toThrow(/nullable/);
      });

      if (options.durable && options.openPeer) {
        const openPeer = options.openPeer;
        it('keeps acknowledged writes across close and reopen', async () => {
          const scope = newScope();
          const first = await makeStore(deps);
          opened.push(first);
          const repo = first.repository(Widgets);
          await repo.create(scope, widget('w1'));
          const updated = await repo.update(scope, 'w1', widget('w1', { size: 42 }), 1);
          await repo.create(scope, widget('w2'));
          await repo.delete(scope, 'w2');
          await first.close();
          const reopened = await openPeer(deps);
          opened.push(reopened);
          const again = reopened.repository(Widgets);
          expect(await again.get(scope, 'w1')).toEqual(updated);
          expect(await again.get(scope, 'w2')).toBeNull();
          expect(await failure(again.create(scope, widget('w3', { sku: 'sku-w1' })))).toBeInstanceOf(UniqueViolationError);
        });
      }
    });
  });
}
