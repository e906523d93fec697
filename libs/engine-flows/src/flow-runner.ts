import {
  FLOW_STEPS,
  QUESTION_REPLIES,
  type ClientMessageOf,
  type JsonObject,
  type QuestionMessage,
  type QuestionType,
  type ServerMessage,
  type ServerMessageOf,
} from '@wallet/engine-protocol';
import { randomBytes } from 'node:crypto';
import { describeError, FlowFailure, findOutboundFailure, outboundFlowCode } from './errors';
import { isFinished, type FlowAction, type FlowRecord } from './flow-record';
import type { FlowStore, LoadedFlow } from './flow-store';

/** Delivers a frame to whoever follows a flow (its user's sockets that attached it, on any replica). */
export type FlowEmit = (flow: Pick<FlowRecord, 'id' | 'tenantId' | 'userId'>, frame: ServerMessage) => Promise<void>;

/** Log lines the runner writes; fields never hold tokens, keys or credential contents. */
export type FlowLog = (level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>) => void;

/** What a flow definition returns when it succeeds: the `flow_complete` frame minus its envelope. */
export type FlowCompleteBody = Omit<ServerMessageOf<'flow_complete'>, 'type' | 'flow_id' | 'protocol'>;

/** A protocol's flow: the main function, and the follow-up actions it accepts after completing. */
export interface FlowDefinition {
  run(ctx: FlowContext): Promise<FlowCompleteBody>;
  /** Runs a follow-up (a notification) and returns the frame that answers it. */
  action(ctx: FlowContext, action: FlowAction): Promise<ServerMessage>;
}

export interface FlowRunnerOptions {
  /** This replica's name in leases. */
  replica: string;
  /** How long one run may hold a flow before another replica may take it over. */
  leaseMs: number;
  /** How long the client has to answer a signing question. */
  signTimeoutMs: number;
  /** How long the user has to answer a question (choice, consent, transaction code, authorization). */
  userTimeoutMs: number;
  /** How long a flow waits for deferred issuance in all. */
  deferredLifetimeMs: number;
  now?: () => number;
  log?: FlowLog;
}

/** Thrown inside a run to stop it where it is: the journal is stored, a question is out or a poll is due later. */
const SUSPEND = Symbol('suspend');
/** Someone else changed the record (a cancel, another replica): this run stops without writing. */
const CONFLICT = Symbol('conflict');

/** A progress frame a wait sends (see {@link FlowContext.waitUntil}). */
export interface WaitAnnouncement {
  /** The journal entry (named like a stage) that marks the frame as sent, so it goes out once. */
  stage: string;
  step: (typeof FLOW_STEPS)[number];
  detail?: JsonObject;
}

export type ReplyTo<T extends QuestionType> = ClientMessageOf<(typeof QUESTION_REPLIES)[T]>;
type QuestionBody<T extends QuestionType> = Omit<ServerMessageOf<T>, 'type' | 'flow_id' | 'message_id' | 'expires_at'>;

/**
 * What a flow function sees. Every step that talks to the outside is a
 * `stage`: its result is journalled, so when the function runs again (after a
 * question was answered, on any replica) completed stages return their stored
 * results instead of running again. The function must therefore be
 * deterministic between stages: time and randomness come from inside stages.
 */
