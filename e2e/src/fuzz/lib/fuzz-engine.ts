import { isDeepStrictEqual } from 'node:util';
import { zConfig } from '@wallet/config';
import { CLOSE_CODES, MAX_FRAME_DEPTH, MAX_FRAME_MEMBERS, REPLY_TYPES, scanFrame, zClientMessage, zServerMessage } from '@wallet/engine-protocol';
import { createKeyring, parseRedirect, type Keyring } from '@wallet/wallet-client';
import fc from 'fast-check';
import { request } from 'undici';
import { casePlans, clientMessageShapes, enginePools, SLOT_PATTERN, sweepPlans, type CasePlan, type EngineMessageShape, type Prepare, type RawFrame, type Step, type TokenKind } from './engine-frames';
import { FuzzSocket, type ReceivedFrame, type Refusal } from './engine-socket';
import type { EngineFuzzTarget, ProtectedFlowLists } from './engine-target';
import { FindingError, routeSeed, type FindingKind, type FuzzRunOptions, type ServiceReport } from './fuzz-service';
import type { HealthWatcher } from './health-watcher';

/** `runs`: generated cases per group (each client message type, `frames`, `connect`); `route`: only this group. */
export interface EngineFuzzOptions extends FuzzRunOptions {
  /** How long a request may wait for its answer (default 8 s). */
  answerTimeoutMs?: number;
}

/** Frames from the engine that answer a request (they echo its `message_id`). */
const ANSWERS = new Set(['handshake_ok', 'pong', 'error', 'flow_started', 'flow_status', 'flow_error', 'notification_result']);
const QUESTIONS = new Set(['sign_request', 'selection_request', 'consent_request', 'tx_code_request', 'authorization_request', 'presentation_request']);
const REPLIES: ReadonlySet<string> = new Set(REPLY_TYPES);
const MESSAGE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Close codes the protocol documents (CLOSE_CODES); 1000 only when the fuzzer closed first. */
const DOCUMENTED_CLOSES: ReadonlySet<number> = new Set(Object.values(CLOSE_CODES));
const ENGINE_DEFAULTS = zConfig.shape.engine.parse(undefined);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cut = (text: string, n = 300) => (text.length > n ? `${text.slice(0, n)}... (${text.length} chars)` : text);

/** The groups the engine fuzzer drives: every client message type, then hostile frames and connections. */
export function engineGroups(shapes: EngineMessageShape[] = clientMessageShapes()): string[] {
  return [...shapes.map((s) => s.type), 'frames', 'connect'];
}

interface FlowState {
  id: string;
  protocol: string;
  question?: Record<string, unknown>;
  result?: Record<string, unknown>;
  txCode?: string;
  notificationIds: string[];
  refreshToken?: string;
}

/** A request that must be answered: a frame whose `message_id` the engine must echo (or a documented close). */
interface Pending {
  id: string;
  /** flow_cancel: the flow's `flow_error` / `flow_complete` answers it too. */
  cancelOf?: string;
  what: string;
  answered: boolean;
}

interface Violation {
  kind: FindingKind;
  detail: string;
}

/** What the run counts, for the report and the CI spec's coverage checks. */
export interface EngineCoverage {
  cases: number;
  frames: number;
  /** Message steps per client message type. */
  messages: Record<string, number>;
  raw: Record<string, number>;
  handshakes: Record<string, number>;
  /** Handshakes with the start token after it had expired. */
  expiredHandshakes: number;
  prepared: Record<string, number>;
  questions: Record<string, number>;
  bursts: number;
  answered: number;
  /** Server frames by type (errors by code) and closes by code. */
  received: Record<string, number>;
}

/** One generated case against the engine; collects what it saw and the first violations. */
class EngineCase {
  socket: FuzzSocket | null = null;
  refusal: Refusal | null = null;
  /** Whose session the connection is (after handshake_ok). */
  session: 'A' | 'D' | null = null;
  /** The tenant the path names (`/t/<tenant>/...`), if any: only its users may authenticate there. */
  private pathTenant: string | null = null;
  /** The handshakes sent, in order: the token's kind and whom it may authenticate (null: nobody). */
  private readonly handshakes: Array<{ id: string | undefined; kind: TokenKind; user: 'A' | 'D' | null; answered: boolean }> = [];
  /** The tokens this case made, and their kind. */
  private readonly tokenKinds = new Map<string, TokenKind>();
  readonly flows = new Map<string, FlowState>();
  own: FlowState | null = null;
  readonly questionsSeen = new Set<string>();
  readonly pending: Pending[] = [];
  readonly violations: Violation[] = [];
  readonly sent: string[] = [];
  private serial = 0;
  private readonly keyring: Keyring = createKeyring();

  constructor(
    private readonly target: EngineFuzzTarget,
    private readonly coverage: EngineCoverage,
    private readonly index: number,
    private readonly timeoutMs: number,
  ) {}

  private nextId(prefix: string): string {
    return `${prefix}${this.index}.${this.serial++}`;
  }

  private count(map: Record<string, number>, key: string): void {
    map[key] = (Object.hasOwn(map, key) ? map[key]! : 0) + 1;
  }

  private violate(kind: FindingKind, detail: string): void {
    if (this.violations.length < 5) this.violations.push({ kind, detail });
  }

