import {
  QUESTION_REPLIES,
  type ClientMessageOf,
  type FlowSummary,
  type ReplyMessage,
  type ServerMessage,
} from '@wallet/engine-protocol';
import { randomToken } from '@wallet/crypto';
import { describeError, EngineRequestError, FlowFailure } from './errors';
import { isFinished, newFlowRecord, type FlowRecord } from './flow-record';
import type { FlowLog, FlowRunner } from './flow-runner';
import type { FlowStore, LoadedFlow } from './flow-store';

/** Who is asking: the tenant and user from the access token. */
export interface Principal {
  tenantId: string;
  userId: string;
}

export interface EngineFlowsOptions {
  /** A flow fails with `expired` after this long (deferred issuance extends it). */
  flowLifetimeMs: number;
  /** Unfinished flows one user may hold at once, across every replica. */
  maxConcurrentFlows: number;
  /** Follow-up actions (notifications) one flow accepts. */
  maxActions?: number;
  now?: () => number;
  log?: FlowLog;
}

export interface PollDueOptions {
  /** Whether a due flow of this principal may be polled now (false: its tenant is disabled or gone). */
  shouldPoll?(principal: Principal): boolean | Promise<boolean>;
  /** How long a flow turned down waits before it is considered again; 60 s unless given. */
  retryAfterMs?: number;
}

/**
 * The engine's flows as an API for a transport (the WebSocket gateway, or the
 * in-process local engine): start, resume, answer, cancel, acknowledge,
 * notify. Every call checks that the flow is the caller's (another user's
 * flow is answered exactly like a missing one) and refuses with
 * `EngineRequestError`. Running a flow is the runner's; this class only
 * changes records with compare-and-set and wakes the runner.
 */
export class EngineFlows {
  private readonly now: () => number;

