import type { AddressInfo } from 'node:net';
import {
  parseClientFrame,
  zServerMessage,
  type ClientMessage,
  type ClientMessageOf,
  type ClientMessageType,
  type FlowSummary,
  type IssuerSummary,
  type ServerMessage,
  type ServerMessageOf,
  type VerifierSummary,
} from '@wallet/engine-protocol';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A scriptable stand-in for the engine's `/api/v2/wallet` endpoint, for the
 * client's unit tests only: it answers the handshake by itself and records
 * every frame; the test plays the engine's part of each flow. Every frame it
 * sends is checked against the protocol, so the fake cannot drift from it.
 */

/** How the fake answers a handshake token. */
export type HandshakeDecision = 'ok' | 'unauthenticated' | 'forbidden_origin';

export class FakeEngine {
  readonly connections: FakeConnection[] = [];
  /** Tokens of every handshake, in order. */
  readonly tokens: string[] = [];
  /** Sockets opened, including those whose handshake was refused. */
  opened = 0;
  authorize: (token: string) => HandshakeDecision = () => 'ok';
  flows: FlowSummary[] = [];
  /** Whether to answer `ping` (false simulates a dead connection). */
  answerPings = true;
  private taken = 0;
  private readonly arrivals: (() => void)[] = [];

  private constructor(
    private readonly server: WebSocketServer,
    readonly url: string,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  static async start(): Promise<FakeEngine> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const { port } = server.address() as AddressInfo;
    return new FakeEngine(server, `ws://127.0.0.1:${port}/api/v2/wallet`);
  }

  /** The next connection whose handshake succeeded (each is handed out once). */
  async nextConnection(timeoutMs = 3_000): Promise<FakeConnection> {
    const deadline = Date.now() + timeoutMs;
    while (this.connections.length <= this.taken) {
      if (Date.now() > deadline) throw new Error('no new connection');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.arrivals.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const connection = this.connections[this.taken++];
    if (!connection) throw new Error('no new connection');
    return connection;
  }

  async stop(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: WebSocket): void {
    this.opened++;
    socket.once('message', (data, isBinary) => {
      const parsed = isBinary ? undefined : parseClientFrame(data.toString());
      if (!parsed?.ok || parsed.message.type !== 'handshake') {
        socket.close(4408, 'handshake required');
        return;
      }
      const handshake = parsed.message;
      this.tokens.push(handshake.token);
      const decision = this.authorize(handshake.token);
      if (decision !== 'ok') {
        const error: ServerMessage = { type: 'error', code: decision, message: `handshake refused: ${decision}` };
        if (handshake.message_id) error.message_id = handshake.message_id;
        socket.send(JSON.stringify(zServerMessage.parse(error)));
        socket.close(decision === 'unauthenticated' ? 4401 : 4403, decision);
        return;
      }
      const connection = new FakeConnection(this, socket, handshake);
      connection.send({
        type: 'handshake_ok',
        ...(handshake.message_id ? { message_id: handshake.message_id } : {}),
        protocol_version: '2.0',
        session: { tenant_id: 't1', user_id: 'u1', expires_at: new Date(Date.now() + 3_600_000).toISOString() },
        capabilities: {
          protocols: ['oid4vci', 'oid4vp'],
          oid4vp: {
            versions: ['1.0'],
            client_id_prefixes: ['x509_san_dns', 'redirect_uri'],
            request_uri_methods: ['get', 'post'],
            response_modes: ['direct_post', 'direct_post.jwt'],
            query_languages: ['dcql', 'presentation_exchange'],
            formats: ['dc+sd-jwt', 'jwt_vc_json'],
          },
          oid4vci: { versions: ['1.0'], grants: ['authorization_code'], features: [], formats: ['dc+sd-jwt'], proof_types: ['jwt'] },
          resume: true,
        },
        limits: { max_frame_bytes: 1_048_576, messages_per_second: 50, flow_starts_per_minute: 10, max_concurrent_flows: 5 },
        flows: this.flows,
      });
      this.connections.push(connection);
      for (const arrival of this.arrivals.splice(0)) arrival();
    });
  }
}

export class FakeConnection {
  /** Every frame after the handshake, valid ones parsed. */
  readonly frames: ClientMessage[] = [];
  /** Frames the protocol refuses (the client must never send one). */
  readonly refused: string[] = [];
  private readonly unread: ClientMessage[] = [];
  private readonly readers: (() => void)[] = [];
  readonly closed: Promise<number>;