  /** Checks and records one frame from the engine. */
  private onFrame(frame: ReceivedFrame): void {
    if (frame.binary) return this.violate('invalid-frame', `a binary frame from the engine: ${cut(frame.text, 200)}`);
    for (const secret of this.target.secrets()) {
      if (frame.text.includes(secret)) this.violate('secret-in-error', `a frame repeats an access or refresh token: ${cut(frame.text.replace(secret, '<token>'), 300)}`);
    }
    const parsed = zServerMessage.safeParse(frame.json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.violate('invalid-frame', `a frame that is not a server message (${issue ? `${issue.path.join('/')}: ${issue.message}` : 'not JSON'}): ${cut(frame.text, 400)}`);
    }
    const message = parsed.data as Record<string, unknown> & { type: string };
    this.count(this.coverage.received, message.type === 'error' ? `error:${String(message['code'])}` : message.type);
    if (message.type === 'error' && message['code'] === 'internal') this.violate('internal-error', `error code internal: ${cut(frame.text, 300)} (after ${this.describeSent()})`);
    if (message.type === 'flow_error' && message['code'] === 'internal') this.violate('internal-error', `flow_error code internal: ${cut(frame.text, 300)} (after ${this.describeSent()})`);
    const messageId = typeof message['message_id'] === 'string' ? message['message_id'] : undefined;
    const flowId = typeof message['flow_id'] === 'string' ? message['flow_id'] : undefined;
    if (message.type === 'handshake_ok') {
      // A forged, expired or foreign token never gets a session, nor a second user's token on a connection.
      const sent = this.handshakes.find((h) => !h.answered && h.id === messageId);
      if (sent) sent.answered = true;
      if (!sent || sent.user === null || (this.session !== null && this.session !== sent.user)) {
        this.violate('bad-token-accepted', `handshake_ok for a ${sent?.kind ?? 'unknown'} token${this.session ? ` on ${this.session}'s connection` : ''}: ${cut(frame.text, 200)}`);
      }
      this.session ??= sent?.user ?? null;
    }
    if (message.type === 'flow_started' && flowId && !this.flows.has(flowId)) {
      this.flows.set(flowId, { id: flowId, protocol: String(message['protocol']), notificationIds: [] });
    }
    const flow = flowId ? this.flows.get(flowId) : undefined;
    if (QUESTIONS.has(message.type) && flowId && messageId) {
      this.questionsSeen.add(`${flowId}/${messageId}`);
      this.count(this.coverage.questions, message.type);
      if (flow) flow.question = message;
    }
    if ((message.type === 'flow_complete' || message.type === 'flow_error') && flow) {
      flow.result = message;
      delete flow.question;
      const credentials = (message['credentials'] as Array<{ notification_id?: string }> | undefined) ?? [];
      flow.notificationIds = credentials.map((c) => c.notification_id).filter((id): id is string => !!id);
      const refresh = message['refresh'] as { refresh_token?: string } | undefined;
      if (refresh?.refresh_token) flow.refreshToken = refresh.refresh_token;
    }
    // What it answers: the oldest unanswered request with its message_id, or a cancel of its flow.
    if (ANSWERS.has(message.type) && messageId) {
      const match = this.pending.find((p) => !p.answered && p.id === messageId);
      if (match) {
        match.answered = true;
        this.coverage.answered++;
      }
    }
    if ((message.type === 'flow_error' || message.type === 'flow_complete') && flowId) {
      for (const p of this.pending) if (!p.answered && p.cancelOf === flowId) p.answered = true;
    }
  }

  private describeSent(): string {
    return this.sent.slice(-3).join(' | ');
  }

  /** Opens the connection the plan names; false when the upgrade was refused (which may be what is expected). */
  async connect(plan: CasePlan['connect']): Promise<boolean> {
    const paths: Record<CasePlan['connect']['path'], string> = {
      plain: '/api/v2/wallet',
      slash: '/api/v2/wallet/',
      'own-tenant': '/t/default/api/v2/wallet',
      'other-tenant': '/t/beta/api/v2/wallet',
      'unknown-tenant': '/t/no-such-tenant/api/v2/wallet',
      'bad-tenant': '/t/BAD_TENANT/api/v2/wallet',
      query: '/api/v2/wallet?client=fuzz&x=%00&y=%ZZ',
      'wrong-case': '/API/v2/wallet',
      unknown: '/api/v2/wallet/x',
    };
    let path = paths[plan.path];
    this.pathTenant = /^\/t\/([^/]+)\//.exec(path)?.[1] ?? null;
    const token = plan.urlToken ? await this.target.tokenOfA() : '';
    if (plan.urlToken) path += `${path.includes('?') ? '&' : '?'}${plan.urlToken}=${encodeURIComponent(token)}`;
    const origin = plan.origin === 'allowed' ? 'http://localhost:8080' : plan.origin === 'foreign' ? 'http://127.0.0.1:1' : null;
    this.sent.push(`connect ${path.replace(token || '\u0000', '<token>')}${origin ? ` (Origin ${origin})` : ''}`);
    const opened = await FuzzSocket.open(this.target.url(path), origin ? { origin } : {}, this.timeoutMs);
    const mustRefuse = plan.urlToken !== null || ['bad-tenant', 'wrong-case', 'unknown'].includes(plan.path);
    if (opened instanceof FuzzSocket) {
      this.socket = opened;
      this.count(this.coverage.received, 'upgrade:101');
      if (plan.urlToken) this.violate('bad-token-accepted', `the upgrade with a token in the URL was accepted (${plan.urlToken}=): tokens are never taken from the URL`);
      else if (mustRefuse) this.violate('no-answer', `the upgrade of ${path} was accepted; no WebSocket endpoint is documented there`);
      opened.frames.forEach((f) => this.onFrame(f));
      opened.listener = (frame) => this.onFrame(frame);
      return true;
    }
    this.refusal = opened;
    this.count(this.coverage.received, `upgrade:${opened.status}`);
    if (token && opened.body.includes(token)) this.violate('secret-in-error', `the refused upgrade repeats the token from the URL: ${cut(opened.body)}`);
    const shown = path.replace(token || '\u0000', '<token>');
    // A path with no endpoint is a 404 (whatever its query); a token in the URL of the endpoint a 400.
    const expected = ['bad-tenant', 'wrong-case', 'unknown'].includes(plan.path) ? 404 : 400;
    if (!mustRefuse) this.violate('no-answer', `the upgrade of ${shown} was refused: ${opened.status} ${cut(opened.body || opened.error || '', 200)}`);
    else if (opened.status !== expected) this.violate('no-answer', `the upgrade of ${shown} was answered ${opened.status} ${cut(opened.body || opened.error || '', 200)} (expected ${expected})`);
    return false;
  }

  /** The token a handshake carries (remembered with its kind). */
  private async token(kind: TokenKind): Promise<string> {
    const token = await this.makeToken(kind);
    this.tokenKinds.set(token, kind);
    return token;
  }

  private async makeToken(kind: TokenKind): Promise<string> {
    const a = await this.target.tokenOfA();
    const [header, payload, signature] = a.split('.') as [string, string, string];
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    switch (kind) {
      case 'A':
        return a;
      case 'expired':
        if (Date.now() > this.target.expiredAt) this.coverage.expiredHandshakes++;
        return this.target.expiredToken;
      case 'forged-signature':
        return `${header}.${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
      case 'forged-none':
        return `${b64({ alg: 'none', typ: 'at+jwt' })}.${payload}.`;
      case 'forged-payload': {
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
        return `${header}.${b64({ ...claims, sub: 'someone-else', tenant_id: 'beta', tid: 'beta', exp: Math.floor(Date.now() / 1000) + 3600 })}.${signature}`;
      }
      case 'other-user':
        return this.target.tokenOfD();
      case 'garbage':
        return 'a.b.c';
      case 'empty':
        return '';
    }
  }

  /**
   * The user a token kind authenticates as here, if any (the others must never get `handshake_ok`):
   * A is on the default tenant, D on `beta`; a path naming another tenant admits neither.
   */
  private userOf(kind: TokenKind, expiredYet: boolean): 'A' | 'D' | null {
    const user = kind === 'A' || (kind === 'expired' && !expiredYet) ? 'A' : kind === 'other-user' ? 'D' : null;
    const tenant = user === 'A' ? 'default' : 'beta';
    return user && (this.pathTenant === null || this.pathTenant === tenant) ? user : null;
  }

  /** Sends a handshake and (when `wait`) waits for its answer; checks that a bad token is never accepted. */
  async handshake(kind: TokenKind, wait: boolean): Promise<void> {
    if (!this.socket) return;
    const token = await this.token(kind);
    const id = this.nextId('h');
    this.count(this.coverage.handshakes, kind);
    this.sendText(JSON.stringify({ type: 'handshake', message_id: id, token, client: { name: 'fuzz' } }), `handshake (${kind})`);
    if (wait) await this.socket.until(() => this.pending.every((p) => p.answered), this.timeoutMs);
  }

  /** Sends a text frame and registers the answer it is owed. */
  private sendText(text: string, what: string, options: { binary?: boolean; raw?: Buffer; fragments?: string[] } = {}): void {
    if (!this.socket) return;
    this.coverage.frames++;
    this.sent.push(`${what}: ${cut(text, 200)}`);
    if (!options.binary) this.expect(text, what);
    if (options.fragments) this.socket.sendFragments(options.fragments);
    else if (options.raw) this.socket.send(options.raw, options.binary ?? false);
    else this.socket.send(text, options.binary ?? false);
  }

  /**
   * The answer a text frame is owed: any JSON object with a well-formed
   * `message_id` gets a frame echoing it, except a valid `flow_ack` (answered
   * by nothing when it succeeds) and a valid reply to a question this
   * connection was asked (the flow moving on is its answer). A `flow_cancel`
   * is answered by its flow's `flow_error` too (or the result, re-sent).
   */
  private expect(text: string, what: string): void {
    // A frame past the protocol's nesting or member bound is refused unparsed, echoing its top-level
    // message_id (and parsing it here would cost the fuzzer what it costs the engine not to).
    const shape = scanFrame(text);
    if (shape.depth > MAX_FRAME_DEPTH || shape.members > MAX_FRAME_MEMBERS) {
      if (shape.ids.message_id) this.pending.push({ id: shape.ids.message_id, what, answered: false });
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return;
    }
    if (!json || typeof json !== 'object' || Array.isArray(json)) return;
    const record = json as Record<string, unknown>;
    const id = record['message_id'];
    if (record['type'] === 'handshake') {
      // Whom this handshake may authenticate: only the tokens of A and D, and the start token until it expires.
      const kind = this.tokenKinds.get(typeof record['token'] === 'string' ? record['token'] : '') ?? 'garbage';
      this.handshakes.push({ id: typeof id === 'string' ? id : undefined, kind, user: this.userOf(kind, Date.now() > this.target.expiredAt), answered: false });
    }
    if (typeof id !== 'string' || !MESSAGE_ID.test(id)) return;
    const parsed = zClientMessage.safeParse(record);
    if (parsed.success) {
      const message = parsed.data;
      if (message.type === 'flow_ack') return;
      if (REPLIES.has(message.type) && this.questionsSeen.has(`${String(record['flow_id'])}/${id}`)) return;
      if (message.type === 'flow_cancel') return void this.pending.push({ id, cancelOf: message.flow_id, what, answered: false });
    }
    this.pending.push({ id, what, answered: false });
  }

  /** Fills the slots of a generated value with what exists now. */
  private async fill(value: unknown): Promise<unknown> {
    if (typeof value === 'string') {
      const match = SLOT_PATTERN.exec(value);
      return match ? this.slotValue(match[1]!) : value;
    }
    if (Array.isArray(value)) {
      if (value.length > 1000) return value;
      const out: unknown[] = [];
      for (const item of value) out.push(await this.fill(item));
      return out;
    }
    if (value && typeof value === 'object') {
      const entries = Object.entries(value);
      if (entries.length > 1000) return value;
      const out: Record<string, unknown> = {};
      for (const [key, item] of entries) Object.defineProperty(out, key, { value: await this.fill(item), enumerable: true, writable: true, configurable: true });
      return out;
    }
    return value;
  }

  private async slotValue(name: string): Promise<unknown> {
    const own = this.own;
    const question = own?.question;
    const unknownFlow = `fuzz${'0'.repeat(20)}${this.index}`;
    const closed = this.target.closedPorts[0];
    switch (name) {
      case 'flow:own':
        return own?.id ?? unknownFlow;
      case 'flow:unknown':
        return unknownFlow;
      case 'flow:other-waiting':
        return this.target.protectedFlows.B.waiting;
      case 'flow:other-failed':
        return this.target.protectedFlows.B.failed;
      case 'flow:tenant-waiting':
        return this.target.protectedFlows.C.waiting;
      case 'flow:tenant-failed':
        return this.target.protectedFlows.C.failed;
      case 'msg:question':
        return typeof question?.['message_id'] === 'string' ? question['message_id'] : 'q1';
      case 'offer:object':
        return (await this.target.offer('pre-auth')).offer;
      case 'offer:pre-auth':
      case 'offer:tx-code':
      case 'offer:by-reference':
      case 'offer:auth-code':
      case 'offer:selection':
        return (await this.target.offer(name.slice('offer:'.length) as 'pre-auth')).link;
      case 'request:verifier':
        return this.target.presentationRequest();
      case 'url:issuer':
        return this.target.issuer.url;
      case 'config:offered':
        return 'pid_sd_jwt';
      case 'notification:own':
        return own?.notificationIds[0] ?? 'n-unknown';
      case 'refresh:own':
        return own?.refreshToken ?? 'no-such-refresh-token';
      case 'state:own':
        return typeof question?.['state'] === 'string' ? question['state'] : 'no-such-state';
      case 'txcode:own':
        return own?.txCode ?? '000000';
      case 'code:own':
        return 'no-such-code';
      case 'item:own':
        return ((question?.['items'] as Array<{ id: string }> | undefined) ?? [])[0]?.id ?? '0';
      case 'jws:own':
        return `eyJhbGciOiJFUzI1NiJ9.e30.${'A'.repeat(86)}`;
      default:
        if (name.startsWith('token:')) return this.token(name.slice('token:'.length) as TokenKind);
        return `http://127.0.0.1:${closed}/unknown-slot`;
    }
  }

  /** Runs one step. */
  async step(step: Step, limits: { frame: number; handshake: number }): Promise<void> {
    if (!this.socket) return;
    switch (step.kind) {
      case 'message':
        return this.message(step);
      case 'raw':
        this.count(this.coverage.raw, step.frame);
        return this.raw(step.frame, limits);
      case 'burst': {
        this.coverage.bursts++;
        if (step.frame !== 'ping') {
          // Dear frames back to back: each must cost a pass over its text, not a parse, past the limits.
          this.count(this.coverage.raw, `burst of ${step.frame}`);
          for (let i = 0; i < step.count; i++) await this.raw(step.frame, limits);
          return;
        }
        for (let i = 0; i < step.count; i++) {
          const text = JSON.stringify(step.ids ? { type: 'ping', message_id: this.nextId('b') } : { type: 'ping' });
          if (i === 0 || i === step.count - 1) this.sendText(text, `burst ${i + 1}/${step.count}`);
          else {
            this.coverage.frames++;
            this.expect(text, `burst ${i + 1}/${step.count}`);
            this.socket.send(text);
          }
        }
        return;
      }
      case 'prepare':
        this.count(this.coverage.prepared, step.flow);
        return this.prepare(step.flow);
      case 'cooperate':
        return this.cooperate();
      case 'handshake':
        return this.handshake(step.token, false);
      case 'pause':
        await sleep(step.ms);
        return;
    }
  }

  private async message(step: Extract<Step, { kind: 'message' }>): Promise<void> {
    let value = await this.fill(step.value);
    const plain = value !== null && typeof value === 'object' && !Array.isArray(value);
    if (plain && step.addId && !('message_id' in (value as object))) value = { ...(value as object), message_id: this.nextId('m') };
    const type = plain && typeof (value as { type?: unknown }).type === 'string' ? String((value as { type: string }).type) : '(no type)';
    this.count(this.coverage.messages, step.of);
    let text: string;
    try {
      text = JSON.stringify(value) ?? 'null';
    } catch {
      text = '{"type":"ping","message_id":"unserializable"}';
    }
    const what = `${type} (${step.encoding})`;
    switch (step.encoding) {
      case 'json':
        return this.sendText(text, what);
      case 'pretty':
        return this.sendText(JSON.stringify(value, null, 2) ?? text, what);
      case 'dup-first':
      case 'dup-last': {
        if (!plain || text.length < 3) return this.sendText(text, what);
        const key = Object.keys(value as object)[0] ?? 'type';
        const inner = text.slice(1, -1);
        const extra = `${JSON.stringify(key)}:${JSON.stringify(await this.fill(step.duplicate)) ?? 'null'}`;
        return this.sendText(step.encoding === 'dup-first' ? `{${extra},${inner}}` : `{${inner},${extra}}`, what);
      }
      case 'fragmented':
        return this.sendText(text, what, { fragments: fragments(text, 3) });
      case 'binary':
        return this.sendText(text, what, { binary: true, raw: Buffer.from(text) });
      case 'invalid-utf8': {
        const at = Math.max(1, text.length >> 1);
        const raw = Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([0xc0, 0xaf, 0xff]), Buffer.from(text.slice(at))]);
        return this.sendText(text, what, { raw });
      }
    }
  }

  private async raw(frame: RawFrame, limits: { frame: number; handshake: number }): Promise<void> {
    const id = this.nextId('r');
    const own = this.own;
    const flowId = own?.id ?? `fuzz${'0'.repeat(20)}${this.index}`;
    const questionId = typeof own?.question?.['message_id'] === 'string' ? own.question['message_id'] : 'q1';
    const closed = this.target.closedPorts[0];
    const deep = (n: number, open: string, close: string, leaf = '') => `${open.repeat(n)}${leaf}${close.repeat(n)}`;
    /** A ping padded with a string so that the frame is exactly `bytes` long. */
    const padded = (bytes: number, head: string) => {
      const shell = `${head}"pad":""}`;
      return `${head}"pad":"${'x'.repeat(Math.max(0, bytes - Buffer.byteLength(shell)))}"}`;
    };
    const send = (text: string, options?: Parameters<EngineCase['sendText']>[2]) => this.sendText(text, `raw ${frame}`, options);
    switch (frame) {
      case 'junk':
        return send('{not json');
      case 'empty':
        return send('');
      case 'json-null':
        return send('null');
      case 'json-array':
        return send(`[{"type":"ping","message_id":"${id}"}]`);
      case 'json-string':
        return send('"ping"');
      case 'json-number':
        return send('1e999');
      case 'type-number':
        return send(`{"type":1,"message_id":"${id}"}`);
      case 'type-missing':
        return send(`{"message_id":"${id}"}`);
      case 'type-unknown':
        return send(`{"type":"fetch_url","message_id":"${id}","url":"http://127.0.0.1:${closed}/"}`);
      case 'type-case':
        return send(`{"type":"PING","message_id":"${id}"}`);
      case 'type-escaped':
        return send(`{"type":"p\\u0069ng","message_id":"${id}"}`);
      case 'type-nul':
        return send(`{"type":"ping\\u0000","message_id":"${id}"}`);
      case 'dup-type':
        return send(`{"type":"flow_ack","flow_id":"${flowId}","type":"ping","message_id":"${id}"}`);
      case 'proto':
        return send(`{"__proto__":{"type":"ping"},"message_id":"${id}"}`);
      case 'constructor':
        return send(`{"type":"ping","message_id":"${id}","constructor":{"prototype":{"polluted":true}}}`);
      case 'message-id-65':
        return send(`{"type":"ping","message_id":"${'a'.repeat(65)}"}`);
      case 'message-id-object':
        return send('{"type":"ping","message_id":{"$gt":""}}');
      case 'bom':
        return send(`\ufeff{"type":"ping","message_id":"${id}"}`);
      case 'deep-array': {
        // As deep as fits in the frame limit (about 500,000 levels in 1 MiB).
        const head = `{"type":"ping","message_id":"${id}","pad":`;
        return send(`${head}${deep(Math.floor((limits.frame - head.length - 1) / 2), '[', ']')}}`);
      }
      case 'deep-object':
        return send(`{"type":"flow_start","message_id":"${id}","protocol":"oid4vci","params":{"offer":${deep(20_000, '{"a":', '}', '1')}}}`);
      case 'deep-offer': {
        const offer = `{"credential_issuer":"http://127.1:${closed}","credential_configuration_ids":["pid_sd_jwt"],"grants":{},"x":${deep(50_000, '[', ']')}}`;
        return send(`{"type":"flow_start","message_id":"${id}","protocol":"oid4vci","params":{"offer":${offer}}}`);
      }
      case 'deep-submission':
        return send(
          `{"type":"presentation_response","flow_id":"${flowId}","message_id":"${questionId}","presentations":["a.b.c~"],"presentation_submission":{"id":"s","definition_id":"d","descriptor_map":${deep(20_000, '[', ']')}}}`,
        );
      case 'deep-in-handshake': {
        const n = Math.floor((limits.handshake - 80) / 2);
        return send(`{"type":"handshake","message_id":"${id}","token":"x","client":${deep(n, '[', ']')}}`);
      }
      case 'handshake-at-limit':
        return send(padded(limits.handshake, `{"type":"handshake","message_id":"${id}","token":"x",`));
      case 'handshake-past-limit':
        return send(padded(limits.handshake + 1, `{"type":"handshake","message_id":"${id}","token":"x",`));
      case 'frame-at-limit':
        return send(padded(limits.frame, `{"type":"ping","message_id":"${id}",`));
      case 'frame-past-limit':
        return send(padded(limits.frame + 1, `{"type":"ping","message_id":"${id}",`));
      case 'fragments-past-limit': {
        const text = padded(limits.frame + 1, `{"type":"ping","message_id":"${id}",`);
        return send(text, { fragments: fragments(text, 4) });
      }
      case 'wide-object': {
        const members: string[] = [];
        let size = 40;
        for (let i = 0; size < limits.frame - 64; i++) {
          const member = `"k${i}":${i}`;
          members.push(member);
          size += member.length + 1;
        }
        return send(`{"type":"ping","message_id":"${id}",${members.join(',')}}`);
      }
      case 'long-array': {
        const item = '{"id":"1","jws":"a.b.c"}';
        const count = Math.floor((limits.frame - 200) / (item.length + 1));
        return send(`{"type":"sign_response","flow_id":"${flowId}","message_id":"${questionId}","signatures":[${Array.from({ length: count }, () => item).join(',')}]}`);
      }
      case 'binary-json': {
        const text = `{"type":"ping","message_id":"${id}"}`;
        return send(text, { binary: true, raw: Buffer.from(text) });
      }
      case 'binary-random':
        return send('(256 bytes 0..255)', { binary: true, raw: Buffer.from(Array.from({ length: 256 }, (_, i) => i)) });
      case 'invalid-utf8': {
        const text = `{"type":"ping","message_id":"${id}","x":"?"}`;
        return send(text, { raw: Buffer.from(text.replace('?', '\u0000')).map((b) => (b === 0 ? 0xff : b)) as Buffer });
      }
    }
  }

  /** Waits for the flow to ask something or end. */
  private async settleFlow(flow: FlowState): Promise<void> {
    await this.socket?.until(() => !!flow.question || !!flow.result, this.timeoutMs);
  }

  /** Starts a flow against a peer (or a closed port) and waits for its first question, or further. */
  private async prepare(kind: Prepare): Promise<void> {
    if (!this.socket) return;
    if (!this.session) await this.socket.until(() => this.session !== null, 2000);
    const id = this.nextId('p');
    let params: Record<string, unknown>;
    let protocol = 'oid4vci';
    let txCode: string | undefined;
    const closed = this.target.closedPorts[0];
    switch (kind) {
      case 'presentation':
        protocol = 'oid4vp';
        params = { request: await this.target.presentationRequest() };
        break;
      case 'failed':
        params = { offer: `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(`http://127.1:${closed}/offer`)}` };
        break;
      case 'auth-code':
        params = { offer: (await this.target.offer('auth-code')).link, redirect_uri: `http://127.0.0.1:${closed}/cb` };
        break;
      case 'tx-code':
      case 'by-reference':
      case 'selection': {
        const offer = await this.target.offer(kind);
        txCode = offer.txCode;
        params = { offer: offer.link };
        break;
      }
      case 'consent':
      case 'signing':
      case 'complete':
        params = { offer: (await this.target.offer('pre-auth')).link };
        break;
    }
    this.sendText(JSON.stringify({ type: 'flow_start', message_id: id, protocol, params }), `prepare ${kind}`);
    const started = await this.socket.until(() => this.socket!.frames.some((f) => (f.json as { message_id?: string } | undefined)?.message_id === id), this.timeoutMs);
    if (!started) return;
    const frame = this.socket.frames.find((f) => (f.json as { message_id?: string } | undefined)?.message_id === id)!.json as Record<string, unknown>;
    if (frame['type'] !== 'flow_started') return;
    const flow = this.flows.get(String(frame['flow_id']));
    if (!flow) return;
    if (txCode) flow.txCode = txCode;
    this.own = flow;
    await this.settleFlow(flow);
    // Answer what comes before the question the kind is about (consent before signing, ...), or everything for `complete`.
    const wanted = PREPARED_QUESTION[kind];
    for (let i = 0; i < 6 && !flow.result && flow.question && flow.question['type'] !== wanted; i++) await this.cooperate();
  }

  /** Answers the pending question of the case's flow as a good client would, then waits for what follows. */
  private async cooperate(): Promise<void> {
    const flow = this.own;
    const question = flow?.question;
    if (!this.socket || !flow || !question) return;
    const ids = { flow_id: flow.id, message_id: String(question['message_id']) };
    let reply: Record<string, unknown>;
    switch (question['type']) {
      case 'consent_request':
        reply = { type: 'consent_response', ...ids, accept: true };
        break;
      case 'selection_request':
        reply = { type: 'selection_response', ...ids, credential_configuration_id: (question['options'] as Array<{ credential_configuration_id: string }>)[0]?.credential_configuration_id };
        break;
      case 'tx_code_request':
        reply = { type: 'tx_code_response', ...ids, tx_code: flow.txCode ?? '000000' };
        break;
      case 'sign_request': {
        const signatures: Array<{ id: string; jws: string }> = [];
        for (const item of question['items'] as Parameters<Keyring['sign']>[0][]) signatures.push({ id: item.id, jws: await this.keyring.sign(item, { flowId: flow.id }) });
        reply = { type: 'sign_response', ...ids, signatures };
        break;
      }
      case 'authorization_request': {
        // The issuer peer's authorization endpoint, on 127.0.0.1 (anything else is not followed).
        const url = String(question['url']);
        if (new URL(url).hostname !== '127.0.0.1') return;
        const answer = await request(url, { method: 'GET' });
        await answer.body.dump();
        const location = answer.headers['location'];
        if (typeof location !== 'string') return;
        const result = parseRedirect(location);
        reply = { type: 'authorization_response', ...ids, ...result };
        break;
      }
      default:
        reply = { type: 'presentation_response', ...ids, error: { code: 'declined' } };
    }
    delete flow.question;
    this.sendText(JSON.stringify(reply), `cooperate ${String(question['type'])}`);
    await this.settleFlow(flow);
  }

  /** Waits for every owed answer (or a close), then a moment for late frames. */
  async finish(): Promise<void> {
    if (!this.socket) return;
    await this.socket.until(() => this.pending.every((p) => p.answered), this.timeoutMs);
    if (!this.socket.closed) await sleep(30);
    const closed = this.socket.closed;
    const documentedClose = closed !== null && !this.socket.closedByUs && DOCUMENTED_CLOSES.has(closed.code);
    if (closed && !this.socket.closedByUs) {
      this.count(this.coverage.received, `close:${closed.code}`);
      if (!DOCUMENTED_CLOSES.has(closed.code)) this.violate('undocumented-close', `closed with ${closed.code} "${closed.reason}", which CLOSE_CODES does not document, after ${this.describeSent()}`);
    }
    const unanswered = this.pending.filter((p) => !p.answered);
    if (unanswered.length && !documentedClose) {
      this.violate(
        'no-answer',
        `no answer within ${this.timeoutMs} ms to ${unanswered.length} request(s) with a message_id: ${unanswered
          .slice(0, 3)
          .map((p) => `${p.id} (${p.what})`)
          .join(', ')}${closed ? `; the connection closed with ${closed.code}` : ''}; frames received: ${this.socket.frames
          .slice(-4)
          .map((f) => cut(f.text, 160))
          .join(' | ')}`,
      );
    }
    await this.socket.close();
  }

  /** The case as text, for findings. */
  describe(): string {
    return this.sent.map((s) => cut(s, 240)).join('\n      ');
  }
}