export interface FlowContext {
  readonly flowId: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly params: unknown;
  /** Runs `work` once for the flow's whole life; later runs get its stored result. */
  stage<T>(name: string, work: () => Promise<T>): Promise<T>;
  /** Asks the client; returns its answer once there is one (the run stops here until then). */
  ask<T extends QuestionType>(key: string, type: T, body: QuestionBody<T>, options?: { timeoutMs?: number }): Promise<ReplyTo<T>>;
  /**
   * Continues only at or after `due` (the deferred poller wakes the flow then).
   * `announce` is a progress frame this wait sends once: after the record is
   * stored as deferred, so that a client resuming on the frame (on any
   * replica) finds the flow deferred; or, when `due` has passed already and
   * the flow does not stop, right away (then as {@link progress}: at least
   * once). When the wait stops the flow, the entry that marks the frame sent
   * is stored with the deferral, before the frame goes out: if the process
   * dies in between, the frame is lost (at most once).
   */
  waitUntil(key: string, due: number, announce?: WaitAnnouncement): Promise<void>;
  /**
   * Tells the client a step is done, once per flow: the frame goes out the
   * first time a run gets here, and the journal entry `journal` (by default
   * `progress:<step>`, so each step goes out once; a step that is sent again
   * with other details, like `deferred_polled`, names an entry per frame)
   * marks it sent, so later runs (after an answer, a deferred wake-up, on
   * any replica) skip it. Outside a stage the entry is stored right after
   * the frame goes out; inside a stage's work, with the stage's result.
   *
   * At least once, not exactly once: when a run stops after the frame went
   * out and before the entry is stored (the process dies, another run
   * changed the record), the next run sends it again. A record stored by a
   * version without these entries sends each step it passes again once.
   */
  progress(step: (typeof FLOW_STEPS)[number], detail?: JsonObject, journal?: string): Promise<void>;
  /** The question asked under `key` (answered or not), or null. */
  asked<T extends QuestionType>(key: string, type: T): ServerMessageOf<T> | null;
  /**
   * The answers to questions whose keys start with `prefix`, in the order
   * asked; within an action, only the action's own unless `wholeFlow`.
   */
  answered<T extends QuestionType>(
    prefix: string,
    type: T,
    options?: { wholeFlow?: boolean },
  ): Array<{ key: string; question: ServerMessageOf<T>; answer: ReplyTo<T> }>;
  /** A stage result of the main run (for actions, which have their own stage names). */
  journal<T>(name: string): T | undefined;
  now(): number;
}

/**
 * Runs flow functions over their journalled records, one replica at a time
 * per flow (a lease in the record), stopping at each question and resuming
 * wherever the answer arrives. See {@link FlowContext}.
 */
export class FlowRunner {
  private readonly now: () => number;

  constructor(
    private readonly store: FlowStore,
    private readonly emit: FlowEmit,
    private readonly definitions: Partial<Record<FlowRecord['protocol'], FlowDefinition>>,
    private readonly options: FlowRunnerOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Advances a flow as far as it can go without the client: nothing when it
   * waits for an answer, is over, is not due, or another run holds it.
   */
  async drive(id: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const loaded = await this.store.load(id);
      if (!loaded) return;
      const { record } = loaded;
      const pendingAction = record.actions.some((a) => !a.done);
      if (isFinished(record) && !pendingAction) return;
      const now = this.now();
      if (record.lease && record.lease.until > now) return;
      if (record.waiting) {
        const question = record.questions[record.waiting];
        if (question && question.answer === undefined) {
          if (question.deadline < now) await this.fail(loaded, new FlowFailure('timeout', 'the client did not answer in time'));
          return;
        }
      }
      if (!isFinished(record) && record.expiresAt < now) {
        await this.fail(loaded, new FlowFailure('expired', 'the flow outlived its lifetime'));
        return;
      }
      if (record.status === 'deferred' && record.due !== null && record.due > now) return;
      const leased: FlowRecord = {
        ...record,
        status: isFinished(record) ? record.status : 'running',
        lease: { owner: `${this.options.replica}:${randomBytes(6).toString('base64url')}`, until: now + this.options.leaseMs },
        updatedAt: now,
      };
      const raw = await this.store.replace(loaded.raw, leased, record.status);
      if (raw === null) continue;
      await this.run({ record: leased, raw });
      return;
    }
  }

  /** Ends a flow with `flow_error` (unless it already ended) and tells the client. */
  async fail(loaded: LoadedFlow, failure: FlowFailure, messageId?: string): Promise<boolean> {
    const { record } = loaded;
    if (isFinished(record)) return false;
    const frame: ServerMessageOf<'flow_error'> = {
      type: 'flow_error',
      flow_id: record.id,
      code: failure.code,
      message: failure.message,
      ...(messageId ? { message_id: messageId } : {}),
    };
    const next: FlowRecord = { ...record, status: 'failed', result: frame, lease: null, waiting: null, due: null, updatedAt: this.now() };
    if ((await this.store.replace(loaded.raw, next, record.status)) === null) return false;
    await this.store.setDue(record.id, null).catch(() => undefined);
    await this.emit(record, frame);
    return true;
  }

