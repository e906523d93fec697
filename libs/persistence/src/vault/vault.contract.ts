import { LimitExceededError, NotFoundError, PreconditionFailedError, UniqueViolationError, ValidationError, VersionConflictError } from '@wallet/domain';
import { matchesWql, parseWql } from '@wallet/wql';
import { randomBytes } from 'node:crypto';
import type { Store, StoreDeps } from '../ports';
import { decodeVaultArchive, encodeVaultArchive } from './vault-archive';
import type { VaultChange, VaultOwner, VaultRecordInput, VaultStore } from './vault-ports';

/**
 * The behaviour every driver's vault must have, as one Jest suite (memory,
 * SQLite, MongoDB/FerretDB). Queries are checked against the reference
 * matcher of @wallet/wql over the same data.
 */
export interface VaultContractOptions {
  /** A second store on the same database (another process, as far as the store can tell). */
  openPeer?: (deps: StoreDeps) => Promise<Store>;
  timeoutMs?: number;
}

let owners = 0;
/** A fresh owner per test, so tests never see each other's records. */
function freshOwner(tenantId = 'acme'): VaultOwner {
  return { tenantId, userId: `u${Date.now().toString(36)}${(owners++).toString(36)}${randomBytes(2).toString('hex')}` };
}

const blob = (bytes = 64) => randomBytes(bytes).toString('base64url');
const b64 = (text: string) => Buffer.from(text).toString('base64url');

