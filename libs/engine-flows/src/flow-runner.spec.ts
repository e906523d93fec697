import { createCache, type Cache } from '@wallet/cache';
import type { ServerMessage } from '@wallet/engine-protocol';
import { EngineFlows } from './engine-flows';
import { FlowFailure } from './errors';
import { FlowRunner, type FlowCompleteBody, type FlowContext, type FlowDefinition } from './flow-runner';
import { FlowStore } from './flow-store';

const principal = { tenantId: 't1', userId: 'u1' };
const issuer = { credential_issuer: 'https://issuer.example', display: [], trust: { trusted: true, reason: 'test', source: 'static' as const }, signed_metadata: false };

/** Starts an OpenID4VCI flow (its offer is never read: the test flows ignore it). */
const startFlow = (flows: EngineFlows) => flows.start(principal, { type: 'flow_start', message_id: 'm', protocol: 'oid4vci', params: { offer: '{}' } });

/**
 * A runner and flows over `cache` with one flow definition (oid4vci), the
 * test's clock and an emitter that gets each frame with the store.
 */
function memoryRunner(cache: Cache, flow: FlowDefinition, emit: (frame: ServerMessage, flowId: string, store: FlowStore) => Promise<void>, now: () => number) {
  const store = new FlowStore(cache, { now });
  const runner = new FlowRunner(store, async (f, frame) => emit(frame, f.id, store), { oid4vci: flow }, {
    replica: 'r1',
    leaseMs: 10_000,
    signTimeoutMs: 1_000,
    userTimeoutMs: 5_000,
    deferredLifetimeMs: 60_000,
    now,
  });
  const flows = new EngineFlows(store, runner, { flowLifetimeMs: 60_000, maxConcurrentFlows: 2, now });
  return { store, runner, flows, start: () => startFlow(flows) };
}

/** The test flows: each answers every follow-up action `not_supported`. */
abstract class NoActionFlow implements FlowDefinition {
  abstract run(ctx: FlowContext): Promise<FlowCompleteBody>;
  async action(ctx: FlowContext): Promise<ServerMessage> {
    return { type: 'notification_result', flow_id: ctx.flowId, notification_id: 'n', status: 'not_supported' };
  }
}

/** A flow with one outside call before and one after a question, counting the calls. */
class CountingFlow extends NoActionFlow {
  readonly calls: string[] = [];
  async run(ctx: FlowContext): Promise<FlowCompleteBody> {
    const first = await ctx.stage('first', async () => {
      this.calls.push('first');
      return { value: 41 };
    });
    const answer = await ctx.ask('consent', 'consent_request', { issuer, credentials: [] });
    if (!answer.accept) throw new FlowFailure('declined', 'no');
    const second = await ctx.stage('second', async () => {
      this.calls.push('second');
      return first.value + 1;
    });
    return { issuer, credentials: [], refresh: { credential_issuer: 'x', credential_configuration_id: String(second), refresh_token: 'r' } };
  }
}

