import {
  CLOSE_CODES,
  describeIssue,
  type CloseCodeName,
  zClientMessage,
  zServerMessage,
  type ClientMessage,
  type ClientMessageOf,
  type FlowStartParams,
  type FlowSummary,
  type JsonObject,
  type QuestionMessage,
  type ReplyMessage,
  type ServerMessage,
  type ServerMessageOf,
} from '@wallet/engine-protocol';
import { base64urlEncode } from './base64url';
import { ClientFailureError, EngineConnectionError, EngineFlowError, EngineRequestError, EngineResultError, RedirectError } from './errors';
import { answerPresentationRequest } from './presentation';
import { parseRedirect, type AuthorizationResult } from './redirect';
import { memoryStorage, toKeyValueStorage, type KeyValueStorage } from './storage';
import { webSocketConnector, type EngineTransport, type WebSocketConstructorLike } from './transport';
import type {
  EngineClientOptions,
  FlowComplete,
  FlowOptions,
  HandshakeOk,
  IssuanceResult,
  NotificationEvent,
  NotificationResult,
  OfferOptions,
  PresentationResult,
  PresentOptions,
  RefreshGrant,
  ReissueOptions,
  WalletHandlers,
} from './types';

type Timer = ReturnType<typeof setTimeout>;
type FlowErrorMessage = ServerMessageOf<'flow_error'>;

/** One socket (or other transport) and whether its handshake is done. */
interface Connection {
  gen: number;
  transport: EngineTransport;
  ready: boolean;
}

/** Someone waiting for a flow's end (the result is checked and narrowed by whoever waits). */
interface Waiter {
  resolve(result: FlowComplete): void;
  reject(error: Error): void;
  ack: boolean;
}

interface TrackedFlow {
  flowId: string;
  waiters: Waiter[];
}

type RequestKind = 'handshake' | 'ping' | 'flow_start' | 'flow_resume' | 'flow_cancel' | 'notification';

/** A frame of ours that expects an answer. */
interface PendingRequest {
  kind: RequestKind;
  messageId: string;
  frame: ClientMessage;
  flowId?: string;
  notificationId?: string;
  /** Repeat it after a reconnect; when false (`flow_start`: not idempotent) a drop after sending fails it. */
  repeat: boolean;
  /** The connection it went out on; null while unsent. */
  sentOn: number | null;
  timer?: Timer;
  resolve(message: ServerMessage): void;
  reject(error: Error): void;
  /** `flow_start` only: who waits for the flow it starts, tracked the moment `flow_started` arrives. */
  waiter?: Waiter;
  /** Cleared (undefined) once a flow_error answered the flow_start instead. */
  onStarted?: ((flowId: string) => void) | undefined;
}

/** A question we answered or are answering: the reply is kept for when the engine asks again. */
interface AnswerEntry {
  /** Unset while the handler runs, or when it gave no reply (the page navigated away). */
  reply?: ReplyMessage;
}

/** The handshake of a connection being opened. */
interface Opening {
  conn: Connection;
  messageId: string;
  resolve(ok: HandshakeOk): void;
  fail(failure: AttemptFailure): void;
}

/**
 * What the client does on each close code the engine uses (CLOSE_CODE_DESCRIPTIONS
 * in @wallet/engine-protocol): `fatal` codes say this client sent something the
 * engine will refuse again, or may not connect at all, so it fails what waits
 * instead of reconnecting; `refresh` reconnects with a fresh token; `slow`
 * backs off longer; `reconnect` retries with the usual backoff. A record over
 * every name, so a new code needs a decision here. Codes the engine does not
 * use (1006 abnormal closure, 1011 ...) are transient.
 */
type CloseAction = 'reconnect' | 'slow' | 'refresh' | { fatal: 'forbidden_origin' | 'frame_too_large' | 'protocol_error'; message: string };
const CLOSE_ACTIONS: Readonly<Record<CloseCodeName, CloseAction>> = {
  goingAway: 'reconnect',
  protocolError: { fatal: 'protocol_error', message: 'the engine closed the connection: this client broke the WebSocket protocol (1002)' },
  invalidText: { fatal: 'protocol_error', message: 'the engine closed the connection: this client sent a text frame that is not UTF-8 (1007)' },
  tooLarge: { fatal: 'frame_too_large', message: 'a frame was over the engine\'s limit' },
  unauthenticated: 'refresh',
  forbiddenOrigin: { fatal: 'forbidden_origin', message: 'the engine refuses this origin' },
  handshakeTimeout: 'reconnect',
  rateLimited: 'slow',
  tryAgainLater: 'slow',
};
const CLOSE_ACTION_BY_CODE = new Map<number, CloseAction>(
  (Object.keys(CLOSE_CODES) as CloseCodeName[]).map((name) => [CLOSE_CODES[name], CLOSE_ACTIONS[name]]),
);

function closeAction(code: number | undefined): CloseAction {
  return (code === undefined ? undefined : CLOSE_ACTION_BY_CODE.get(code)) ?? 'reconnect';
}

/** The error for a close code that says not to retry, or undefined. */
function fatalClose(code: number | undefined): EngineConnectionError | undefined {
  const action = closeAction(code);
  return typeof action === 'object' ? new EngineConnectionError(action.fatal, action.message, code) : undefined;
}

/** Why one connection attempt failed, with the close code that says whether to retry. */
class AttemptFailure extends Error {
  constructor(
    readonly closeCode: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** What the authorization redirect flow keeps in the storage port, per `state`. */
interface StoredAuthorization {
  flow_id: string;
  message_id: string;
  /** Where the authorization server sends the browser back: a redirect elsewhere is not this flow's. */
  redirect_uri?: string;
}

const STORAGE_PREFIX = 'wallet-client:authorization:';
const MAX_FAILURE_MESSAGE = 512;
const NORMAL_CLOSURE = 1000;

function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.slice(0, MAX_FAILURE_MESSAGE);
}

/** The `flow_complete` of an issuance, checked: it must carry the issuer and the credentials. */
function toIssuanceResult(result: FlowComplete): IssuanceResult {
  if (result.protocol !== 'oid4vci') {
    throw new EngineResultError('wrong_protocol', `flow ${result.flow_id} is an ${result.protocol} flow, not an issuance`, result.flow_id);
  }
  const { issuer, credentials } = result;
  if (!issuer || !credentials) {
    throw new EngineResultError('incomplete_result', `the engine completed issuance flow ${result.flow_id} without ${issuer ? 'credentials' : 'an issuer'}`, result.flow_id);
  }
  return { ...result, protocol: 'oid4vci', issuer, credentials };
}

/** The `flow_complete` of a presentation, checked: it must name the verifier. */
function toPresentationResult(result: FlowComplete): PresentationResult {
  if (result.protocol !== 'oid4vp') {
    throw new EngineResultError('wrong_protocol', `flow ${result.flow_id} is an ${result.protocol} flow, not a presentation`, result.flow_id);
  }
  if (!result.verifier) throw new EngineResultError('incomplete_result', `the engine completed presentation flow ${result.flow_id} without the verifier`, result.flow_id);
  return { flow_id: result.flow_id, verifier: result.verifier, ...(result.redirect_uri !== undefined ? { redirect_uri: result.redirect_uri } : {}) };
}

/** A waiter that hands the caller the checked result, or rejects when the result is not what the call waits for. */
function waiterFor<T>(convert: (result: FlowComplete) => T, resolve: (value: T) => void, reject: (error: Error) => void, options: FlowOptions): Waiter {
  return {
    resolve: (result) => {
      let value: T;
      try {
        value = convert(result);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(errorMessage(error)));
        return;
      }
      resolve(value);
    },
    reject,
    ack: options.ack !== false,
  };
}