/** The question each prepared flow stops at (the fuzzer answers the ones before it). */
const PREPARED_QUESTION: Record<Prepare, string> = {
  consent: 'consent_request',
  'by-reference': 'consent_request',
  'tx-code': 'tx_code_request',
  'auth-code': 'authorization_request',
  selection: 'selection_request',
  signing: 'sign_request',
  presentation: 'presentation_request',
  failed: 'none',
  complete: 'none',
};

/** Splits a text into `n` parts without cutting a surrogate pair. */
function fragments(text: string, n: number): string[] {
  const parts: string[] = [];
  let from = 0;
  for (let i = 1; i < n; i++) {
    let at = Math.floor((text.length * i) / n);
    if (at > 0 && /[\ud800-\udbff]/.test(text[at - 1] ?? '')) at++;
    if (at <= from || at >= text.length) continue;
    parts.push(text.slice(from, at));
    from = at;
  }
  parts.push(text.slice(from));
  return parts;
}

/**
 * Fuzzes the engine's WebSocket API on a started target: every group (each
 * client message type, hostile frames, connections) with its own seed, one
 * fresh connection per case. Never throws for a finding; returns it.
 */
export async function fuzzEngine(target: EngineFuzzTarget, watcher: HealthWatcher, options: EngineFuzzOptions): Promise<ServiceReport & { coverage: EngineCoverage }> {
  const log = options.log ?? (() => undefined);
  const timeoutMs = options.answerTimeoutMs ?? 8000;
  const shapes = clientMessageShapes();
  const groups = engineGroups(shapes).filter((g) => !options.route || g === options.route);
  if (options.route && groups.length === 0 && options.route !== SWEEP) {
    throw new Error(`--route: no engine group "${options.route}" (one of ${[...engineGroups(shapes), SWEEP].join(', ')})`);
  }
  const pools = enginePools(target.closedPorts);
  const limits = { frame: ENGINE_DEFAULTS.maxFrameBytes, handshake: ENGINE_DEFAULTS.maxHandshakeFrameBytes };
  const coverage: EngineCoverage = { cases: 0, frames: 0, messages: {}, raw: {}, handshakes: {}, expiredHandshakes: 0, prepared: {}, questions: {}, bursts: 0, answered: 0, received: {} };
  const report: ServiceReport & { coverage: EngineCoverage } = {
    service: 'engine',
    source: 'zClientMessage (AsyncAPI document generated from it)',
    routes: groups.length + (!options.route || options.route === SWEEP ? 1 : 0),
    requests: 0,
    worstHealth: { ms: 0, port: '', request: '' },
    unconfirmedSpikes: [],
    worstLoopLagMs: 0,
    slowestAnswer: { ms: 0, request: '' },
    statuses: coverage.received,
    undocumented: {},
    findings: [],
    coverage,
  };
  let caseIndex = 0;

  /** Runs a plan on a fresh connection; the case and how long it held the process's health answers. */
  const runCase = async (plan: CasePlan): Promise<{ run: EngineCase; healthMs: number; ms: number; port: string }> => {
    const run = new EngineCase(target, coverage, caseIndex++, timeoutMs);
    const from = watcher.now();
    try {
      if (await run.connect(plan.connect)) {
        if (plan.connect.handshake !== 'none') await run.handshake(plan.connect.handshake, plan.connect.awaitHandshake);
        for (const step of plan.steps) await run.step(step, limits);
        await run.finish();
      }
    } finally {
      await run.socket?.close();
    }
    const to = watcher.now();
    const ports = await watcher.window(from, to, options.budgetMs * 4 + 5000);
    const worst = ports.reduce((w, p) => (p.worstMs > w.worstMs || p.failed ? p : w), { port: '', worstMs: 0, failed: false });
    if (worst.failed && !target.alive()) throw new FindingError('crash', `the process exited during:\n      ${run.describe()}`);
    return { run, healthMs: worst.worstMs, ms: to - from, port: worst.port };
  };

  const check = async (plan: CasePlan) => {
    const { run, healthMs, ms, port } = await runCase(plan);
    report.requests++;
    coverage.cases++;
    const description = run.describe();
    if (options.trace) log(`case ${coverage.cases} (${ms.toFixed(0)} ms, health ${healthMs.toFixed(0)} ms):\n      ${description}`);
    if (!target.alive()) throw new FindingError('crash', `the process exited (${target.base.proc.child.exitCode ?? target.base.proc.child.signalCode}) during:\n      ${description}`);
    if (ms > report.slowestAnswer.ms) report.slowestAnswer = { ms, request: description };
    if (healthMs > report.worstHealth.ms) report.worstHealth = { ms: healthMs, port, request: description };
    if (healthMs > options.budgetMs) {
      const replays: number[] = [];
      for (let i = 0; i < 2; i++) replays.push((await runCase(plan)).healthMs);
      if (replays.every((r) => r > options.budgetMs)) {
        throw new FindingError('stall', `/health/live took ${healthMs.toFixed(0)} ms (replayed alone: ${replays.map((r) => r.toFixed(0)).join(', ')} ms; budget ${options.budgetMs} ms) during:\n      ${description}`);
      }
      report.unconfirmedSpikes.push({ ms: healthMs, request: description });
    }
    const first = run.violations[0];
    if (first) {
      await sleep(100); // the engine's log lines are flushed every 50 ms
      const errors = first.kind === 'internal-error' ? target.base.proc.output.filter((line) => /"level":(50|60)/.test(line)).slice(-2) : [];
      throw new FindingError(first.kind, `${first.detail}\n    case:\n      ${description}${errors.length ? `\n    log: ${errors.join('\n    log: ').slice(0, 1500)}` : ''}`);
    }
  };

  let before: ProtectedFlowLists = await target.protectedFlowLists();
  for (const group of groups) {
    const started = Date.now();
    const countBefore = report.requests;
    const result = await fc.check(
      fc.asyncProperty(casePlans(group, shapes, pools), async (plan) => {
        await check(plan);
      }),
      { seed: routeSeed(options.seed, `engine ${group}`), numRuns: options.runs, endOnFailure: !options.shrink, ...(options.path ? { path: options.path } : {}) },
    );
    if (result.failed) {
      const error = result.errorInstance;
      const kind: FindingKind = error instanceof FindingError ? error.kind : 'fuzzer-error';
      const replay = `${options.replayPrefix ?? 'npm run fuzz --'} --service engine --seed ${options.seed} --route "${group}" --path "${result.counterexamplePath ?? ''}" --runs ${options.runs}`;
      const detail = error instanceof FindingError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
      report.findings.push({ service: 'engine', route: group, kind, detail, replay });
      log(`FAIL engine ${group}: ${kind}: ${detail.slice(0, 1500)}\n  replay: ${replay}`);
      if (kind === 'crash') break;
    }
    // A's (and D's) flows from this group are cancelled or acknowledged, so the next group starts clean.
    await cleanUp(target, timeoutMs);
    const after = await target.protectedFlowLists();
    if (!isDeepStrictEqual(before, after)) {
      report.findings.push({
        service: 'engine',
        route: group,
        kind: 'protected-data-changed',
        detail: `another user's flows changed: ${JSON.stringify(before).slice(0, 600)} -> ${JSON.stringify(after).slice(0, 600)}`,
        replay: `${options.replayPrefix ?? 'npm run fuzz --'} --service engine --seed ${options.seed} --route "${group}" --runs ${options.runs}`,
      });
      before = after;
    }
    target.base.proc.output.splice(0, Math.max(0, target.base.proc.output.length - 200));
    log(`engine ${group}: ${report.requests - countBefore} cases, ${Date.now() - started} ms`);
  }

  if (target.alive() && (!options.route || options.route === SWEEP)) {
    const started = Date.now();
    // The start token must have expired for the sweep's expired-token handshakes.
    const wait = target.expiredAt - Date.now();
    if (wait > 0) {
      log(`engine sweep: waiting ${(wait / 1000).toFixed(0)} s for the start token to expire`);
      await sleep(wait);
    }
    const plans = sweepPlans();
    for (const [index, { name, plan }] of plans.entries()) {
      if (options.path && options.route === SWEEP && String(index) !== options.path) continue;
      try {
        await check(plan);
      } catch (error) {
        const kind: FindingKind = error instanceof FindingError ? error.kind : 'fuzzer-error';
        const detail = `${name}: ${error instanceof FindingError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
        const replay = `${options.replayPrefix ?? 'npm run fuzz --'} --service engine --seed ${options.seed} --route ${SWEEP} --path ${index}`;
        report.findings.push({ service: 'engine', route: SWEEP, kind, detail, replay });
        log(`FAIL engine sweep: ${kind}: ${detail.slice(0, 1500)}\n  replay: ${replay}`);
        if (kind === 'crash' || !target.alive()) break;
      }
    }
    if (target.alive()) {
      await cleanUp(target, timeoutMs);
      const after = await target.protectedFlowLists();
      if (!isDeepStrictEqual(before, after)) {
        report.findings.push({
          service: 'engine',
          route: SWEEP,
          kind: 'protected-data-changed',
          detail: `another user's flows changed: ${JSON.stringify(before).slice(0, 600)} -> ${JSON.stringify(after).slice(0, 600)}`,
          replay: `${options.replayPrefix ?? 'npm run fuzz --'} --service engine --seed ${options.seed} --route ${SWEEP}`,
        });
      }
    }
    log(`engine sweep: ${plans.length} cases, ${Date.now() - started} ms`);
  }
  return report;
}