  constructor(
    private readonly store: FlowStore,
    private readonly runner: FlowRunner,
    private readonly options: EngineFlowsOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Creates a flow for `flow_start`; run it with {@link run} once the caller follows it. */
  async start(principal: Principal, message: ClientMessageOf<'flow_start'>): Promise<string> {
    const now = this.now();
    const record = newFlowRecord({
      id: randomToken(18),
      tenantId: principal.tenantId,
      userId: principal.userId,
      protocol: message.protocol,
      params: message.params,
      now,
      lifetimeMs: this.options.flowLifetimeMs,
    });
    await this.store.create(record, this.options.maxConcurrentFlows);
    return record.id;
  }

  /** Advances a flow in the background; failures are logged, the flow records its own errors. */
  run(flowId: string): void {
    this.runner.drive(flowId).catch((error: unknown) => {
      this.options.log?.('error', 'driving a flow failed', { flowId, error: describeError(error) });
    });
  }

  private async owned(principal: Principal, flowId: string): Promise<LoadedFlow> {
    const loaded = await this.store.load(flowId);
    if (!loaded || loaded.record.tenantId !== principal.tenantId || loaded.record.userId !== principal.userId) {
      throw new EngineRequestError('unknown_flow', 'no such flow', '/flow_id');
    }
    return loaded;
  }

  /**
   * For `flow_resume`: the frames that bring a client up to date (the
   * status, then the pending question or the result), and whether the flow
   * needs a run (its runner died, or a deferred poll is due).
   */
  async resume(principal: Principal, flowId: string, messageId?: string): Promise<{ frames: ServerMessage[]; drive: boolean }> {
    let loaded = await this.owned(principal, flowId);
    const now = this.now();
    const waiting = loaded.record.waiting ? loaded.record.questions[loaded.record.waiting] : undefined;
    if (waiting && waiting.answer === undefined && waiting.deadline < now) {
      await this.runner.fail(loaded, new FlowFailure('timeout', 'the client did not answer in time'));
      loaded = await this.owned(principal, flowId);
    } else if (!isFinished(loaded.record) && loaded.record.expiresAt < now) {
      await this.runner.fail(loaded, new FlowFailure('expired', 'the flow outlived its lifetime'));
      loaded = await this.owned(principal, flowId);
    }
    const { record } = loaded;
    const frames: ServerMessage[] = [
      { type: 'flow_status', flow_id: record.id, protocol: record.protocol, status: record.status, ...(messageId ? { message_id: messageId } : {}) },
    ];
    const question = record.waiting ? record.questions[record.waiting] : undefined;
    if (question && question.answer === undefined) frames.push(question.frame);
    else if (record.result) frames.push(record.result);
    const leaseDead = record.lease === null || record.lease.until < now;
    const drive =
      leaseDead &&
      ((record.status === 'running' && !question) ||
        (record.status === 'deferred' && record.due !== null && record.due <= now) ||
        record.actions.some((a) => !a.done));
    return { frames, drive };
  }

  /** Records the client's answer to the question the flow waits for, then wakes the flow. */
  async answer(principal: Principal, reply: ReplyMessage): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const loaded = await this.owned(principal, reply.flow_id);
      const { record } = loaded;
      const key = record.waiting;
      const question = key ? record.questions[key] : undefined;
      if (!key || !question || question.answer !== undefined) {
        throw new EngineRequestError('unexpected_reply', 'the flow is not waiting for an answer now');
      }
      if (question.messageId !== reply.message_id) {
        throw new EngineRequestError('unexpected_reply', `message_id ${reply.message_id} is not the question the flow waits for`, '/message_id');
      }
      const expected = QUESTION_REPLIES[question.frame.type];
      if (reply.type !== expected) throw new EngineRequestError('unexpected_reply', `the question ${reply.message_id} is answered with ${expected}`, '/type');
      if (question.deadline < this.now()) {
        // False: the record changed meanwhile (a cancel, another replica); look again, so the reply is never left unanswered.
        if (await this.runner.fail(loaded, new FlowFailure('timeout', 'the answer came after the question expired'), reply.message_id)) return;
        continue;
      }
      const next: FlowRecord = {
        ...record,
        questions: { ...record.questions, [key]: { ...question, answer: reply } },
        waiting: null,
        status: record.result ? record.status : 'running',
        updatedAt: this.now(),
      };
      if ((await this.store.replace(loaded.raw, next, record.status)) !== null) {
        this.run(record.id);
        return;
      }
    }
    throw new EngineRequestError('flow_busy', 'the flow changed meanwhile; try again');
  }

  /**
   * Ends the flow with `cancelled`; its `flow_error` (sent to the flow's
   * followers) echoes `messageId`, and null is returned. A flow that had
   * already ended is answered as `flow_resume` would be: `flow_status`
   * echoing `messageId`, then the result re-sent (`flow_complete` has no
   * `message_id`, so the status is what carries it).
   */
  async cancel(principal: Principal, flowId: string, messageId?: string): Promise<ServerMessage[] | null> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const loaded = await this.owned(principal, flowId);
      const { record } = loaded;
      if (isFinished(record)) {
        const status: ServerMessage = { type: 'flow_status', flow_id: record.id, protocol: record.protocol, status: record.status, ...(messageId ? { message_id: messageId } : {}) };
        return record.result ? [status, record.result] : [status];
      }
      if (await this.runner.fail(loaded, new FlowFailure('cancelled', 'the client cancelled the flow'), messageId)) return null;
    }
    throw new EngineRequestError('flow_busy', 'the flow changed meanwhile; try again');
  }

  /** Forgets a finished flow once the client stored its result. */
  async ack(principal: Principal, flowId: string): Promise<void> {
    const { record } = await this.owned(principal, flowId);
    if (!isFinished(record)) throw new EngineRequestError('unexpected_reply', 'the flow is not finished; cancel it instead', '/flow_id');
    await this.store.remove(record);
  }

  /** Queues a notification to the issuer about a credential this flow issued. */
  async notify(principal: Principal, message: ClientMessageOf<'notification'>): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const loaded = await this.owned(principal, message.flow_id);
      const { record } = loaded;
      const result = record.result;
      if (result?.type !== 'flow_complete') throw new EngineRequestError('unexpected_reply', 'the flow issued no credential to notify about', '/flow_id');
      if (!result.credentials?.some((c) => c.notification_id === message.notification_id)) {
        throw new EngineRequestError('unexpected_reply', 'no credential of this flow has that notification_id', '/notification_id');
      }
      if (record.actions.length >= (this.options.maxActions ?? 10)) throw new EngineRequestError('rate_limited', 'too many notifications for this flow');
      const { type: _t, message_id: messageId, flow_id: _f, ...params } = message;
      const next: FlowRecord = {
        ...record,
        actions: [...record.actions, { id: `n${record.actions.length + 1}`, kind: 'notification', params, ...(messageId ? { messageId } : {}), done: false }],
        updatedAt: this.now(),
      };
      if ((await this.store.replace(loaded.raw, next, record.status)) !== null) {
        this.run(record.id);
        return;
      }
    }
    throw new EngineRequestError('flow_busy', 'the flow changed meanwhile; try again');
  }

  /** The user's flows the engine holds (for the handshake). */
  list(principal: Principal): Promise<FlowSummary[]> {
    return this.store.userFlows(principal.tenantId, principal.userId);
  }

  /**
   * Runs the deferred flows that are due; the number visited. A flow that
   * `options.shouldPoll` turns down (its tenant disabled or gone) is not
   * polled: its next poll moves `options.retryAfterMs` on, so it neither
   * holds the head of the due table nor is lost; it expires as any flow
   * does, or is polled again once the predicate lets it through.
   */
  async pollDue(limit = 100, options: PollDueOptions = {}): Promise<number> {
    const due = await this.store.dueFlows(limit);
    for (const id of due) {
      const loaded = await this.store.load(id);
      if (!loaded || loaded.record.status !== 'deferred') {
        await this.store.setDue(id, null);
        continue;
      }
      if (options.shouldPoll && !(await options.shouldPoll({ tenantId: loaded.record.tenantId, userId: loaded.record.userId }))) {
        await this.store.setDue(id, this.now() + (options.retryAfterMs ?? 60_000));
        continue;
      }
      await this.runner.drive(id).catch((error: unknown) => {
        this.options.log?.('warn', 'a deferred poll failed', { flowId: id, error: describeError(error) });
      });
    }
    return due.length;
  }
}