describe('flow runner and flows (memory cache)', () => {
  let cache: Cache;
  let now: number;
  let frames: ServerMessage[];
  let flow: CountingFlow;
  let flows: EngineFlows;
  let runner: FlowRunner;

  beforeEach(async () => {
    cache = await createCache({ type: 'memory' });
    now = 1_000_000;
    frames = [];
    flow = new CountingFlow();
    ({ runner, flows } = memoryRunner(cache, flow, async (frame) => void frames.push(frame), () => now));
  });
  afterEach(async () => cache.close());

  const start = () => startFlow(flows);
  const question = () => frames.find((f) => f.type === 'consent_request') as Extract<ServerMessage, { type: 'consent_request' }>;

  it('stops at a question and resumes from the journal: each stage runs once', async () => {
    const id = await start();
    await runner.drive(id);
    expect(flow.calls).toEqual(['first']);
    expect(question()).toMatchObject({ flow_id: id, message_id: 'q1' });
    // The answer wakes the flow in the background.
    await flows.answer(principal, { type: 'consent_response', flow_id: id, message_id: 'q1', accept: true });
    for (let i = 0; i < 100 && frames.at(-1)?.type !== 'flow_complete'; i++) await new Promise((r) => setTimeout(r, 5));
    expect(flow.calls).toEqual(['first', 'second']);
    expect(frames.at(-1)).toMatchObject({ type: 'flow_complete', flow_id: id, refresh: { credential_configuration_id: '42' } });
  });

  it('lets only one of two concurrent drives run a flow', async () => {
    const id = await start();
    await Promise.all([runner.drive(id), runner.drive(id), runner.drive(id)]);
    expect(flow.calls).toEqual(['first']);
    expect(frames.filter((f) => f.type === 'consent_request')).toHaveLength(1);
  });

  it('refuses an answer to another question, and one after the deadline ends the flow with timeout', async () => {
    const id = await start();
    await runner.drive(id);
    await expect(flows.answer(principal, { type: 'consent_response', flow_id: id, message_id: 'q7', accept: true })).rejects.toMatchObject({
      code: 'unexpected_reply',
    });
    await expect(flows.answer(principal, { type: 'tx_code_response', flow_id: id, message_id: 'q1', tx_code: '1' })).rejects.toMatchObject({
      code: 'unexpected_reply',
    });
    now += 5_001;
    await flows.answer(principal, { type: 'consent_response', flow_id: id, message_id: 'q1', accept: true });
    expect(frames.at(-1)).toMatchObject({ type: 'flow_error', code: 'timeout', flow_id: id });
    expect(flow.calls).toEqual(['first']);
  });

  it('answers another user exactly as for a missing flow', async () => {
    const id = await start();
    await runner.drive(id);
    const stranger = { tenantId: 't1', userId: 'u2' };
    await expect(flows.resume(stranger, id)).rejects.toMatchObject({ code: 'unknown_flow' });
    await expect(flows.answer(stranger, { type: 'consent_response', flow_id: id, message_id: 'q1', accept: true })).rejects.toMatchObject({ code: 'unknown_flow' });
    await expect(flows.resume({ tenantId: 't2', userId: 'u1' }, id)).rejects.toMatchObject({ code: 'unknown_flow' });
  });

  it('re-sends the pending question on resume, and fails a flow past its lifetime', async () => {
    const id = await start();
    await runner.drive(id);
    const resumed = await flows.resume(principal, id, 'r1');
    expect(resumed.frames.map((f) => f.type)).toEqual(['flow_status', 'consent_request']);
    expect(resumed.frames[1]).toEqual(question());
    now += 60_001;
    await runner.drive(id);
    const later = await flows.resume(principal, id);
    expect(later.frames[1]).toMatchObject({ type: 'flow_error', code: 'timeout' });
  });

  it('expires a flow that outlives its lifetime while running', async () => {
    const id = await start();
    now += 60_001;
    await runner.drive(id);
    expect(frames).toEqual([expect.objectContaining({ type: 'flow_error', code: 'expired', flow_id: id })]);
    expect(flow.calls).toEqual([]);
  });

  it('cancels a waiting flow; a late answer then finds nothing to answer', async () => {
    const id = await start();
    await runner.drive(id);
    expect(await flows.cancel(principal, id, 'c1')).toBeNull();
    expect(frames.at(-1)).toMatchObject({ type: 'flow_error', code: 'cancelled', message_id: 'c1' });
    await expect(flows.answer(principal, { type: 'consent_response', flow_id: id, message_id: 'q1', accept: true })).rejects.toMatchObject({ code: 'unexpected_reply' });
  });

  it('counts unfinished flows per user, and forgets acknowledged ones', async () => {
    const a = await start();
    await start();
    await expect(start()).rejects.toMatchObject({ code: 'too_many_flows' });
    await expect(flows.ack(principal, a)).rejects.toMatchObject({ code: 'unexpected_reply' });
    await flows.cancel(principal, a);
    expect((await flows.list(principal)).map((f) => f.status).sort()).toEqual(['failed', 'running']);
    await flows.ack(principal, a);
    expect((await flows.list(principal)).map((f) => f.flow_id)).not.toContain(a);
    await expect(flows.resume(principal, a)).rejects.toMatchObject({ code: 'unknown_flow' });
    await expect(start()).resolves.toEqual(expect.any(String));
  });

  it('treats a corrupt record in the cache as gone, never as a crash', async () => {
    const id = await start();
    await cache.set(`engine:flow:${id}`, '{"v":1,"nonsense":true');
    await expect(flows.resume(principal, id)).rejects.toMatchObject({ code: 'unknown_flow' });
    await expect(runner.drive(id)).resolves.toBeUndefined();
  });
});

