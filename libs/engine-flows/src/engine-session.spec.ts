import { createCache, type Cache } from '@wallet/cache';
import type { ServerMessage } from '@wallet/engine-protocol';
import { EngineFlows } from './engine-flows';
import { EngineSession, type EngineConnection } from './engine-session';
import { EngineRequestError, FlowFailure } from './errors';
import { FlowRunner, type FlowCompleteBody, type FlowContext, type FlowDefinition } from './flow-runner';
import { FlowStore } from './flow-store';

const principal = { tenantId: 't1', userId: 'u1' };
const issuer = { credential_issuer: 'https://issuer.example', display: [], trust: { trusted: true, reason: 'test', source: 'static' as const }, signed_metadata: false };

/** Asks for consent once, then completes (or fails with `declined`). */
const consentFlow: FlowDefinition = {
  async run(ctx: FlowContext): Promise<FlowCompleteBody> {
    const answer = await ctx.ask('consent', 'consent_request', { issuer, credentials: [] });
    if (!answer.accept) throw new FlowFailure('declined', 'no');
    return { issuer, credentials: [] };
  },
  async action(ctx: FlowContext): Promise<ServerMessage> {
    return { type: 'notification_result', flow_id: ctx.flowId, notification_id: 'n', status: 'not_supported' };
  },
};

/**
 * The protocol's promise, checked at the session (what a connection sees):
 * every request with a `message_id` gets an answer or a typed `error` that
 * echoes it, also for a flow that has ended.
 */