function record(id: string, overrides: Partial<VaultRecordInput> = {}): VaultRecordInput {
  return { id, category: b64('credential'), blob: blob(), tags: { [b64('type')]: b64('pid') }, ...overrides };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

async function allChanges(vault: VaultStore, owner: VaultOwner, since: string | null, limit = 7) {
  const changes: VaultChange[] = [];
  let cursor = since;
  for (;;) {
    const page = await vault.changes(owner, cursor, limit);
    changes.push(...page.changes);
    cursor = page.cursor;
    if (!page.hasMore) return { changes, cursor: cursor ?? '0' };
  }
}

export function runVaultContract(name: string, makeStore: (deps: StoreDeps) => Promise<Store>, options: VaultContractOptions = {}): void {
  const timeout = options.timeoutMs ?? 60_000;

  describe(`vault contract: ${name}`, () => {
    let store: Store;
    let vault: VaultStore;
    let clock = new Date('2026-03-01T10:00:00.000Z');
    const deps: StoreDeps = { now: () => clock };

    beforeAll(async () => {
      store = await makeStore(deps);
      vault = store.vault();
    }, timeout);

    afterAll(async () => {
      await store?.close();
    }, timeout);

    describe('records', () => {
      it('create, get, replace with compare-and-set, delete with a tombstone', async () => {
        const owner = freshOwner();
        const created = await vault.create(owner, record('r1'));
        expect(created).toEqual({ ...record('r1', { blob: created.blob }), version: 1, updatedAt: '2026-03-01T10:00:00.000Z' });
        expect(await vault.get(owner, 'r1')).toEqual(created);

        clock = new Date('2026-03-01T11:00:00.000Z');
        const next = record('r1', { tags: { '~label': 'Ann', [b64('x')]: b64('y') } });
        const replaced = await vault.replace(owner, next, 1);
        expect(replaced).toEqual({ ...next, version: 2, updatedAt: '2026-03-01T11:00:00.000Z' });

        const stale = await failure(vault.replace(owner, record('r1'), 1));
        expect(stale).toBeInstanceOf(VersionConflictError);
        expect(stale).toMatchObject({ expectedVersion: 1, actualVersion: 2 });
        expect(await vault.get(owner, 'r1')).toEqual(replaced);

        expect(await failure(vault.delete(owner, 'r1', 1))).toMatchObject({ code: 'version_conflict', actualVersion: 2 });
        await vault.delete(owner, 'r1', 2);
        expect(await vault.get(owner, 'r1')).toBeNull();
        expect(await failure(vault.delete(owner, 'r1'))).toBeInstanceOf(NotFoundError);
        expect(await failure(vault.replace(owner, record('r1'), 3))).toBeInstanceOf(NotFoundError);
        expect((await vault.list(owner)).items).toEqual([]);
        expect(await vault.usage(owner)).toEqual({ records: 0, bytes: 0 });

        // Re-created after a delete, the record continues after its tombstone's version.
        expect(await vault.create(owner, record('r1'))).toMatchObject({ version: 4 });
      });

      it('a second create with a live id throws UniqueViolationError and keeps the first', async () => {
        const owner = freshOwner();
        const first = await vault.create(owner, record('dup'));
        expect(await failure(vault.create(owner, record('dup')))).toBeInstanceOf(UniqueViolationError);
        expect(await vault.get(owner, 'dup')).toEqual(first);
      });

      it('counts records and bytes per owner', async () => {
        const owner = freshOwner();
        await vault.create(owner, record('a', { blob: b64('x'.repeat(300)), tags: {} }));
        await vault.create(owner, record('b', { blob: b64('x'.repeat(30)), tags: { '~n': '12' } }));
        const category = b64('credential').length;
        expect(await vault.usage(owner)).toEqual({ records: 2, bytes: 300 + 1 + category + 30 + 1 + category + 4 });
        await vault.delete(owner, 'a');
        expect(await vault.usage(owner)).toEqual({ records: 1, bytes: 30 + 1 + category + 4 });
      });
    });

    describe('isolation', () => {
      it('no operation of one user or tenant reaches another owner with the same record id', async () => {
        const alice = freshOwner('acme');
        const bob = { tenantId: 'acme', userId: `${alice.userId}x` };
        const other = { tenantId: 'acme-2', userId: alice.userId };
        await vault.create(alice, record('shared'));
        expect(await vault.get(bob, 'shared')).toBeNull();
        expect(await vault.get(other, 'shared')).toBeNull();
        expect(await failure(vault.replace(bob, record('shared'), 1))).toBeInstanceOf(NotFoundError);
        expect(await failure(vault.delete(other, 'shared'))).toBeInstanceOf(NotFoundError);
        expect((await vault.list(bob)).items).toEqual([]);
        expect((await vault.query(other, parseWql({}))).items).toEqual([]);
        expect((await vault.changes(bob, null)).changes).toEqual([]);
        // Each owner may use the id on its own.
        await vault.create(bob, record('shared'));
        expect((await vault.get(alice, 'shared'))?.version).toBe(1);
        expect(await vault.usage(alice)).toMatchObject({ records: 1 });
      });

      it('erasing an owner removes every record, tombstone, tag and the sync state, and no other owner’s; a repeat is 0', async () => {
        const alice = freshOwner('acme');
        const bob = { tenantId: 'acme', userId: `${alice.userId}x` };
        const other = { tenantId: 'acme-2', userId: alice.userId };
        clock = new Date('2026-06-01T00:00:00.000Z');
        for (const owner of [alice, bob, other]) {
          for (const id of ['a', 'b', 'c']) await vault.create(owner, record(id, { tags: { '~label': `label ${id}`, [b64('type')]: b64(id) } }));
          await vault.delete(owner, 'b');
        }
        // Alice's purge horizon is raised too: her sync state is more than a seq.
        await vault.purgeTombstones('2026-06-02T00:00:00.000Z');
        await vault.delete(alice, 'c');
        const before = async (owner: VaultOwner) => ({ records: (await vault.list(owner)).items, changes: (await vault.changes(owner, null)).changes, usage: await vault.usage(owner) });
        const bobBefore = await before(bob);
        const otherBefore = await before(other);

        expect(await vault.eraseOwner(alice)).toBe(1);

        expect(await vault.get(alice, 'a')).toBeNull();
        expect((await vault.list(alice)).items).toEqual([]);
        expect((await vault.query(alice, parseWql({ '~label': { $like: 'label%' } }))).items).toEqual([]);
        expect((await vault.query(alice, parseWql({ $not: { '~label': 'none' } }))).items).toEqual([]);
        expect(await vault.changes(alice, null)).toEqual({ changes: [], cursor: '0', hasMore: false });
        expect(await vault.usage(alice)).toEqual({ records: 0, bytes: 0 });
        expect(await before(bob)).toEqual(bobBefore);
        expect(await before(other)).toEqual(otherBefore);
        expect(await vault.eraseOwner(alice)).toBe(0);
        expect(await vault.eraseOwner(freshOwner())).toBe(0);
        expect(await failure(vault.eraseOwner({ tenantId: 'ACME', userId: 'u' }))).toBeInstanceOf(ValidationError);
        // The owner's state starts over: a new record is version 1 and the first change.
        expect(await vault.create(alice, record('a'))).toMatchObject({ version: 1 });
        expect((await vault.changes(alice, null)).changes.map((c) => [c.id, c.seq])).toEqual([['a', 1]]);
      });

      it('refuses malformed owners before touching data', async () => {
        for (const owner of [{ tenantId: 'ACME', userId: 'u' }, { tenantId: 'acme', userId: 'a b' }, { tenantId: 'a|b', userId: 'u' }]) {
          expect(await failure(vault.get(owner, 'x'))).toBeInstanceOf(ValidationError);
        }
      });
    });

    describe('validation and limits', () => {
      it('names every bad field of a record', async () => {
        const error = await failure(
          vault.create(freshOwner(), { id: 'has space', category: '', blob: 'not base64!', tags: { plain: 'clear text', $x: 'y' } }),
        );
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).issues.map((issue) => issue.path).sort()).toEqual(['/blob', '/category', '/id', '/tags/$x', '/tags/plain']);
      });

      it('enforces blob size, records, bytes, tags per record and tag lengths from its limits', async () => {
        const limited = store.vault({
          maxBlobBytes: 100,
          maxRecordsPerUser: 3,
          maxBytesPerUser: 250,
          maxTagsPerRecord: 2,
          maxTagNameLength: 8,
          maxTagValueLength: 10,
        });
        const owner = freshOwner();
        const big = await failure(limited.create(owner, record('big', { blob: blob(101), tags: {} })));
        expect(big).toBeInstanceOf(LimitExceededError);
        expect(big).toMatchObject({ code: 'payload_too_large', details: { limit: 'maxBlobBytes', max: 100 } });
        expect(await failure(limited.create(owner, record('t', { tags: { '~a': '1', '~b': '2', '~c': '3' } })))).toMatchObject({
          code: 'validation_failed',
          issues: [{ path: '/tags', message: 'at most 2 tags' }],
        });
        expect(await failure(limited.create(owner, record('t', { tags: { '~toolongname': '1' } })))).toMatchObject({
          issues: [{ path: '/tags/~0toolongname' }],
        });
        expect(await failure(limited.create(owner, record('t', { tags: { '~a': '12345678901' } })))).toMatchObject({
          issues: [{ path: '/tags/~0a' }],
        });
        for (const id of ['a', 'b', 'c']) await limited.create(owner, record(id, { blob: blob(60), tags: {} }));
        expect(await failure(limited.create(owner, record('d', { blob: blob(10), tags: {} })))).toMatchObject({
          details: { limit: 'maxRecordsPerUser', max: 3 },
        });
        // Each record: blob 60 + id 1 + category 14 = 75 bytes.
        await limited.delete(owner, 'c');
        expect(await failure(limited.create(owner, record('d', { blob: blob(99), tags: {} })))).toMatchObject({
          details: { limit: 'maxBytesPerUser', max: 250 },
        });
        expect(await limited.replace(owner, record('a', { blob: blob(99), tags: {} }), 1)).toMatchObject({ version: 2 });
        await limited.create(owner, record('d', { blob: blob(40), tags: {} }));
        expect(await limited.usage(owner)).toEqual({ records: 3, bytes: 114 + 75 + 55 });
        // A replace that grows past the quota is refused, and nothing changed.
        const before = await limited.get(owner, 'b');
        expect(await failure(limited.replace(owner, record('b', { blob: blob(70), tags: {} }), 1))).toMatchObject({
          details: { limit: 'maxBytesPerUser' },
        });
        expect(await limited.get(owner, 'b')).toEqual(before);
      });
    });

    describe('list and WQL query', () => {
      const owner = freshOwner();
      const types = ['pid', 'mdl', 'diploma'];
      const plain: Array<{ id: string; category: string; tags: Record<string, string> }> = [];

      beforeAll(async () => {
        for (let i = 0; i < 40; i++) {
          const tags: Record<string, string> = { type: types[i % 3] as string, '~n': String(i).padStart(3, '0') };
          if (i % 4 === 0) tags['revoked'] = 'yes';
          if (i % 5 === 0) tags['~name'] = i % 2 === 0 ? `Ann ${i}` : `ann.${i}`;
          plain.push({ id: `rec-${String(i).padStart(2, '0')}`, category: i % 2 === 0 ? 'credential' : 'presentation', tags });
        }
        // Blinding stand-in: base64url of names and values of non-~ tags, as a client would send ciphertexts.
        for (const item of plain) {
          await vault.create(owner, { id: item.id, category: b64(item.category), blob: blob(16), tags: blind(item.tags) });
        }
        // A deleted record never shows up.
        await vault.create(owner, record('zz-deleted', { tags: blind({ type: 'pid' }) }));
        await vault.delete(owner, 'zz-deleted');
      }, timeout);

      function blind(tags: Record<string, string>): Record<string, string> {
        return Object.fromEntries(Object.entries(tags).map(([n, v]) => (n.startsWith('~') ? [n, v] : [b64(n), b64(v)])));
      }

      it('lists by category in id order with a cursor, every record once', async () => {
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await vault.list(owner, { category: b64('presentation'), limit: 6, ...(cursor ? { cursor } : {}) });
          expect(page.items.length).toBeLessThanOrEqual(6);
          seen.push(...page.items.map((item) => item.id));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        expect(seen).toEqual(plain.filter((p) => p.category === 'presentation').map((p) => p.id));
        expect((await vault.list(owner, { limit: 1000 })).items).toHaveLength(40);
        expect(await failure(vault.list(owner, { cursor: 'bogus!' }))).toBeInstanceOf(ValidationError);
      });

      const queries: unknown[] = [
        {},
        { type: 'pid' },
        { type: 'pid', revoked: 'yes' },
        { type: { $neq: 'pid' } },
        { revoked: { $neq: 'no' } },
        { type: { $in: ['mdl', 'diploma'] } },
        { $exist: ['revoked'] },
        { $exist: ['revoked', '~name'] },
        { $not: { $exist: 'revoked' } },
        { $not: { type: 'pid' } },
        { $or: [{ type: 'pid' }, { revoked: 'yes' }] },
        { $or: [] },
        { $and: [] },
        { '~n': { $gt: '030' } },
        { '~n': { $gte: '030' }, type: 'pid' },
        { '~n': { $lt: '005' } },
        { '~n': { $lte: '005' } },
        { '~name': { $like: 'Ann%' } },
        { '~name': { $like: 'ann._5' } },
        { '~name': { $like: '%1%' } },
        { $or: [{ '~n': { $lt: '003' } }, { $and: [{ type: 'mdl' }, { $not: { revoked: 'yes' } }] }] },
        { type: 'none' },
        { nope: { $neq: 'x' } },
      ];

      it('random query shapes (seeded: NOT, AND and OR over negations, empty clauses) match the reference evaluation', async () => {
        let seed = 0x5eed;
        const next = (n: number) => {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          return (seed >>> 8) % n;
        };
        const leaves: unknown[] = [
          { type: 'pid' },
          { type: 'mdl' },
          { revoked: 'yes' },
          { type: { $neq: 'diploma' } },
          { '~n': { $lt: '012' } },
          { '~n': { $gte: '030' } },
          { $exist: ['~name'] },
          { type: { $in: ['pid', 'diploma'] } },
          {},
        ];
        const shape = (depth: number): unknown => {
          const pick = depth === 0 ? 0 : next(5);
          if (pick === 0) return leaves[next(leaves.length)];
          if (pick === 1) return { $not: shape(depth - 1) };
          const list = Array.from({ length: next(4) }, () => shape(depth - 1));
          return pick === 2 ? { $and: list } : pick === 3 ? { $or: list } : { ...(leaves[next(leaves.length)] as object), $not: shape(depth - 1) };
        };
        for (let i = 0; i < 150; i++) {
          const query = shape(4);
          const expected = plain.filter((p) => matchesWql(parseWql(query), p.tags)).map((p) => p.id);
          const found = await vault.query(owner, parseWql(blindQuery(query)), { limit: 1000 });
          expect({ query, ids: found.items.map((item) => item.id) }).toEqual({ query, ids: expected });
        }
      }, timeout);

      it.each(queries.map((q) => [JSON.stringify(q), q]))('query %s matches the reference evaluation', async (_label, query) => {
        const node = parseWql(query);
        const expected = plain.filter((p) => matchesWql(node, p.tags)).map((p) => p.id);
        const blindedNode = parseWql(blindQuery(query));
        const found = await vault.query(owner, blindedNode, { limit: 1000 });
        expect(found.items.map((item) => item.id)).toEqual(expected);
      });

      it('pages through a query and combines it with a category', async () => {
        const node = parseWql(blindQuery({ $not: { type: 'pid' } }));
        const ids: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await vault.query(owner, node, { category: b64('credential'), limit: 4, ...(cursor ? { cursor } : {}) });
          ids.push(...page.items.map((item) => item.id));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        expect(ids).toEqual(plain.filter((p) => p.category === 'credential' && p.tags['type'] !== 'pid').map((p) => p.id));
      });

      function blindQuery(query: unknown): unknown {
        if (Array.isArray(query)) return query.map(blindQuery);
        if (query === null || typeof query !== 'object') return query;
        const out: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
          if (key === '$exist') out[key] = Array.isArray(value) ? value.map((n: string) => (n.startsWith('~') ? n : b64(n))) : b64(value as string);
          else if (key.startsWith('$')) out[key] = blindQuery(value);
          else if (key.startsWith('~')) out[key] = value;
          else if (typeof value === 'string') out[b64(key)] = b64(value);
          else {
            const [op, operand] = Object.entries(value as Record<string, unknown>)[0] as [string, unknown];
            out[b64(key)] = { [op]: Array.isArray(operand) ? operand.map((v: string) => b64(v)) : b64(operand as string) };
          }
        }
        return out;
      }
    });

    describe('sync', () => {
      it('an offline device catches up exactly: every change once, at its latest state, in order', async () => {
        const owner = freshOwner();
        for (let i = 0; i < 10; i++) await vault.create(owner, record(`s${i}`));
        const first = await allChanges(vault, owner, null, 3);
        expect(first.changes.map((c) => c.id)).toEqual(Array.from({ length: 10 }, (_, i) => `s${i}`));
        expect(first.changes.every((c) => !c.deleted && c.version === 1)).toBe(true);
        const seqs = first.changes.map((c) => c.seq);
        expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);

        // The device goes offline; others change things.
        await vault.replace(owner, record('s3', { tags: { '~v': '2' } }), 1);
        await vault.delete(owner, 's5');
        await vault.create(owner, record('s10'));
        await vault.replace(owner, record('s3', { tags: { '~v': '3' } }), 2);
        await vault.delete(owner, 's10');

        const caughtUp = await allChanges(vault, owner, first.cursor, 2);
        expect(caughtUp.changes.map((c) => [c.id, c.deleted, c.version])).toEqual([
          ['s5', true, 2],
          ['s3', false, 3],
          ['s10', true, 2],
        ]);
        expect(caughtUp.changes[1]).toMatchObject({ tags: { '~v': '3' } });
        // Nothing new: the same cursor, no changes.
        expect(await vault.changes(owner, caughtUp.cursor)).toEqual({ changes: [], cursor: caughtUp.cursor, hasMore: false });
        expect(await failure(vault.changes(owner, 'abc'))).toBeInstanceOf(ValidationError);
      });

      it('purges old tombstones; a cursor that needed them is refused, a fresh sync and newer cursors work', async () => {
        const owner = freshOwner();
        const bystander = freshOwner();
        clock = new Date('2026-04-01T00:00:00.000Z');
        for (const id of ['a', 'b', 'c']) await vault.create(owner, record(id));
        await vault.create(bystander, record('x'));
        const device = await vault.changes(owner, null);
        clock = new Date('2026-04-02T00:00:00.000Z');
        await vault.delete(owner, 'b');
        await vault.create(owner, record('d'));
        const upToDate = (await vault.changes(owner, null)).cursor;
        clock = new Date('2026-05-01T00:00:00.000Z');
        await vault.delete(owner, 'c');
        const usage = await vault.usage(owner);

        expect(await vault.purgeTombstones('2026-04-15T00:00:00.000Z')).toBeGreaterThanOrEqual(1);
        // b's tombstone is gone: the device that never saw it must resync.
        expect(await failure(vault.changes(owner, device.cursor))).toMatchObject({ code: 'precondition_failed', reason: 'sync_cursor_expired' });
        // A cursor past the purged tombstone still works and gets c's (newer) tombstone.
        expect((await vault.changes(owner, upToDate)).changes.map((c) => [c.id, c.deleted])).toEqual([['c', true]]);
        const fresh = await vault.changes(owner, null);
        expect(fresh.changes.map((c) => [c.id, c.deleted])).toEqual([
          ['a', false],
          ['d', false],
          ['c', true],
        ]);
        expect(await vault.usage(owner)).toEqual(usage);
        // Other owners' feeds are untouched; a purged id can be created again.
        expect((await vault.changes(bystander, '0')).changes.map((c) => c.id)).toEqual(['x']);
        expect(await vault.create(owner, record('b'))).toMatchObject({ id: 'b' });
        expect(await vault.purgeTombstones('2026-04-15T00:00:00.000Z')).toBe(0);
        expect(await failure(vault.purgeTombstones('yesterday'))).toBeInstanceOf(ValidationError);
      });

      it('writes from two stores (processes) get distinct, ordered seqs and sync sees them all', async () => {
        const owner = freshOwner();
        const peer = options.openPeer ? await options.openPeer(deps) : store;
        try {
          const other = peer.vault();
          await Promise.all(
            Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? vault : other).create(owner, record(`p${i}`))),
          );
          const { changes } = await allChanges(vault, owner, null, 5);
          expect(changes.map((c) => c.id).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `p${i}`).sort());
          const seqs = changes.map((c) => c.seq);
          expect(new Set(seqs).size).toBe(20);
          expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
          expect(await vault.usage(owner)).toMatchObject({ records: 20 });
        } finally {
          if (peer !== store) await peer.close();
        }
      }, timeout);

      it('of two devices replacing the same version exactly one wins; the other gets the current version', async () => {
        const owner = freshOwner();
        const peer = options.openPeer ? await options.openPeer(deps) : store;
        try {
          const other = peer.vault();
          for (let round = 0; round < 5; round++) {
            const id = `c${round}`;
            await vault.create(owner, record(id));
            const results = await Promise.allSettled([
              vault.replace(owner, record(id, { tags: { '~by': 'a' } }), 1),
              other.replace(owner, record(id, { tags: { '~by': 'b' } }), 1),
            ]);
            const won = results.filter((r) => r.status === 'fulfilled');
            const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
            expect(won).toHaveLength(1);
            expect(lost[0]?.reason).toBeInstanceOf(VersionConflictError);
            expect(lost[0]?.reason).toMatchObject({ actualVersion: 2 });
            expect((await vault.get(owner, id))?.version).toBe(2);
          }
        } finally {
          if (peer !== store) await peer.close();
        }
      }, timeout);
    });

    describe('export and import', () => {
      async function archiveText(owner: VaultOwner): Promise<string> {
        let text = '';
        for await (const chunk of encodeVaultArchive({ exportedAt: clock.toISOString(), keystore: { wrapped: 'k' } }, vault.exportRecords(owner, 3))) {
          text += chunk;
        }
        return text;
      }

      it('exports every live record and imports them all into an empty vault of another tenant', async () => {
        const source = freshOwner();
        for (let i = 0; i < 8; i++) await vault.create(source, record(`e${i}`, { tags: { '~i': String(i) } }));
        await vault.delete(source, 'e7');
        const text = await archiveText(source);
        const archive = decodeVaultArchive(text, 1000);
        expect(archive.header.keystore).toEqual({ wrapped: 'k' });
        expect(archive.records.map((r) => r.id)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6']);

        const target = freshOwner('beta');
        expect(await vault.importRecords(target, archive.records)).toEqual({ imported: 7 });
        const imported = (await vault.list(target)).items;
        const original = (await vault.list(source)).items;
        expect(imported.map(({ id, category, blob: b, tags }) => ({ id, category, blob: b, tags }))).toEqual(
          original.map(({ id, category, blob: b, tags }) => ({ id, category, blob: b, tags })),
        );
        expect(imported.every((r) => r.version === 1)).toBe(true);
        expect(await vault.usage(target)).toEqual(await vault.usage(source));
        expect((await allChanges(vault, target, null)).changes).toHaveLength(7);

        // Not empty any more: refused, nothing changed.
        const again = await failure(vault.importRecords(target, [record('new')]));
        expect(again).toBeInstanceOf(PreconditionFailedError);
        expect(await vault.get(target, 'new')).toBeNull();
      });

      it('refuses a corrupted or truncated archive, and an import with one bad record writes nothing', async () => {
        const source = freshOwner();
        for (let i = 0; i < 3; i++) await vault.create(source, record(`x${i}`));
        const text = await archiveText(source);
        const flipped = text.replace(/"blob":"(.)/, (_m, c: string) => `"blob":"${c === 'A' ? 'B' : 'A'}`);
        expect(() => decodeVaultArchive(flipped, 1000)).toThrow(/checksum mismatch/);
        const lines = text.split('\n');
        expect(() => decodeVaultArchive(lines.slice(0, 3).join('\n'), 1000)).toThrow(/missing end line/);
        expect(() => decodeVaultArchive('garbage', 1000)).toThrow(ValidationError);
        expect(() => decodeVaultArchive(text, 2)).toThrow(/more than 2 records/);

        const target = freshOwner();
        const records = decodeVaultArchive(text, 1000).records;
        const bad = [...records, { ...record('bad'), blob: '***' }];
        const error = await failure(vault.importRecords(target, bad));
        expect(error).toMatchObject({ code: 'validation_failed', issues: [{ path: '/records/3/blob' }] });
        const duplicate = await failure(vault.importRecords(target, [...records, records[0]!]));
        expect(duplicate).toMatchObject({ issues: [{ path: '/records/3/id', message: 'duplicate id' }] });
        const tooBig = await failure(store.vault({ maxRecordsPerUser: 2 }).importRecords(target, records));
        expect(tooBig).toBeInstanceOf(LimitExceededError);
        expect((await vault.list(target)).items).toEqual([]);
        expect((await vault.changes(target, null)).changes).toEqual([]);
        expect(await vault.usage(target)).toEqual({ records: 0, bytes: 0 });
      });
    });

    if (options.openPeer) {
      it('keeps acknowledged vault writes across close and reopen', async () => {
        const owner = freshOwner();
        await vault.create(owner, record('kept'));
        await vault.delete(owner, (await vault.create(owner, record('gone'))).id);
        const reopened = await options.openPeer!(deps);
        try {
          const again = reopened.vault();
          expect((await again.get(owner, 'kept'))?.version).toBe(1);
          expect(await again.get(owner, 'gone')).toBeNull();
          expect((await again.changes(owner, null)).changes.map((c) => [c.id, c.deleted])).toEqual([
            ['kept', false],
            ['gone', true],
          ]);
        } finally {
          await reopened.close();
        }
      }, timeout);
    }
  });
}