  constructor(
    private readonly engine: FakeEngine,
    private readonly socket: WebSocket,
    readonly handshake: ClientMessageOf<'handshake'>,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', (code) => resolve(code)));
    socket.on('message', (data, isBinary) => {
      const parsed = isBinary ? undefined : parseClientFrame(data.toString());
      if (!parsed?.ok) {
        this.refused.push(data.toString());
        return;
      }
      const message = parsed.message;
      if (message.type === 'ping') {
        if (this.engine.answerPings) this.send({ type: 'pong', ...(message.message_id ? { message_id: message.message_id } : {}) });
        return;
      }
      this.frames.push(message);
      this.unread.push(message);
      for (const reader of this.readers.splice(0)) reader();
    });
  }

  /** The next unread frame of this type (earlier frames of other types stay unread). */
  async next<T extends ClientMessageType>(type: T, timeoutMs = 3_000): Promise<ClientMessageOf<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.unread.findIndex((frame) => frame.type === type);
      if (index >= 0) return this.unread.splice(index, 1)[0] as ClientMessageOf<T>;
      if (Date.now() > deadline) throw new Error(`no ${type} frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.readers.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Unread frames of a type, without waiting. */
  pending(type: ClientMessageType): ClientMessage[] {
    return this.unread.filter((frame) => frame.type === type);
  }

  send(message: ServerMessage): void {
    this.socket.send(JSON.stringify(zServerMessage.parse(message)));
  }

  sendRaw(data: string | Buffer): void {
    this.socket.send(data);
  }

  close(code: number, reason = ''): void {
    this.socket.close(code, reason);
  }

  /** Drops the TCP connection without a close frame (the client sees 1006). */
  terminate(): void {
    this.socket.terminate();
  }
}

export const ISSUER: IssuerSummary = {
  credential_issuer: 'https://issuer.example',
  display: [{ name: 'Example Issuer', locale: 'en' }],
  trust: { trusted: true, reason: 'on the static list', source: 'static' },
  signed_metadata: false,
};

/** Flow ids as the engine makes them (22+ URL-safe characters). */
export const flowId = (n: number): string => `flow${String(n).padStart(2, '0')}AAAAAAAAAAAAAAAAAAAAAA`;

type QuestionType = 'sign_request' | 'selection_request' | 'consent_request' | 'tx_code_request' | 'authorization_request' | 'presentation_request';

/** A question of the engine, with `expires_at` filled in. */
export function question<T extends QuestionType>(
  type: T,
  flow: string,
  messageId: string,
  rest: Omit<ServerMessageOf<T>, 'type' | 'flow_id' | 'message_id' | 'expires_at'>,
): ServerMessage {
  // Checked at runtime when sent (FakeConnection.send parses it): the generic spread defeats the static check.
  return { type, flow_id: flow, message_id: messageId, expires_at: new Date(Date.now() + 300_000).toISOString(), ...rest } as unknown as ServerMessage;
}

export function flowStarted(start: ClientMessageOf<'flow_start'>, flow: string): ServerMessage {
  return { type: 'flow_started', message_id: start.message_id, flow_id: flow, protocol: start.protocol };
}

export const VERIFIER: VerifierSummary = {
  client_id: 'x509_san_dns:verifier.example',
  client_id_prefix: 'x509_san_dns',
  name: 'Example Verifier',
  response_origin: 'https://verifier.example',
  request_signed: true,
  trust: { trusted: true, reason: 'on the static list', source: 'static' },
};

/** The end of a presentation flow: the verifier accepted the response. */
export function presentationComplete(flow: string, redirectUri?: string): ServerMessageOf<'flow_complete'> {
  return { type: 'flow_complete', flow_id: flow, protocol: 'oid4vp', verifier: VERIFIER, ...(redirectUri ? { redirect_uri: redirectUri } : {}) };
}

export function flowComplete(flow: string): ServerMessageOf<'flow_complete'> {
  return {
    type: 'flow_complete',
    flow_id: flow,
    protocol: 'oid4vci',
    issuer: ISSUER,
    credentials: [
      {
        credential_configuration_id: 'pid',
        format: 'dc+sd-jwt',
        credential: 'eyJhbGciOiJFUzI1NiJ9.eyJ2Y3QiOiJwaWQifQ.c2ln~',
        vct: 'urn:eu.europa.ec.eudi:pid:1',
        notification_id: 'n-1',
        display: [],
        type_metadata: null,
        checks: { verified: true, issuer_key: 'x5c', holder_binding: true, status: 'valid' },
      },
    ],
  };
}