function failureOf(error: unknown): { code: 'declined' | 'unsupported' | 'failed'; message: string } {
  return { code: error instanceof ClientFailureError ? error.code : 'failed', message: errorMessage(error) };
}

/** Whether a URL goes to the redirect URI (same origin and path; the query is the response). */
function sameEndpoint(url: string, redirectUri: string | undefined): boolean {
  if (!redirectUri) return false;
  try {
    const a = new URL(url);
    const b = new URL(redirectUri);
    return a.origin === b.origin && a.pathname === b.pathname;
  } catch {
    return false;
  }
}

/**
 * Runs OpenID4VCI and OpenID4VP flows on the engine's wallet API v2 for a
 * wallet front end whose keys and credentials stay on the client: it starts
 * flows, answers the engine's questions through {@link WalletHandlers},
 * reconnects and resumes flows after a drop (answering a re-asked question
 * with the remembered reply, never asking the user twice), and hands over
 * the result.
 *
 * Several flows may run at once; every answer is matched by its ids, never
 * by order. Every incoming frame is validated; an invalid one is logged and
 * ignored.
 */
export class EngineClient {
  private readonly handlers: WalletHandlers;
  private readonly createTransport: () => EngineTransport;
  private readonly storage: KeyValueStorage;
  private readonly timeoutMs: number;
  private readonly pingIntervalMs: number;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  private conn: Connection | null = null;
  private generation = 0;
  private counter = 0;
  private opening: Opening | null = null;
  private connecting: Promise<HandshakeOk> | null = null;
  private lastHandshake: HandshakeOk | null = null;
  private closedByUser = false;
  /** Backoff waits in progress (reconnect, busy-flow retries): `close()` cuts them short. */
  private readonly sleeping = new Set<() => void>();
  private pingTimer: Timer | undefined;
  private rehandshakeTimer: Timer | undefined;

  private readonly pending = new Map<string, PendingRequest>();
  private readonly tracked = new Map<string, TrackedFlow>();
  /** flow id → message id → answer. */
  private readonly answers = new Map<string, Map<string, AnswerEntry>>();
  /** Redirect results for `resumeAfterRedirect`, answered when the engine re-asks. */
  private readonly redirectResults = new Map<string, AuthorizationResult>();
  /** Storage keys a flow wrote, removed when it ends. */
  private readonly storageKeys = new Map<string, Set<string>>();
  /** `flow_ack`s not yet sent because the connection was down. */
  private readonly pendingAcks = new Set<string>();