  private async run(loaded: LoadedFlow): Promise<void> {
    const definition = this.definitions[loaded.record.protocol];
    const ctx = new RunContext(loaded, this.store, this.emit, this.options, this.now);
    if (!definition) {
      await this.fail(loaded, new FlowFailure('internal', `this engine does not run ${loaded.record.protocol} flows`));
      return;
    }
    try {
      if (!ctx.record.result) {
        const body = await definition.run(ctx);
        const frame: ServerMessageOf<'flow_complete'> = { type: 'flow_complete', flow_id: ctx.record.id, protocol: ctx.record.protocol, ...body };
        Object.assign(ctx.record, { status: 'complete', result: frame, waiting: null, due: null });
        await ctx.checkpoint();
        await this.store.setDue(ctx.record.id, null);
        await this.emit(ctx.record, frame);
      }
      for (const action of ctx.record.actions.filter((a) => !a.done)) {
        const frame = await definition.action(ctx.forAction(action), action);
        action.done = true;
        await ctx.checkpoint();
        await this.emit(ctx.record, frame);
      }
      ctx.record.lease = null;
      await ctx.checkpoint();
    } catch (error) {
      if (error === SUSPEND || error === CONFLICT) return;
      const failure = toFlowFailure(error);
      if (failure.code === 'internal') {
        this.options.log?.('error', 'flow failed unexpectedly', { flowId: ctx.record.id, error: describeError(error) });
      }
      if (ctx.record.result) {
        // The main result stands; an action that broke is dropped so the flow can be acknowledged.
        ctx.record.actions = ctx.record.actions.map((a) => ({ ...a, done: true }));
        ctx.record.lease = null;
        await ctx.checkpoint().catch(() => undefined);
        return;
      }
      await this.fail({ record: ctx.record, raw: ctx.raw }, failure);
    }
  }
}

/** True for the runner's own stop signals, which a flow must never catch and swallow. */
export function isRunControl(error: unknown): boolean {
  return error === SUSPEND || error === CONFLICT;
}

/** The flow error for whatever a run threw: its own failures, fetch refusals, or `internal`. */
export function toFlowFailure(error: unknown): FlowFailure {
  if (error instanceof FlowFailure) return error;
  const outbound = findOutboundFailure(error);
  if (outbound) return new FlowFailure(outboundFlowCode(outbound), outbound.message, { cause: error });
  return new FlowFailure('internal', 'the engine failed; see its log', { cause: error });
}

class RunContext implements FlowContext {
  record: FlowRecord;
  raw: string;
  /** The status the stored record has (the in-memory record changes before it is written). */
  stored: FlowRecord['status'];
  private prefix = '';
  /** How many stages' work is under way (progress inside one is journalled with its result). */
  private inStage = 0;

  constructor(
    loaded: LoadedFlow,
    private readonly store: FlowStore,
    private readonly emitFrame: FlowEmit,
    private readonly options: FlowRunnerOptions,
    readonly now: () => number,
  ) {
    this.record = loaded.record;
    this.raw = loaded.raw;
    this.stored = loaded.record.status;
  }

  get flowId(): string {
    return this.record.id;
  }
  get tenantId(): string {
    return this.record.tenantId;
  }
  get userId(): string {
    return this.record.userId;
  }
  get params(): unknown {
    return this.record.params;
  }

  /** The same journal, with stage and question keys namespaced by the action. */
  forAction(action: FlowAction): FlowContext {
    const scoped = Object.create(this) as RunContext;
    scoped.prefix = `action:${action.id}:`;
    Object.defineProperty(scoped, 'params', { value: action.params });
    return scoped;
  }

  /** Writes the record; stops the run when someone else changed it meanwhile. */
  async checkpoint(): Promise<void> {
    const root = Object.getPrototypeOf(this) instanceof RunContext ? (Object.getPrototypeOf(this) as RunContext) : this;
    const record = root.record;
    record.updatedAt = this.now();
    if (record.lease) record.lease = { ...record.lease, until: this.now() + this.options.leaseMs };
    const raw = await this.store.replace(root.raw, record, root.stored);
    if (raw === null) throw CONFLICT;
    root.raw = raw;
    root.stored = record.status;
  }

  async stage<T>(name: string, work: () => Promise<T>): Promise<T> {
    const key = this.prefix + name;
    if (key in this.record.stages) return this.record.stages[key] as T;
    if (this.record.expiresAt < this.now() && !this.record.result) throw new FlowFailure('expired', 'the flow outlived its lifetime');
    this.inStage += 1;
    let result: T;
    try {
      result = await work();
    } finally {
      this.inStage -= 1;
    }
    // JSON round trip: what is journalled is exactly what a later run will read back.
    this.record.stages[key] = result === undefined ? null : (JSON.parse(JSON.stringify(result)) as unknown);
    await this.checkpoint();
    return this.record.stages[key] as T;
  }