/** The group of fixed cases that runs after the generated ones (engine-frames.ts, sweepPlans). */
export const SWEEP = 'sweep';

/** Cancels A's and D's unfinished flows and acknowledges their finished ones. */
async function cleanUp(target: EngineFuzzTarget, timeoutMs: number): Promise<void> {
  for (const token of [await target.tokenOfA(), await target.tokenOfD()]) {
    const socket = await FuzzSocket.open(target.url('/api/v2/wallet'), {}, timeoutMs);
    if (!(socket instanceof FuzzSocket)) throw new Error(`cleaning up: the upgrade was refused (${socket.status})`);
    try {
      socket.send(JSON.stringify({ type: 'handshake', token, message_id: 'clean' }));
      await socket.until(() => socket.frames.length > 0, timeoutMs);
      const ok = socket.frames[0]?.json as { type?: string; flows?: Array<{ flow_id: string; status: string }> } | undefined;
      if (ok?.type !== 'handshake_ok') throw new Error(`cleaning up: the handshake failed: ${socket.frames[0]?.text.slice(0, 300)}`);
      let n = 0;
      for (const flow of ok.flows ?? []) {
        const finished = flow.status === 'complete' || flow.status === 'failed';
        socket.send(JSON.stringify({ type: finished ? 'flow_ack' : 'flow_cancel', flow_id: flow.flow_id, message_id: `c${n++}` }));
        // Within the message rate (20 a second, burst 40).
        await sleep(n % 30 === 0 ? 1500 : 5);
      }
      socket.send(JSON.stringify({ type: 'ping', message_id: 'done' }));
      await socket.until(() => socket.frames.some((f) => (f.json as { message_id?: string } | undefined)?.message_id === 'done'), timeoutMs);
    } finally {
      await socket.close();
    }
  }
}

