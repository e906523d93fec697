import { createCache, type Cache } from '@wallet/cache';
import { EngineFlows, type Principal } from './engine-flows';
import { newFlowRecord, type FlowRecord } from './flow-record';
import type { FlowRunner } from './flow-runner';
import { FlowStore } from './flow-store';

const NOW = 1_000_000;

function deferred(id: string, tenantId: string): FlowRecord {
  return {
    ...newFlowRecord({ id, tenantId, userId: 'u1', protocol: 'oid4vci', params: { offer: '{}' }, now: NOW, lifetimeMs: 600_000 }),
    status: 'deferred',
    due: NOW - 1,
  };
}

describe('EngineFlows.pollDue with a shouldPoll predicate (a disabled tenant is not polled)', () => {
  let cache: Cache;
  let now: number;
  let store: FlowStore;
  let drive: jest.Mock;
  let flows: EngineFlows;

  beforeEach(async () => {
    cache = await createCache({ type: 'memory' });
    now = NOW;
    store = new FlowStore(cache, { now: () => now });
    drive = jest.fn().mockResolvedValue(undefined);
    flows = new EngineFlows(store, { drive } as unknown as FlowRunner, { flowLifetimeMs: 60_000, maxConcurrentFlows: 5, now: () => now });
    for (const [id, tenant] of [['on', 'enabled'], ['off', 'disabled']] as const) {
      await store.create(deferred(id, tenant), 5);
      await store.setDue(id, NOW - 1);
    }
  });
  afterEach(async () => cache.close());

  it('without a predicate every due flow is polled', async () => {
    expect(await flows.pollDue()).toBe(2);
    expect(drive.mock.calls.map(([id]) => id as string).sort()).toEqual(['off', 'on']);
  });

  it('polls only the flows the predicate lets through; the others wait retryAfterMs, then are asked about again', async () => {
    const enabled = new Set(['enabled']);
    const asked: Principal[] = [];
    const shouldPoll = (principal: Principal) => {
      asked.push(principal);
      return enabled.has(principal.tenantId);
    };
    await flows.pollDue(100, { shouldPoll, retryAfterMs: 5_000 });
    expect(drive.mock.calls.map(([id]) => id)).toEqual(['on']);
    expect(asked).toEqual(expect.arrayContaining([{ tenantId: 'disabled', userId: 'u1' }]));
    // Turned down: not due again before retryAfterMs (it does not hold the head of the due table), and not dropped.
    expect(await store.dueFlows()).not.toContain('off');
    now += 5_000;
    expect(await store.dueFlows()).toContain('off');
    // The tenant enabled again: polled.
    enabled.add('disabled');
    drive.mockClear();
    await flows.pollDue(100, { shouldPoll, retryAfterMs: 5_000 });
    expect(drive.mock.calls.map(([id]) => id)).toContain('off');
  });

  it('an async predicate is awaited', async () => {
    await flows.pollDue(100, { shouldPoll: async (p) => p.tenantId === 'enabled' });
    expect(drive.mock.calls.map(([id]) => id)).toEqual(['on']);
  });
});