/** A flow that waits `delayMs` once, announcing the wait, then completes. */
class WaitingFlow extends NoActionFlow {
  constructor(private readonly delayMs: number) {
    super();
  }
  async run(ctx: FlowContext): Promise<FlowCompleteBody> {
    const due = await ctx.stage('due', async () => ctx.now() + this.delayMs);
    await ctx.waitUntil('wait:1', due, { stage: 'announced', step: 'deferred', detail: { interval_seconds: this.delayMs / 1000 } });
    return { issuer, credentials: [] };
  }
}

describe('flow runner waits (memory cache)', () => {
  let cache: Cache;
  let now: number;
  let seen: Array<{ frame: ServerMessage; stored: string | undefined }>;

  beforeEach(async () => {
    cache = await createCache({ type: 'memory' });
    now = 1_000_000;
    seen = [];
  });
  afterEach(async () => cache.close());

  /** A runner whose emitter notes the stored record's status as each frame goes out. */
  function setup(flow: FlowDefinition) {
    return memoryRunner(cache, flow, async (frame, id, store) => void seen.push({ frame, stored: (await store.load(id))?.record.status }), () => now);
  }
  const steps = () => seen.map(({ frame, stored }) => `${frame.type === 'flow_progress' ? frame.step : frame.type} (stored ${stored})`);

  it('announces a wait once the record says deferred, and not again when the flow wakes', async () => {
    const { runner, store, start } = setup(new WaitingFlow(1_000));
    const id = await start();
    await runner.drive(id);
    expect(steps()).toEqual(['deferred (stored deferred)']);
    expect(await store.dueFlows()).toEqual([]);
    now += 1_000;
    expect(await store.dueFlows()).toEqual([id]);
    await runner.drive(id);
    expect(steps()).toEqual(['deferred (stored deferred)', 'flow_complete (stored complete)']);
  });

  it('announces a wait that need not stop at once, and only once', async () => {
    const { runner, store, start } = setup(new WaitingFlow(0));
    const id = await start();
    await runner.drive(id);
    expect(steps()).toEqual(['deferred (stored running)', 'flow_complete (stored complete)']);
    expect((await store.load(id))?.record.stages).toMatchObject({ 'wait:1': true, announced: true });
  });

  it('does not announce again what the journal says was sent', async () => {
    const { runner, store, start } = setup(new WaitingFlow(1_000));
    const id = await start();
    const loaded = (await store.load(id))!;
    await store.replace(loaded.raw, { ...loaded.record, stages: { announced: true } });
    await runner.drive(id);
    expect(steps()).toEqual([]);
    expect((await store.load(id))?.record.status).toBe('deferred');
  });
});

