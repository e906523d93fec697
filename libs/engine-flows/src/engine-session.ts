import {
  ENGINE_PROTOCOL_VERSION,
  type Capabilities,
  type ClientMessage,
  type ConnectionLimits,
  type ServerMessage,
} from '@wallet/engine-protocol';
import { isWalletError } from '@wallet/domain';
import type { EngineFlows, Principal } from './engine-flows';
import { describeError, EngineRequestError } from './errors';
import type { FlowLog } from './flow-runner';

/** One client connection as the hub sees it: who, what it follows, how to reach it. */
export interface EngineConnection {
  readonly principal: Principal;
  /** Flows this connection started or resumed: their frames are delivered here. */
  readonly attached: Set<string>;
  send(frame: ServerMessage): void;
}

/**
 * The connections of this process by user. Flow frames go to every
 * connection of the flow's user that follows the flow (two tabs may follow
 * one flow); frames for users connected elsewhere are another replica's.
 */
export class EngineHub {
  private readonly byUser = new Map<string, Set<EngineConnection>>();

  constructor(private readonly hooks: { firstOfUser?(key: string, principal: Principal): void; lastOfUser?(key: string): void } = {}) {}

  static userKey(principal: Principal): string {
    return `${principal.tenantId}:${principal.userId}`;
  }

  add(connection: EngineConnection): void {
    const key = EngineHub.userKey(connection.principal);
    let set = this.byUser.get(key);
    if (!set) {
      set = new Set();
      this.byUser.set(key, set);
      this.hooks.firstOfUser?.(key, connection.principal);
    }
    set.add(connection);
  }

  remove(connection: EngineConnection): void {
    const key = EngineHub.userKey(connection.principal);
    const set = this.byUser.get(key);
    if (!set?.delete(connection)) return;
    if (set.size === 0) {
      this.byUser.delete(key);
      this.hooks.lastOfUser?.(key);
    }
  }

  /** Sends a flow's frame to this process's connections that follow it; how many got it. */
  deliver(principal: Principal, flowId: string, frame: ServerMessage): number {
    let delivered = 0;
    for (const connection of this.byUser.get(EngineHub.userKey(principal)) ?? []) {
      if (!connection.attached.has(flowId)) continue;
      connection.send(frame);
      delivered++;
    }
    return delivered;
  }

  connectionsOf(principal: Principal): number {
    return this.byUser.get(EngineHub.userKey(principal))?.size ?? 0;
  }

  get users(): number {
    return this.byUser.size;
  }
}

/** What this engine supports, for `handshake_ok` (built once: it is the same for every connection). */
export function engineCapabilities(): Capabilities {
  return CAPABILITIES;
}

const CAPABILITIES: Capabilities = {
    protocols: ['oid4vci', 'oid4vp'],
    oid4vp: {
      versions: ['1.0'],
      client_id_prefixes: ['x509_san_dns', 'x509_hash', 'decentralized_identifier', 'redirect_uri', 'verifier_attestation', 'pre-registered'],
      request_uri_methods: ['get', 'post'],
      response_modes: ['direct_post', 'direct_post.jwt'],
      query_languages: ['dcql', 'presentation_exchange'],
      formats: ['dc+sd-jwt', 'vc+sd-jwt', 'jwt_vc_json'],
    },
    oid4vci: {
      versions: ['1.0', 'draft-15', 'draft-14'],
      grants: ['urn:ietf:params:oauth:grant-type:pre-authorized_code', 'authorization_code', 'refresh_token'],
      features: [
        'credential_offer_uri',
        'tx_code',
        'pkce',
        'par',
        'dpop',
        'dpop_nonce',
        'nonce_endpoint',
        'batch_issuance',
        'deferred_issuance',
        'notifications',
        'credential_response_encryption',
        'signed_metadata',
        'type_metadata',
      ],
      formats: ['dc+sd-jwt', 'vc+sd-jwt', 'jwt_vc_json', 'mso_mdoc'],
      proof_types: ['jwt'],
    },
    resume: true,
};

/** The `handshake_ok` frame for a principal. */
export async function handshakeOk(
  flows: EngineFlows,
  principal: Principal,
  session: { expiresAt: number; limits: ConnectionLimits; messageId?: string },
): Promise<ServerMessage> {
  return {
    type: 'handshake_ok',
    ...(session.messageId ? { message_id: session.messageId } : {}),
    protocol_version: ENGINE_PROTOCOL_VERSION,
    session: { tenant_id: principal.tenantId, user_id: principal.userId, expires_at: new Date(session.expiresAt).toISOString() },
    capabilities: engineCapabilities(),
    limits: session.limits,
    flows: await flows.list(principal),
  };
}

/** The requests `EngineSessionHooks.beforeRequest` sees. */
export type FlowRequest = Exclude<ClientMessage, { type: 'handshake' | 'ping' | 'flow_start' | 'flow_cancel' | 'flow_ack' }>;