describe('EngineSession: every request with a message_id is answered with it', () => {
  let cache: Cache;
  let now: number;
  let sent: ServerMessage[];
  let runner: FlowRunner;
  let session: EngineSession;
  let flows: EngineFlows;
  let connection: EngineConnection;

  beforeEach(async () => {
    cache = await createCache({ type: 'memory' });
    now = 1_000_000;
    sent = [];
    const store = new FlowStore(cache, { now: () => now });
    runner = new FlowRunner(store, async (_flow, frame) => void sent.push(frame), { oid4vci: consentFlow }, {
      replica: 'r1',
      leaseMs: 10_000,
      signTimeoutMs: 1_000,
      userTimeoutMs: 5_000,
      deferredLifetimeMs: 60_000,
      now: () => now,
    });
    flows = new EngineFlows(store, runner, { flowLifetimeMs: 60_000, maxConcurrentFlows: 5, now: () => now });
    connection = { principal, attached: new Set(), send: (frame) => void sent.push(frame) };
    session = new EngineSession(flows, connection);
  });
  afterEach(async () => cache.close());

  /** Starts a flow and runs it to its consent question. */
  async function waitingFlow(): Promise<string> {
    await session.handle({ type: 'flow_start', message_id: 's1', protocol: 'oid4vci', params: { offer: '{}' } });
    const started = sent.find((f) => f.type === 'flow_started');
    if (started?.type !== 'flow_started') throw new Error('no flow_started');
    for (let i = 0; i < 100 && !sent.some((f) => f.type === 'consent_request'); i++) await new Promise((r) => setTimeout(r, 5));
    return started.flow_id;
  }

  async function finishedFlow(accept: boolean): Promise<string> {
    const id = await waitingFlow();
    await session.handle({ type: 'consent_response', flow_id: id, message_id: 'q1', accept });
    const end = accept ? 'flow_complete' : 'flow_error';
    for (let i = 0; i < 100 && !sent.some((f) => f.type === end); i++) await new Promise((r) => setTimeout(r, 5));
    expect(sent.at(-1)).toMatchObject({ type: end, flow_id: id });
    sent.length = 0;
    return id;
  }

  it.each([
    ['complete', true, 'flow_complete'],
    ['failed', false, 'flow_error'],
  ] as const)('flow_cancel of a %s flow: flow_status echoing the message_id, then the result again', async (status, accept, result) => {
    const id = await finishedFlow(accept);
    await session.handle({ type: 'flow_cancel', message_id: 'c9', flow_id: id });
    expect(sent).toEqual([
      { type: 'flow_status', flow_id: id, protocol: 'oid4vci', status, message_id: 'c9' },
      expect.objectContaining({ type: result, flow_id: id }),
    ]);
  });

  it('flow_cancel of a running flow: its flow_error cancelled echoes the message_id', async () => {
    const id = await waitingFlow();
    sent.length = 0;
    await session.handle({ type: 'flow_cancel', message_id: 'c1', flow_id: id });
    expect(sent).toEqual([expect.objectContaining({ type: 'flow_error', code: 'cancelled', flow_id: id, message_id: 'c1' })]);
  });

  it('flow_resume, flow_cancel, flow_ack and an answer on an unknown flow: unknown_flow echoing the ids', async () => {
    const id = 'A'.repeat(24);
    await session.handle({ type: 'flow_resume', message_id: 'r1', flow_id: id });
    await session.handle({ type: 'flow_cancel', message_id: 'c1', flow_id: id });
    await session.handle({ type: 'flow_ack', message_id: 'a1', flow_id: id });
    await session.handle({ type: 'consent_response', flow_id: id, message_id: 'q1', accept: true });
    expect(sent.map((f) => f.type === 'error' && [f.code, f.message_id, f.flow_id])).toEqual([
      ['unknown_flow', 'r1', id],
      ['unknown_flow', 'c1', id],
      ['unknown_flow', 'a1', id],
      ['unknown_flow', 'q1', id],
    ]);
  });

  it('flow_resume of a finished flow echoes the message_id; an answer to a question no longer pending gets unexpected_reply', async () => {
    const id = await finishedFlow(true);
    await session.handle({ type: 'flow_resume', message_id: 'r2', flow_id: id });
    await session.handle({ type: 'consent_response', flow_id: id, message_id: 'q1', accept: true });
    expect(sent).toEqual([
      { type: 'flow_status', flow_id: id, protocol: 'oid4vci', status: 'complete', message_id: 'r2' },
      expect.objectContaining({ type: 'flow_complete', flow_id: id }),
      expect.objectContaining({ type: 'error', code: 'unexpected_reply', flow_id: id, message_id: 'q1' }),
    ]);
  });

  it('beforeRequest refuses resume, answers and notifications with its typed error; cancel, ack, ping and start pass it by', async () => {
    const id = await waitingFlow();
    const checked: string[] = [];
    const refusing = new EngineSession(flows, connection, {
      beforeRequest: async (_who, message) => {
        checked.push(message.type);
        throw new EngineRequestError('unauthenticated', 'the tenant of the access token does not exist');
      },
    });
    sent.length = 0;
    await refusing.handle({ type: 'consent_response', flow_id: id, message_id: 'q1', accept: true });
    await refusing.handle({ type: 'flow_resume', message_id: 'r1', flow_id: id });
    await refusing.handle({ type: 'ping', message_id: 'p1' });
    expect(sent).toEqual([
      { type: 'error', code: 'unauthenticated', message: 'the tenant of the access token does not exist', flow_id: id, message_id: 'q1' },
      { type: 'error', code: 'unauthenticated', message: 'the tenant of the access token does not exist', flow_id: id, message_id: 'r1' },
      { type: 'pong', message_id: 'p1' },
    ]);
    sent.length = 0;
    await refusing.handle({ type: 'flow_cancel', message_id: 'c1', flow_id: id });
    expect(sent).toEqual([expect.objectContaining({ type: 'flow_error', code: 'cancelled', flow_id: id, message_id: 'c1' })]);
    expect(checked).toEqual(['consent_response', 'flow_resume']);
  });

  it('a late answer whose timeout loses a race with another change is still answered', async () => {
    const id = await waitingFlow();
    sent.length = 0;
    now += 5_001; // past the question's deadline
    // The first attempt to record the timeout finds the record changed (another replica touched it).
    jest.spyOn(runner, 'fail').mockResolvedValueOnce(false);
    await session.handle({ type: 'consent_response', flow_id: id, message_id: 'q1', accept: true });
    expect(sent).toEqual([expect.objectContaining({ type: 'flow_error', code: 'timeout', flow_id: id, message_id: 'q1' })]);
  });
});