/** A flow with progress frames inside a stage and between questions. */
class ProgressFlow extends NoActionFlow {
  async run(ctx: FlowContext): Promise<FlowCompleteBody> {
    await ctx.stage('offer', async () => {
      await ctx.progress('offer_resolved');
      return true;
    });
    await ctx.progress('token_obtained');
    await ctx.ask('consent:1', 'consent_request', { issuer, credentials: [] });
    await ctx.progress('credential_requested');
    await ctx.progress('deferred_polled', { poll: 1 }, 'poll:1');
    await ctx.progress('deferred_polled', { poll: 2 }, 'poll:2');
    await ctx.ask('consent:2', 'consent_request', { issuer, credentials: [] });
    await ctx.progress('credential_verified');
    return { issuer, credentials: [] };
  }
}

describe('flow runner progress frames (memory cache)', () => {
  let cache: Cache;
  let now: number;
  let frames: ServerMessage[];
  let onFrame: (frame: ServerMessage) => Promise<void>;

  beforeEach(async () => {
    cache = await createCache({ type: 'memory' });
    now = 1_000_000;
    frames = [];
    onFrame = async () => undefined;
  });
  afterEach(async () => cache.close());

  function setup() {
    const emit = async (frame: ServerMessage) => {
      frames.push(frame);
      await onFrame(frame);
    };
    const { store, runner, flows, start } = memoryRunner(cache, new ProgressFlow(), emit, () => now);
    /** Answers the last question and waits until the flow asks again or ends. */
    const consent = async (id: string) => {
      const asked = frames.filter((f) => f.type === 'consent_request').at(-1)!;
      const count = frames.length;
      await flows.answer(principal, { type: 'consent_response', flow_id: id, message_id: asked.message_id, accept: true });
      for (let i = 0; i < 200; i++) {
        const last = frames.at(-1);
        if (frames.length > count && (last?.type === 'consent_request' || last?.type === 'flow_complete' || last?.type === 'flow_error')) return;
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    /** Runs the flow and answers both its questions. */
    const runToEnd = async (id: string) => {
      await runner.drive(id);
      await consent(id);
      await consent(id);
    };
    return { store, runner, start, runToEnd };
  }
  /** Every frame of ProgressFlow, in order: each step once. */
  const everyStepOnce = [
    'offer_resolved',
    'token_obtained',
    'consent_request',
    'credential_requested',
    'deferred_polled:1',
    'deferred_polled:2',
    'consent_request',
    'credential_verified',
    'flow_complete',
  ];
  const labels = () => frames.map((f) => (f.type === 'flow_progress' ? (f.step === 'deferred_polled' ? `${f.step}:${String(f.detail?.['poll'])}` : f.step) : f.type));

  it('sends each progress frame once, however often the flow runs again', async () => {
    const { store, start, runToEnd } = setup();
    const id = await start();
    await runToEnd(id);
    expect(labels()).toEqual(everyStepOnce);
    expect((await store.load(id))?.record.stages).toMatchObject({
      'progress:offer_resolved': true,
      'progress:token_obtained': true,
      'progress:credential_requested': true,
      'poll:1': true,
      'poll:2': true,
      'progress:credential_verified': true,
    });
  });

  it('sends a frame again when the run stops before the journal says it was sent (at least once)', async () => {
    const { store, runner, start, runToEnd } = setup();
    const id = await start();
    // Someone else writes the record as the first token_obtained goes out: the runner's checkpoint fails and the run stops.
    let interfered = false;
    onFrame = async (frame) => {
      if (interfered || frame.type !== 'flow_progress' || frame.step !== 'token_obtained') return;
      interfered = true;
      const loaded = (await store.load(id))!;
      await store.replace(loaded.raw, { ...loaded.record, updatedAt: loaded.record.updatedAt + 1 }, loaded.record.status);
    };
    await runner.drive(id);
    expect(labels()).toEqual(['offer_resolved', 'token_obtained']);
    // The next run, once the lease is over, sends it again; then never again.
    now += 10_001;
    await runToEnd(id);
    // token_obtained twice, every other step once.
    expect(labels()).toEqual(['offer_resolved', 'token_obtained', ...everyStepOnce.slice(1)]);
  });
});
