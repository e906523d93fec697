import { createCache, type Cache } from '@wallet/cache';
import { newFlowRecord, type FlowRecord } from './flow-record';
import { FlowStore } from './flow-store';

const NOW = 1_000_000;

function record(id: string): FlowRecord {
  return newFlowRecord({ id, tenantId: 't1', userId: 'u1', protocol: 'oid4vci', params: { offer: '{}' }, now: NOW, lifetimeMs: 60_000 });
}

describe('FlowStore.create', () => {
  let cache: Cache;
  let store: FlowStore;

  beforeEach(async () => {
    cache = await createCache({ type: 'memory' });
    store = new FlowStore(cache, { now: () => NOW });
  });
  afterEach(async () => cache.close());

  const listed = async () => (await store.userFlows('t1', 'u1')).map((f) => f.flow_id);

  it('a record that cannot be stored leaves no index entry to count toward the limit', async () => {
    const setIfAbsent = jest.spyOn(cache, 'setIfAbsent').mockRejectedValueOnce(new Error('cache down'));
    await expect(store.create(record('a'), 1)).rejects.toThrow('cache down');
    expect(await listed()).toEqual([]);
    setIfAbsent.mockRestore();
    await expect(store.create(record('b'), 1)).resolves.toEqual(expect.any(String));
    expect(await listed()).toEqual(['b']);
  });

  it('a record that cannot be serialised leaves no index entry', async () => {
    const bad = { ...record('a'), params: { n: 1n } };
    await expect(store.create(bad, 1)).rejects.toThrow(TypeError);
    expect(await listed()).toEqual([]);
  });

  it('an id already taken leaves no second index entry', async () => {
    await store.create(record('a'), 5);
    await expect(store.create(record('a'), 5)).rejects.toMatchObject({ code: 'internal' });
    expect(await listed()).toEqual(['a']);
  });

  it('over the limit: too_many_flows, and the stored record is removed again', async () => {
    await store.create(record('a'), 1);
    await expect(store.create(record('b'), 1)).rejects.toMatchObject({ code: 'too_many_flows' });
    expect(await store.load('b')).toBeNull();
    expect(await listed()).toEqual(['a']);
  });

  it('keeps compare-and-set: of concurrent creates only as many as the limit allows succeed', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    const outcomes = await Promise.allSettled(ids.map((id) => store.create(record(id), 2)));
    const created = ids.filter((_, i) => outcomes[i]!.status === 'fulfilled');
    expect(created).toHaveLength(2);
    expect((await listed()).sort()).toEqual(created.sort());
    for (const id of ids) expect((await store.load(id)) !== null).toBe(created.includes(id));
  });
});