  constructor(private readonly options: EngineClientOptions) {
    this.handlers = options.handlers;
    this.storage = options.storage ? toKeyValueStorage(options.storage) : memoryStorage();
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.pingIntervalMs = options.pingIntervalMs ?? 30_000;
    this.attempts = Math.max(1, options.reconnect?.attempts ?? 8);
    this.baseDelayMs = options.reconnect?.baseDelayMs ?? 250;
    this.maxDelayMs = options.reconnect?.maxDelayMs ?? 5_000;
    if (options.transport) {
      this.createTransport = options.transport;
    } else if (options.url) {
      const WebSocketClass = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructorLike }).WebSocket;
      if (!WebSocketClass) throw new TypeError('no WebSocket class: pass options.WebSocket (in Node: WebSocket from "ws")');
      this.createTransport = webSocketConnector(options.url, WebSocketClass);
    } else {
      throw new TypeError('EngineClient needs options.url or options.transport');
    }
  }

  // ---------------------------------------------------------------- public API

  /**
   * Connects and completes the handshake (one attempt; a refused token is
   * retried once with a fresh `getToken({ refresh: true })`). Resolves at
   * once when already connected. Other calls connect on demand too.
   */
  connect(): Promise<HandshakeOk> {
    if (this.conn?.ready && this.lastHandshake) return Promise.resolve(this.lastHandshake);
    this.closedByUser = false;
    if (!this.connecting) {
      const connecting = this.connectLoop({ attempts: 1, firstDelayMs: 0, refresh: false });
      this.connecting = connecting;
      const clear = () => {
        if (this.connecting === connecting) this.connecting = null;
      };
      connecting.then(clear, clear);
    }
    return this.connecting;
  }

  /**
   * Receives the credential(s) of an offer (an `openid-credential-offer://`
   * link, offer JSON text, or the offer object). Resolves with `flow_complete`;
   * rejects with {@link EngineFlowError} on `flow_error`, with
   * {@link EngineRequestError} when the engine refuses the start.
   */
  receiveCredential(offer: string | JsonObject, options: OfferOptions = {}): Promise<IssuanceResult> {
    const params: FlowStartParams = {
      offer,
      ...(options.redirectUri !== undefined ? { redirect_uri: options.redirectUri } : {}),
      ...(options.batchSize !== undefined ? { batch_size: options.batchSize } : {}),
    };
    return this.startFlow('oid4vci', params, options, toIssuanceResult);
  }

  /** Re-issues a credential with the refresh grant an earlier `flow_complete` handed out. */
  reissue(refresh: RefreshGrant, options: ReissueOptions = {}): Promise<IssuanceResult> {
    const params: FlowStartParams = {
      reissue: {
        credential_issuer: refresh.credential_issuer,
        credential_configuration_id: refresh.credential_configuration_id,
        refresh_token: refresh.refresh_token,
        ...(refresh.dpop_jkt !== undefined ? { dpop_jkt: refresh.dpop_jkt } : {}),
      },
      ...(options.batchSize !== undefined ? { batch_size: options.batchSize } : {}),
    };
    return this.startFlow('oid4vci', params, options, toIssuanceResult);
  }

  /**
   * Presents credentials to a verifier (OpenID4VP): hands the verifier's
   * link (`openid4vp://...`, `haip-vp://...` or an https link) to the engine,
   * which fetches and checks the request and decides trust in the verifier;
   * its `presentation_request` is answered on this side (the wallet's
   * credentials matched locally, `consentToPresentation`, the presentations
   * signed with `signWith`). Resolves when the verifier accepted the response,
   * with the verifier and where to send the browser next; rejects with
   * {@link EngineFlowError} (`declined` when the user said no), or
   * {@link EngineRequestError} when the engine refuses the start.
   */
  present(requestLink: string, options: PresentOptions = {}): Promise<PresentationResult> {
    return this.startFlow('oid4vp', { request: requestLink }, options, toPresentationResult);
  }

  /**
   * Attaches to a flow (deferred, started in another tab or before a page
   * load, listed in {@link flows}) and waits for its end. The engine re-asks
   * whatever it is waiting for; the handlers answer. An issuance by default;
   * pass `protocol: 'oid4vp'` for a presentation (`flows()` tells which).
   * Rejects with {@link EngineResultError} `wrong_protocol` when the flow
   * is of the other protocol.
   */
  resume(flowId: string, options?: FlowOptions & { protocol?: 'oid4vci' }): Promise<IssuanceResult>;
  /** Attaches to a presentation flow (`protocol: 'oid4vp'`) and waits for its end. */
  resume(flowId: string, options: FlowOptions & { protocol: 'oid4vp' }): Promise<PresentationResult>;
  async resume(flowId: string, options: FlowOptions & { protocol?: 'oid4vci' | 'oid4vp' } = {}): Promise<IssuanceResult | PresentationResult> {
    await this.ensureConnected();
    const convert: (result: FlowComplete) => IssuanceResult | PresentationResult = options.protocol === 'oid4vp' ? toPresentationResult : toIssuanceResult;
    return new Promise<IssuanceResult | PresentationResult>((resolve, reject) => {
      const waiter = waiterFor(convert, resolve, reject, options);
      this.track(flowId, waiter);
      this.safeCall(() => options.onStarted?.(flowId), 'on_started_failed');
      this.sendResume(flowId).catch((error: unknown) => {
        if (error instanceof EngineRequestError && error.code === 'unknown_flow') this.failFlow(flowId, error);
        else this.dropWaiter(flowId, waiter, error instanceof Error ? error : new Error(errorMessage(error)));
      });
    });
  }

  /**
   * On the page the authorization server redirected to: finds the flow by the
   * URL's `state` (kept in the storage port when the authorization request
   * came), resumes it and answers the re-asked `authorization_request` with
   * the URL's `code`/`state`/`iss` (or `error`). Resolves like
   * {@link receiveCredential}; rejects with {@link RedirectError} when the
   * URL matches no flow.
   */
  async resumeAfterRedirect(redirectUrl: string, options: FlowOptions = {}): Promise<IssuanceResult> {
    const result = parseRedirect(redirectUrl);
    const key = STORAGE_PREFIX + result.state;
    const stored = this.readStored(await this.storage.get(key));
    if (!stored || !sameEndpoint(redirectUrl, stored.redirect_uri)) throw new RedirectError('unknown_state', 'no flow waits for this redirect (unknown "state")');
    this.redirectResults.set(stored.flow_id, result);
    this.rememberStorageKey(stored.flow_id, key);
    return this.resume(stored.flow_id, options);
  }

  /** Tells the issuer what became of a credential (its `notification_id` from `flow_complete`). */
  async notify(flowId: string, notificationId: string, event: NotificationEvent, description?: string): Promise<NotificationResult> {
    await this.ensureConnected();
    const messageId = this.newId();
    const frame: ClientMessageOf<'notification'> = {
      type: 'notification',
      message_id: messageId,
      flow_id: flowId,
      notification_id: notificationId,
      event,
      ...(description !== undefined ? { event_description: description.slice(0, 512) } : {}),
    };
    // Repeated after a reconnect: telling the issuer twice is harmless, never telling it is not.
    const answer = await this.request('notification', frame, { flowId, notificationId, repeat: true });
    if (answer.type !== 'notification_result') throw new Error(`unexpected answer ${answer.type}`);
    return answer;
  }

  /**
   * Cancels a flow. Resolves once the engine confirms (its `flow_error`
   * `cancelled`, which also rejects whoever waits for the flow) or says the
   * flow is gone.
   */
  async cancel(flowId: string): Promise<void> {
    await this.ensureConnected();
    const frame: ClientMessageOf<'flow_cancel'> = { type: 'flow_cancel', message_id: this.newId(), flow_id: flowId };
    try {
      await this.request('flow_cancel', frame, { flowId, repeat: true });
    } catch (error) {
      if (error instanceof EngineRequestError && error.code === 'unknown_flow') {
        this.failFlow(flowId, error);
        return;
      }
      throw error;
    }
  }

  /** Tells the engine the flow's result is stored, so it forgets the flow (for flows run with `ack: false`). */
  async ack(flowId: string): Promise<void> {
    this.pendingAcks.add(flowId);
    await this.ensureConnected();
    this.flushAcks();
  }

  /** This user's flows the engine held at the last handshake (resume them with {@link resume}). */
  flows(): FlowSummary[] {
    return (this.lastHandshake?.flows ?? []).map((flow) => ({ ...flow }));
  }

  /** The flows this client waits for right now. */
  activeFlows(): string[] {
    return [...this.tracked.keys()];
  }

  /**
   * Closes the connection and stops reconnecting. Pending requests and flow
   * waits reject with {@link EngineConnectionError} `closed`; the flows go on
   * in the engine (resume them later).
   */
  async close(): Promise<void> {
    this.closedByUser = true;
    this.stopTimers();
    for (const wake of [...this.sleeping]) wake();
    const closed = new EngineConnectionError('closed', 'the client was closed');
    // Taken first: failing an opening connection forgets it.
    const conn = this.conn;
    this.conn = null;
    this.opening?.fail(new AttemptFailure(NORMAL_CLOSURE, closed.message));
    this.failAll(closed);
    if (!conn) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      conn.transport.onclose = () => {
        clearTimeout(timer);
        resolve();
      };
      conn.transport.onmessage = null;
      try {
        conn.transport.close(NORMAL_CLOSURE, 'client closed');
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  // ---------------------------------------------------------------- flows

  private startFlow<T>(protocol: 'oid4vci' | 'oid4vp', params: FlowStartParams, options: FlowOptions, convert: (result: FlowComplete) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter = waiterFor(convert, resolve, reject, options);
      const frame: ClientMessageOf<'flow_start'> = { type: 'flow_start', message_id: this.newId(), protocol, params };
      // Refused here with the engine's own wording, rather than after a round trip.
      const checked = zClientMessage.safeParse(frame);
      if (!checked.success) {
        const issue = describeIssue(checked.error.issues[0]);
        reject(new EngineRequestError('invalid_message', issue.message, issue.path));
        return;
      }
      this.ensureConnected()
        .then(() =>
          this.request('flow_start', frame, { repeat: false, waiter, ...(options.onStarted ? { onStarted: options.onStarted } : {}) }),
        )
        .catch(reject);
    });
  }

  private track(flowId: string, waiter: Waiter): void {
    const flow = this.tracked.get(flowId);
    if (flow) flow.waiters.push(waiter);
    else this.tracked.set(flowId, { flowId, waiters: [waiter] });
  }

  private dropWaiter(flowId: string, waiter: Waiter, error: Error): void {
    const flow = this.tracked.get(flowId);
    if (flow) {
      flow.waiters = flow.waiters.filter((w) => w !== waiter);
      if (flow.waiters.length === 0) this.tracked.delete(flowId);
    }
    waiter.reject(error);
  }

  /** Re-attaches the flow on this connection; retries while another replica still holds it (`flow_busy`). */
  private async sendResume(flowId: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const frame: ClientMessageOf<'flow_resume'> = { type: 'flow_resume', message_id: this.newId(), flow_id: flowId };
      try {
        await this.request('flow_resume', frame, { flowId, repeat: true });
        return;
      } catch (error) {
        if (!(error instanceof EngineRequestError && error.code === 'flow_busy') || attempt >= this.attempts) throw error;
        await this.sleep(this.backoff(attempt, false));
        if (this.closedByUser) throw new EngineConnectionError('closed', 'the client was closed');
      }
    }
  }

  /** A flow ended: hand the outcome to its waiters, forget its answers, acknowledge it. */
  private finishFlow(flowId: string, outcome: { result: FlowComplete } | { error: FlowErrorMessage }): void {
    this.answers.delete(flowId);
    this.redirectResults.delete(flowId);
    this.removeStorageKeys(flowId);
    for (const request of [...this.pending.values()]) {
      // The end answers a pending cancel or resume of the flow too.
      if (request.flowId === flowId && (request.kind === 'flow_cancel' || request.kind === 'flow_resume')) {
        this.settle(request, 'error' in outcome ? outcome.error : outcome.result);
      }
    }
    const flow = this.tracked.get(flowId);
    if (!flow) {
      // Not acknowledged: whoever resumes the flow later gets the result again.
      this.log('result_for_untracked_flow', { flowId });
      return;
    }
    this.tracked.delete(flowId);
    for (const waiter of flow.waiters) {
      if ('result' in outcome) waiter.resolve(outcome.result);
      else waiter.reject(new EngineFlowError(outcome.error.code, outcome.error.message, flowId));
    }
    if (flow.waiters.every((waiter) => waiter.ack)) {
      this.pendingAcks.add(flowId);
      this.flushAcks();
    }
  }

  /** The flow cannot be followed any more (gone on the engine, or the connection failed). */
  private failFlow(flowId: string, error: Error): void {
    const flow = this.tracked.get(flowId);
    this.tracked.delete(flowId);
    this.answers.delete(flowId);
    this.redirectResults.delete(flowId);
    for (const waiter of flow?.waiters ?? []) waiter.reject(error);
  }

  private flushAcks(): void {
    if (!this.conn?.ready) return;
    for (const flowId of [...this.pendingAcks]) {
      if (this.sendFrame({ type: 'flow_ack', message_id: this.newId(), flow_id: flowId })) this.pendingAcks.delete(flowId);
    }
  }

  // ---------------------------------------------------------------- questions

  private handleQuestion(question: QuestionMessage): void {
    let flowAnswers = this.answers.get(question.flow_id);
    if (!flowAnswers) {
      flowAnswers = new Map();
      this.answers.set(question.flow_id, flowAnswers);
    }
    const redirect = question.type === 'authorization_request' ? this.redirectResults.get(question.flow_id) : undefined;
    if (redirect) {
      // The redirect page answers the re-asked authorization request from the URL, not the handler.
      this.redirectResults.delete(question.flow_id);
      const reply: ReplyMessage = { type: 'authorization_response', flow_id: question.flow_id, message_id: question.message_id, ...redirect };
      flowAnswers.set(question.message_id, { reply });
      this.sendReply(reply);
      return;
    }
    const existing = flowAnswers.get(question.message_id);
    if (existing) {
      // Asked again (after a resume): same answer, the user is not asked twice. While the handler
      // still runs, its reply goes out when it settles, on whatever connection is up then.
      this.log('question_repeated', { flowId: question.flow_id, messageId: question.message_id, answered: existing.reply !== undefined });
      if (existing.reply) this.sendReply(existing.reply);
      return;
    }
    const entry: AnswerEntry = {};
    flowAnswers.set(question.message_id, entry);
    void this.answer(question).then((reply) => {
      // The flow may have ended (timeout, cancel) while the user was answering.
      if (this.answers.get(question.flow_id)?.get(question.message_id) !== entry || !reply) return;
      entry.reply = reply;
      this.sendReply(reply);
    });
  }

  /** Runs the handler for a question; never rejects. Null: no reply now (the page navigates away, or the flow is cancelled). */
  private async answer(question: QuestionMessage): Promise<ReplyMessage | null> {
    const ids = { flow_id: question.flow_id, message_id: question.message_id };
    const handlers = this.handlers;
    const failed = (error: unknown) => {
      this.log('handler_failed', { type: question.type, flowId: question.flow_id, error: errorMessage(error) });
      return failureOf(error);
    };
    switch (question.type) {
      case 'sign_request': {
        let reply: ReplyMessage;
        try {
          const signatures: { id: string; jws: string }[] = [];
          // One at a time: a hardware or user-presence signer handles one request at a time.
          for (const item of question.items) signatures.push({ id: item.id, jws: await handlers.sign(item, { flowId: question.flow_id }) });
          reply = { type: 'sign_response', ...ids, signatures };
        } catch (error) {
          return { type: 'sign_response', ...ids, error: failed(error) };
        }
        return this.checked(reply, () => ({ type: 'sign_response', ...ids, error: { code: 'failed', message: 'the sign handler returned an invalid JWS' } }));
      }
      case 'selection_request': {
        try {
          const chosen = handlers.chooseCredential
            ? await handlers.chooseCredential(question)
            : question.options[0]?.credential_configuration_id;
          if (!chosen) throw new ClientFailureError('unsupported', 'the offer lists no credential to choose');
          return this.checked({ type: 'selection_response', ...ids, credential_configuration_id: chosen }, () => ({
            type: 'selection_response',
            ...ids,
            error: { code: 'failed', message: 'the selection handler returned an invalid id' },
          }));
        } catch (error) {
          return { type: 'selection_response', ...ids, error: failed(error) };
        }
      }
      case 'consent_request': {
        let accept: boolean;
        try {
          accept = handlers.consent ? (await handlers.consent(question)) === true : question.issuer.trust.trusted;
        } catch (error) {
          failed(error);
          accept = false;
        }
        return { type: 'consent_response', ...ids, accept };
      }
      case 'tx_code_request': {
        try {
          if (!handlers.askTxCode) throw new ClientFailureError('unsupported', 'this wallet cannot ask for a transaction code');
          const txCode = await handlers.askTxCode(question);
          if (!txCode) throw new ClientFailureError('declined', 'no transaction code was entered');
          return this.checked({ type: 'tx_code_response', ...ids, tx_code: txCode }, () => ({
            type: 'tx_code_response',
            ...ids,
            error: { code: 'failed', message: 'the transaction code is longer than 64 characters' },
          }));
        } catch (error) {
          return { type: 'tx_code_response', ...ids, error: failed(error) };
        }
      }
      case 'authorization_request':
        return this.answerAuthorization(question);
      case 'presentation_request':
        return this.answerPresentation(question);
    }
  }

  /**
   * Answers a verifier's request: the `present` handler when set, else the
   * built-in path (local matching, consent, building). Declined without a
   * consent handler; never rejects.
   */
  private async answerPresentation(question: ServerMessageOf<'presentation_request'>): Promise<ReplyMessage> {
    const ids = { flow_id: question.flow_id, message_id: question.message_id };
    const log = (event: string, detail?: Record<string, unknown>) => this.log(event, detail);
    const refuse = (error: unknown): ReplyMessage => {
      const failure = failureOf(error);
      log('handler_failed', { type: question.type, flowId: question.flow_id, error: failure.message });
      return { type: 'presentation_response', ...ids, error: failure };
    };
    let reply: ReplyMessage;
    try {
      const custom = this.handlers.present;
      if (custom) {
        const answer = await custom(question);
        reply = answer === 'decline' ? { type: 'presentation_response', ...ids, error: { code: 'declined' } } : { type: 'presentation_response', ...ids, ...answer };
      } else {
        reply = { type: 'presentation_response', ...ids, ...(await answerPresentationRequest(question, this.handlers, log)) };
      }
    } catch (error) {
      return refuse(error);
    }
    return this.checked(reply, () => ({ type: 'presentation_response', ...ids, error: { code: 'failed', message: 'the presentations do not fit the protocol (count or size)' } }));
  }

  private async answerAuthorization(question: ServerMessageOf<'authorization_request'>): Promise<ReplyMessage | null> {
    const ids = { flow_id: question.flow_id, message_id: question.message_id };
    const state = question.state;
    // Written before the handler runs: the page may navigate away inside it.
    try {
      const key = STORAGE_PREFIX + state;
      const stored: StoredAuthorization = { flow_id: question.flow_id, message_id: question.message_id, redirect_uri: question.redirect_uri };
      await this.storage.set(key, JSON.stringify(stored));
      this.rememberStorageKey(question.flow_id, key);
    } catch (error) {
      this.log('storage_failed', { flowId: question.flow_id, error: errorMessage(error) });
    }
    // authorization_response carries a client's failure as OAuth's `error`.
    const refuse = (error: unknown): ReplyMessage => {
      const failure = failureOf(error);
      this.log('handler_failed', { type: question.type, flowId: question.flow_id, error: failure.message });
      return {
        type: 'authorization_response',
        ...ids,
        state,
        error: failure.code === 'declined' ? 'access_denied' : 'client_failed',
        error_description: failure.message,
      };
    };
    try {
      if (!this.handlers.openAuthorizationUrl) throw new ClientFailureError('unsupported', 'this wallet cannot open an authorization URL');
      const result = await this.handlers.openAuthorizationUrl(question);
      if (!result) return null;
      const reply: ReplyMessage = {
        type: 'authorization_response',
        ...ids,
        state: result.state,
        ...(result.code !== undefined ? { code: result.code } : {}),
        ...(result.iss !== undefined ? { iss: result.iss } : {}),
        ...(result.error !== undefined ? { error: result.error } : {}),
        ...(result.error_description !== undefined ? { error_description: result.error_description } : {}),
      };
      return zClientMessage.safeParse(reply).success ? reply : refuse(new Error('the authorization result is invalid'));
    } catch (error) {
      return refuse(error);
    }
  }

  /** The reply when it is a valid frame, else the fallback (a handler returned something unusable). */
  private checked(reply: ReplyMessage, fallback: () => ReplyMessage): ReplyMessage {
    if (zClientMessage.safeParse(reply).success) return reply;
    this.log('handler_result_invalid', { type: reply.type, flowId: reply.flow_id });
    return fallback();
  }

  private sendReply(reply: ReplyMessage): void {
    // While disconnected it is dropped: the engine re-asks after the resume and gets the kept reply.
    if (!this.sendFrame(reply)) this.log('reply_deferred', { type: reply.type, flowId: reply.flow_id, messageId: reply.message_id });
  }

  // ---------------------------------------------------------------- storage

  private readStored(value: string | null | undefined): StoredAuthorization | undefined {
    if (!value) return undefined;
    try {
      const parsed = JSON.parse(value) as Partial<StoredAuthorization>;
      if (typeof parsed.flow_id !== 'string' || typeof parsed.message_id !== 'string') return undefined;
      return {
        flow_id: parsed.flow_id,
        message_id: parsed.message_id,
        ...(typeof parsed.redirect_uri === 'string' ? { redirect_uri: parsed.redirect_uri } : {}),
      };
    } catch {
      return undefined;
    }
  }

  private rememberStorageKey(flowId: string, key: string): void {
    const keys = this.storageKeys.get(flowId) ?? new Set<string>();
    keys.add(key);
    this.storageKeys.set(flowId, keys);
  }

  private removeStorageKeys(flowId: string): void {
    const keys = this.storageKeys.get(flowId);
    this.storageKeys.delete(flowId);
    for (const key of keys ?? []) {
      Promise.resolve()
        .then(() => this.storage.remove(key))
        .catch((error: unknown) => this.log('storage_failed', { flowId, error: errorMessage(error) }));
    }
  }

  // ---------------------------------------------------------------- requests

  private request(
    kind: RequestKind,
    frame: ClientMessage & { message_id?: string | undefined },
    extra: Pick<PendingRequest, 'repeat'> & Partial<Pick<PendingRequest, 'flowId' | 'notificationId' | 'waiter' | 'onStarted'>>,
  ): Promise<ServerMessage> {
    return new Promise<ServerMessage>((resolve, reject) => {
      const messageId = frame.message_id ?? this.newId();
      const request: PendingRequest = { kind, messageId, frame, sentOn: null, resolve, reject, ...extra };
      this.pending.set(messageId, request);
      this.transmit(request);
    });
  }

  /** Sends a pending request on the current connection (if any) and starts its answer timeout. */
  private transmit(request: PendingRequest): void {
    if (!this.conn?.ready || !this.sendFrame(request.frame)) return;
    request.sentOn = this.conn.gen;
    if (request.timer) clearTimeout(request.timer);
    request.timer = setTimeout(() => {
      this.pending.delete(request.messageId);
      request.reject(new EngineConnectionError('timeout', `the engine did not answer ${request.frame.type} within ${this.timeoutMs} ms`));
    }, this.timeoutMs);
  }

  private settle(request: PendingRequest, answer: ServerMessage): void {
    this.pending.delete(request.messageId);
    if (request.timer) clearTimeout(request.timer);
    request.resolve(answer);
  }

  private refuse(request: PendingRequest, error: Error): void {
    this.pending.delete(request.messageId);
    if (request.timer) clearTimeout(request.timer);
    request.reject(error);
  }

  private findPending(kind: RequestKind, match: (request: PendingRequest) => boolean): PendingRequest | undefined {
    for (const request of this.pending.values()) if (request.kind === kind && match(request)) return request;
    return undefined;
  }

  // ---------------------------------------------------------------- connection

  private async ensureConnected(): Promise<HandshakeOk> {
    if (this.conn?.ready && this.lastHandshake) return this.lastHandshake;
    if (this.connecting) return this.connecting;
    return this.connect();
  }

  /**
   * Tries to connect until it works, a close code says not to retry, or the
   * attempts are used up. A refused token is retried once with a fresh one,
   * without counting as an attempt.
   */
  private async connectLoop(plan: { attempts: number; firstDelayMs: number; refresh: boolean }): Promise<HandshakeOk> {
    let failures = 0;
    let refresh = plan.refresh;
    let authRetried = plan.refresh;
    let delay = plan.firstDelayMs;
    for (;;) {
      if (delay > 0) {
        this.log('reconnect_wait', { delayMs: Math.round(delay) });
        await this.sleep(delay);
      }
      if (this.closedByUser) throw new EngineConnectionError('closed', 'the client was closed');
      let failure: AttemptFailure;
      try {
        const token = await this.options.getToken({ refresh });
        return await this.openOnce(token);
      } catch (error) {
        if (!(error instanceof AttemptFailure)) throw error; // getToken failed: the app's call
        failure = error;
      }
      if (this.closedByUser) throw new EngineConnectionError('closed', 'the client was closed');
      const code = failure.closeCode;
      this.log('connect_failed', { closeCode: code, reason: failure.message.slice(0, 128) });
      const fatal = fatalClose(code);
      if (fatal) throw fatal;
      if (closeAction(code) === 'refresh') {
        if (authRetried) throw new EngineConnectionError('unauthenticated', 'the engine refused the access token, also a fresh one', code);
        authRetried = true;
        refresh = true;
        delay = 0;
        continue;
      }
      refresh = false;
      failures++;
      if (failures >= plan.attempts) {
        throw new EngineConnectionError('connect_failed', `could not connect to the engine (${failure.message})`, code);
      }
      delay = this.backoff(failures, closeAction(code) === 'slow');
    }
  }

  /** One connection attempt: open the transport, send the handshake, wait for `handshake_ok`. */
  private openOnce(token: string): Promise<HandshakeOk> {
    return new Promise<HandshakeOk>((resolve, reject) => {
      let transport: EngineTransport;
      try {
        transport = this.createTransport();
      } catch (error) {
        reject(new AttemptFailure(undefined, errorMessage(error)));
        return;
      }
      const conn: Connection = { gen: ++this.generation, transport, ready: false };
      this.conn = conn;
      const messageId = this.newId();
      let settled = false;
      const timer = setTimeout(() => {
        opening.fail(new AttemptFailure(undefined, 'no handshake answer in time'));
        this.closeQuietly(transport, NORMAL_CLOSURE, 'handshake timeout');
      }, this.timeoutMs);
      const opening: Opening = {
        conn,
        messageId,
        resolve: (ok) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.opening = null;
          conn.ready = true;
          this.onReady(conn, ok);
          resolve(ok);
        },
        fail: (failure) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.opening = null;
          if (this.conn === conn) this.conn = null;
          reject(failure);
        },
      };
      this.opening = opening;
      transport.onopen = () => {
        if (this.conn !== conn) return;
        const frame: ClientMessageOf<'handshake'> = {
          type: 'handshake',
          message_id: messageId,
          token,
          client: { name: this.options.clientInfo?.name ?? 'wallet-client', ...(this.options.clientInfo?.version ? { version: this.options.clientInfo.version } : {}) },
        };
        try {
          transport.send(JSON.stringify(frame));
        } catch (error) {
          opening.fail(new AttemptFailure(undefined, errorMessage(error)));
        }
      };
      transport.onmessage = (text) => this.onFrame(conn, text);
      transport.onclose = (code, reason) => this.onClose(conn, code, reason);
      transport.onerror = (error) => this.log('transport_error', { error: errorMessage(error).slice(0, 128) });
    });
  }

  /** The handshake is done: re-send what was in flight, resume tracked flows, start keep-alives. */
  private onReady(conn: Connection, ok: HandshakeOk): void {
    this.lastHandshake = ok;
    this.log('connected', { flows: ok.flows.length, protocolVersion: ok.protocol_version });
    const resuming = new Set<string>();
    for (const request of [...this.pending.values()]) {
      if (request.sentOn === conn.gen) continue;
      if (request.kind === 'flow_resume' && request.flowId) resuming.add(request.flowId);
      this.transmit(request);
    }
    for (const flowId of this.tracked.keys()) {
      if (resuming.has(flowId)) continue;
      this.sendResume(flowId).catch((error: unknown) => {
        if (error instanceof EngineRequestError && error.code === 'unknown_flow') this.failFlow(flowId, error);
        else this.log('resume_failed', { flowId, error: errorMessage(error) });
      });
    }
    this.flushAcks();
    this.scheduleRehandshake(ok);
    this.schedulePing(conn);
  }

  private onClose(conn: Connection, code: number, reason: string): void {
    if (this.conn !== conn) return; // an old connection, already replaced or closed by us
    if (!conn.ready) {
      this.opening?.fail(new AttemptFailure(code, `closed with ${code}${reason ? ` (${reason.slice(0, 64)})` : ''}`));
      return;
    }
    this.conn = null;
    this.log('disconnected', { closeCode: code });
    this.onDrop(code);
  }

  /** An open connection is gone without `close()`: fail what cannot be repeated, then reconnect. */
  private onDrop(code: number): void {
    this.stopTimers();
    if (this.closedByUser) return;
    for (const request of [...this.pending.values()]) {
      if (request.sentOn === null) continue;
      if (!request.repeat) {
        const message =
          request.kind === 'flow_start'
            ? 'the connection dropped before the engine confirmed the flow; it may have started (see flows())'
            : `the connection dropped before the engine answered ${request.frame.type}`;
        this.refuse(request, new EngineConnectionError('connection_lost', message, code));
      } else {
        // Unsent again: it goes out after the next handshake, with a fresh timeout.
        request.sentOn = null;
        if (request.timer) clearTimeout(request.timer);
      }
    }
    const fatal = fatalClose(code);
    if (fatal) {
      // What we sent will be refused again (or we may not connect at all): no reconnect loop.
      this.log('reconnect_refused', { closeCode: code, error: fatal.code });
      this.failAll(fatal);
      return;
    }
    const action = closeAction(code);
    // Going away: every client of a stopping replica reconnects; a short random delay spreads them.
    const firstDelayMs = action === 'refresh' ? 0 : code === CLOSE_CODES.goingAway ? Math.random() * this.baseDelayMs : this.backoff(1, action === 'slow');
    const connecting = this.connectLoop({ attempts: this.attempts, firstDelayMs, refresh: action === 'refresh' });
    this.connecting = connecting;
    connecting.then(
      () => {
        if (this.connecting === connecting) this.connecting = null;
      },
      (error: unknown) => {
        if (this.connecting === connecting) this.connecting = null;
        this.log('reconnect_failed', { error: errorMessage(error) });
        this.failAll(error instanceof Error ? error : new Error(errorMessage(error)));
      },
    );
  }

  /** Rejects every request and flow wait: the client has no connection and will not get one by itself. */
  private failAll(error: Error): void {
    for (const request of [...this.pending.values()]) this.refuse(request, error);
    const flows = [...this.tracked.keys()];
    for (const flowId of flows) this.failFlow(flowId, error instanceof EngineConnectionError ? error.forFlow(flowId) : error);
    this.answers.clear();
    this.redirectResults.clear();
  }

  private scheduleRehandshake(ok: HandshakeOk): void {
    if (this.rehandshakeTimer) clearTimeout(this.rehandshakeTimer);
    const remaining = Date.parse(ok.session.expires_at) - Date.now();
    if (!Number.isFinite(remaining) || remaining <= 0) return;
    // A fresh token before the session ends, so long flows (deferred issuance) keep their connection.
    const delay = Math.min(remaining > 120_000 ? remaining - 60_000 : remaining / 2, 2 ** 31 - 1);
    this.rehandshakeTimer = setTimeout(() => {
      this.rehandshakeTimer = undefined;
      void this.rehandshake();
    }, delay);
  }

  private async rehandshake(): Promise<void> {
    try {
      const token = await this.options.getToken({ refresh: false });
      if (!this.conn?.ready) return;
      const answer = await this.request('handshake', { type: 'handshake', message_id: this.newId(), token }, { repeat: false });
      if (answer.type === 'handshake_ok') {
        this.lastHandshake = answer;
        this.scheduleRehandshake(answer);
      }
    } catch (error) {
      // A refused token closes the connection with 4401, and the reconnect gets a fresh one.
      this.log('rehandshake_failed', { error: errorMessage(error) });
    }
  }

  private schedulePing(conn: Connection): void {
    if (this.pingIntervalMs <= 0 || this.conn !== conn) return;
    if (this.pingTimer) clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => {
      this.pingTimer = undefined;
      if (this.conn !== conn) return;
      this.request('ping', { type: 'ping', message_id: this.newId() }, { repeat: false }).then(
        () => this.schedulePing(conn),
        (error: unknown) => {
          if (this.conn !== conn || !(error instanceof EngineConnectionError && error.code === 'timeout')) return;
          // No pong: the connection is dead even if the socket has not noticed.
          this.log('ping_timeout');
          this.conn = null;
          this.closeQuietly(conn.transport, 4000, 'no pong');
          this.onDrop(1006);
        },
      );
    }, this.pingIntervalMs);
  }

  private stopTimers(): void {
    if (this.pingTimer) clearTimeout(this.pingTimer);
    if (this.rehandshakeTimer) clearTimeout(this.rehandshakeTimer);
    this.pingTimer = undefined;
    this.rehandshakeTimer = undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleeping.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleeping.add(wake);
    });
  }

  /** Exponential backoff with jitter: half fixed, half random, so clients do not reconnect in step. */
  private backoff(failures: number, slow: boolean): number {
    const exponent = failures - 1 + (slow ? 2 : 0);
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** exponent);
    return delay / 2 + (Math.random() * delay) / 2;
  }

  private sendFrame(frame: ClientMessage): boolean {
    const conn = this.conn;
    if (!conn || (!conn.ready && frame.type !== 'handshake')) return false;
    try {
      conn.transport.send(JSON.stringify(frame));
      return true;
    } catch (error) {
      this.log('send_failed', { type: frame.type, error: errorMessage(error).slice(0, 128) });
      return false;
    }
  }

  private closeQuietly(transport: EngineTransport, code: number, reason: string): void {
    try {
      transport.close(code, reason);
    } catch {
      // Already closed: nothing to do.
    }
  }

  // ---------------------------------------------------------------- incoming frames

  private onFrame(conn: Connection, text: string): void {
    if (this.conn !== conn) return;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.log('invalid_frame', { reason: 'not JSON' });
      return;
    }
    const parsed = zServerMessage.safeParse(json);
    if (!parsed.success) {
      const type = typeof json === 'object' && json !== null ? (json as Record<string, unknown>)['type'] : undefined;
      this.log('invalid_frame', { type: typeof type === 'string' ? type.slice(0, 64) : undefined, reason: describeIssue(parsed.error.issues[0]).message.slice(0, 256) });
      return;
    }
    try {
      this.dispatch(conn, parsed.data);
    } catch (error) {
      this.log('dispatch_failed', { type: parsed.data.type, error: errorMessage(error) });
    }
  }

  private dispatch(conn: Connection, message: ServerMessage): void {
    if (!conn.ready) {
      this.beforeHandshake(conn, message);
      return;
    }
    switch (message.type) {
      case 'handshake_ok': {
        const request = message.message_id ? this.pending.get(message.message_id) : this.findPending('handshake', () => true);
        if (request) this.settle(request, message);
        else this.lastHandshake = message;
        return;
      }
      case 'pong': {
        const request = message.message_id ? this.pending.get(message.message_id) : this.findPending('ping', () => true);
        if (request) this.settle(request, message);
        return;
      }
      case 'error':
        this.onEngineError(message);
        return;
      case 'flow_started': {
        const request = this.pending.get(message.message_id);
        if (!request || request.kind !== 'flow_start') {
          // A start we gave up on (timeout): nobody waits for the flow, so it is not left running.
          this.log('unexpected_frame', { type: message.type, messageId: message.message_id });
          this.cancel(message.flow_id).catch((error: unknown) => this.log('cancel_failed', { flowId: message.flow_id, error: errorMessage(error) }));
          return;
        }
        // Tracked before the next frame is read: the flow's first question may follow in the same tick.
        if (request.waiter) this.track(message.flow_id, request.waiter);
        const onStarted = request.onStarted;
        this.settle(request, message);
        if (onStarted) this.safeCall(() => onStarted(message.flow_id), 'on_started_failed');
        return;
      }
      case 'flow_status': {
        const request =
          (message.message_id ? this.pending.get(message.message_id) : undefined) ??
          this.findPending('flow_resume', (r) => r.flowId === message.flow_id);
        if (request) this.settle(request, message);
        this.log('flow_status', { flowId: message.flow_id, status: message.status });
        const handler = this.handlers.onFlowStatus;
        if (handler) this.safeCall(() => handler(message), 'on_flow_status_failed');
        return;
      }
      case 'flow_progress': {
        const handler = this.handlers.onProgress;
        if (handler) this.safeCall(() => handler(message), 'on_progress_failed');
        return;
      }
      case 'sign_request':
      case 'selection_request':
      case 'consent_request':
      case 'tx_code_request':
      case 'authorization_request':
      case 'presentation_request':
        this.handleQuestion(message);
        return;
      case 'flow_complete':
        this.log('flow_complete', { flowId: message.flow_id, protocol: message.protocol, credentials: message.credentials?.length });
        this.finishFlow(message.flow_id, { result: message });
        return;
      case 'flow_error': {
        this.log('flow_error', { flowId: message.flow_id, code: message.code });
        // A flow that fails right at its start may answer the flow_start itself.
        const start = message.message_id ? this.pending.get(message.message_id) : undefined;
        if (start?.kind === 'flow_start') {
          start.onStarted = undefined;
          if (start.waiter) this.track(message.flow_id, start.waiter);
          this.settle(start, message);
        }
        this.finishFlow(message.flow_id, { error: message });
        return;
      }
      case 'notification_result': {
        const request =
          (message.message_id ? this.pending.get(message.message_id) : undefined) ??
          this.findPending('notification', (r) => r.flowId === message.flow_id && r.notificationId === message.notification_id);
        if (request) this.settle(request, message);
        return;
      }
    }
  }

  private beforeHandshake(conn: Connection, message: ServerMessage): void {
    const opening = this.opening;
    if (!opening || opening.conn !== conn) return;
    if (message.type === 'handshake_ok') {
      opening.resolve(message);
      return;
    }
    if (message.type === 'error') {
      // The close follows; the code already says what it will be, so do not wait for it.
      const closeCode =
        message.code === 'unauthenticated'
          ? CLOSE_CODES.unauthenticated
          : message.code === 'forbidden_origin'
            ? CLOSE_CODES.forbiddenOrigin
            : message.code === 'rate_limited'
              ? CLOSE_CODES.rateLimited
              : undefined;
      opening.fail(new AttemptFailure(closeCode, `${message.code}: ${message.message.slice(0, 128)}`));
      this.closeQuietly(conn.transport, NORMAL_CLOSURE, 'handshake refused');
      return;
    }
    this.log('unexpected_frame', { type: message.type, beforeHandshake: true });
  }

  private onEngineError(message: ServerMessageOf<'error'>): void {
    const request = message.message_id ? this.pending.get(message.message_id) : undefined;
    if (request) {
      this.refuse(request, new EngineRequestError(message.code, message.message, message.path, message.flow_id ?? request.flowId));
      return;
    }
    const answered = message.flow_id && message.message_id ? this.answers.get(message.flow_id)?.get(message.message_id) : undefined;
    if (answered) {
      // A reply of ours was refused: `unexpected_reply` after a duplicate is harmless; anything
      // else means the flow goes on waiting, and ends with `timeout` if nothing else comes.
      this.log('reply_refused', { flowId: message.flow_id, messageId: message.message_id, code: message.code });
      return;
    }
    if (message.flow_id && message.code === 'unknown_flow' && this.tracked.has(message.flow_id)) {
      this.failFlow(message.flow_id, new EngineRequestError(message.code, message.message, message.path, message.flow_id));
      return;
    }
    this.log('engine_error', { code: message.code, flowId: message.flow_id, messageId: message.message_id, message: message.message.slice(0, 256) });
  }

  // ---------------------------------------------------------------- helpers

  private newId(): string {
    const random = new Uint8Array(6);
    globalThis.crypto.getRandomValues(random);
    return `c${(++this.counter).toString(36)}-${base64urlEncode(random)}`;
  }

  private safeCall(call: () => void, event: string): void {
    try {
      call();
    } catch (error) {
      this.log(event, { error: errorMessage(error) });
    }
  }

  private log(event: string, detail?: Record<string, unknown>): void {
    try {
      this.options.logger?.(event, detail);
    } catch {
      // A failing logger must not break the client.
    }
  }
}