const UNCHECKED: ReadonlySet<ClientMessage['type']> = new Set(['ping', 'flow_start', 'flow_cancel', 'flow_ack']);

function isFlowRequest(message: Exclude<ClientMessage, { type: 'handshake' }>): message is FlowRequest {
  return !UNCHECKED.has(message.type);
}

export interface EngineSessionHooks {
  /** Before a flow starts: rate limits and the tenant's allowed protocols; throw `EngineRequestError` to refuse. */
  beforeFlowStart?(principal: Principal, protocol: string): Promise<void>;
  /**
   * Before a request that drives a flow on: `flow_resume`, `notification`
   * and the answers to questions (which make the engine talk to the issuer
   * or verifier again); throw `EngineRequestError` to refuse. Not called for
   * `ping`, `flow_start` (see `beforeFlowStart`), `flow_cancel` and
   * `flow_ack`: a user can always stop a flow and let its result go.
   */
  beforeRequest?(principal: Principal, message: FlowRequest): Promise<void>;
  log?: FlowLog;
}

/**
 * Handles one connection's messages after the handshake, for any transport:
 * each request gets its answer or a typed `error` echoing its `message_id`;
 * nothing is dropped silently.
 */
export class EngineSession {
  constructor(
    private readonly flows: EngineFlows,
    private readonly connection: EngineConnection,
    private readonly hooks: EngineSessionHooks = {},
  ) {}

  async handle(message: Exclude<ClientMessage, { type: 'handshake' }>): Promise<void> {
    const principal = this.connection.principal;
    try {
      if (this.hooks.beforeRequest && isFlowRequest(message)) await this.hooks.beforeRequest(principal, message);
      switch (message.type) {
        case 'ping':
          this.connection.send({ type: 'pong', ...(message.message_id ? { message_id: message.message_id } : {}) });
          return;
        case 'flow_start': {
          if ((message.protocol === 'oid4vp') !== 'request' in message.params) {
            throw new EngineRequestError('invalid_message', 'oid4vp flows take { request }, oid4vci flows an offer or a reissue', '/params');
          }
          await this.hooks.beforeFlowStart?.(principal, message.protocol);
          const flowId = await this.flows.start(principal, message);
          this.connection.attached.add(flowId);
          this.connection.send({ type: 'flow_started', message_id: message.message_id, flow_id: flowId, protocol: message.protocol });
          this.flows.run(flowId);
          return;
        }
        case 'flow_resume': {
          const { frames, drive } = await this.flows.resume(principal, message.flow_id, message.message_id);
          this.connection.attached.add(message.flow_id);
          for (const frame of frames) this.connection.send(frame);
          if (drive) this.flows.run(message.flow_id);
          return;
        }
        case 'flow_cancel': {
          this.connection.attached.add(message.flow_id);
          // Null: the flow's `flow_error` went out to its followers (this connection among them).
          const answer = await this.flows.cancel(principal, message.flow_id, message.message_id);
          for (const frame of answer ?? []) this.connection.send(frame);
          return;
        }
        case 'flow_ack':
          await this.flows.ack(principal, message.flow_id);
          this.connection.attached.delete(message.flow_id);
          return;
        case 'notification':
          this.connection.attached.add(message.flow_id);
          await this.flows.notify(principal, message);
          return;
        case 'sign_response':
        case 'selection_response':
        case 'consent_response':
        case 'tx_code_response':
        case 'authorization_response':
        case 'presentation_response':
          this.connection.attached.add(message.flow_id);
          await this.flows.answer(principal, message);
          return;
        default:
          // Not reached for a parsed message (switch-exhaustiveness-check keeps the cases complete).
          throw new EngineRequestError('unsupported_message', `message type "${(message as { type: string }).type}" is not supported here`, '/type');
      }
    } catch (error) {
      this.refuse(message, error);
    }
  }

  /** Answers a failed request with a typed `error` that echoes its ids. */
  refuse(message: { message_id?: string | undefined; flow_id?: string | undefined }, error: unknown): void {
    let code: EngineRequestError['code'];
    let text: string;
    let path: string | undefined;
    if (error instanceof EngineRequestError) {
      ({ code, message: text, path } = error);
    } else if (isWalletError(error) && error.code === 'unavailable') {
      code = 'unavailable';
      text = 'the engine cannot reach its shared cache; try again';
    } else {
      code = 'internal';
      text = 'the engine failed; see its log';
      this.hooks.log?.('error', 'engine request failed', { error: describeError(error) });
    }
    this.connection.send({
      type: 'error',
      code,
      message: text,
      ...(message.message_id ? { message_id: message.message_id } : {}),
      ...(message.flow_id ? { flow_id: message.flow_id } : {}),
      ...(path ? { path } : {}),
    });
  }
}