  async ask<T extends QuestionType>(keyName: string, type: T, body: QuestionBody<T>, options: { timeoutMs?: number } = {}): Promise<ReplyTo<T>> {
    const key = this.prefix + keyName;
    const existing = this.record.questions[key];
    if (existing?.answer !== undefined) return existing.answer as ReplyTo<T>;
    const now = this.now();
    let question = existing;
    if (!question) {
      this.record.seq += 1;
      const timeout = options.timeoutMs ?? (type === 'sign_request' ? this.options.signTimeoutMs : this.options.userTimeoutMs);
      const messageId = `q${this.record.seq}`;
      const frame = {
        ...body,
        type,
        flow_id: this.record.id,
        message_id: messageId,
        expires_at: new Date(now + timeout).toISOString(),
      } as unknown as QuestionMessage;
      question = { messageId, frame, deadline: now + timeout };
      this.record.questions[key] = question;
    }
    this.record.waiting = key;
    this.record.lease = null;
    if (!this.record.result) this.record.status = 'waiting';
    await this.checkpoint();
    await this.emitFrame(this.record, question.frame);
    throw SUSPEND;
  }

  async waitUntil(keyName: string, due: number, announce?: WaitAnnouncement): Promise<void> {
    const key = this.prefix + keyName;
    if (key in this.record.stages) return;
    const unsent = announce && !((this.prefix + announce.stage) in this.record.stages) ? announce : undefined;
    if (this.now() >= due) {
      this.record.stages[key] = true;
      // The flow goes on without stopping: sent, then journalled, as any progress frame.
      if (unsent) await this.progress(unsent.step, unsent.detail, unsent.stage);
      return;
    }
    const firstDeferral = this.record.status !== 'deferred' && !Object.keys(this.record.stages).some((k) => k.startsWith('wait:'));
    if (firstDeferral) this.record.expiresAt = Math.max(this.record.expiresAt, this.now() + this.options.deferredLifetimeMs);
    if (unsent) this.record.stages[this.prefix + unsent.stage] = true;
    Object.assign(this.record, { status: 'deferred', due, lease: null, waiting: null });
    await this.checkpoint();
    // Only once the record says deferred: a client that resumes on this frame, on any replica, reads that.
    // Before the due index is written, so that if that write fails the frame still precedes the flow_error.
    if (unsent) await this.send(unsent.step, unsent.detail);
    await this.store.setDue(this.record.id, due);
    throw SUSPEND;
  }

  async progress(step: (typeof FLOW_STEPS)[number], detail?: JsonObject, journal = `progress:${step}`): Promise<void> {
    const key = this.prefix + journal;
    if (key in this.record.stages) return;
    await this.send(step, detail);
    this.record.stages[key] = true;
    // Inside a stage's work the stage's own checkpoint (or a question's, or a failure's) stores the entry.
    if (this.inStage === 0) await this.checkpoint();
  }

  private async send(step: (typeof FLOW_STEPS)[number], detail?: JsonObject): Promise<void> {
    await this.emitFrame(this.record, { type: 'flow_progress', flow_id: this.record.id, step, ...(detail ? { detail } : {}) });
  }

  asked<T extends QuestionType>(key: string, type: T): ServerMessageOf<T> | null {
    const question = this.record.questions[this.prefix + key];
    return question && question.frame.type === type ? (question.frame as ServerMessageOf<T>) : null;
  }

  journal<T>(name: string): T | undefined {
    return this.record.stages[name] as T | undefined;
  }

  answered<T extends QuestionType>(
    prefix: string,
    type: T,
    options: { wholeFlow?: boolean } = {},
  ): Array<{ key: string; question: ServerMessageOf<T>; answer: ReplyTo<T> }> {
    const full = options.wholeFlow ? prefix : this.prefix + prefix;
    return Object.entries(this.record.questions)
      .filter(([key, q]) => key.startsWith(full) && q.frame.type === type && q.answer !== undefined)
      .sort(([, a], [, b]) => Number(a.messageId.slice(1)) - Number(b.messageId.slice(1)))
      .map(([key, q]) => ({ key, question: q.frame as ServerMessageOf<T>, answer: q.answer as ReplyTo<T> }));
  }
}
