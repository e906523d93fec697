import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { WalletConfig } from '@wallet/config';
import { RefusalError, TENANT_ID_SOURCE, isWalletError } from '@wallet/domain';
import { describeError, EngineRequestError, EngineSession, handshakeOk, type EngineConnection, type EngineCore, type Principal } from '@wallet/engine-flows';
import { CLOSE_CODES, frameIds, parseClientFrame, type ClientMessageOf, type EngineErrorCode, type ServerMessage } from '@wallet/engine-protocol';
import { AccessTokenVerifier, HttpMetrics, RateLimiter, TenantDirectory, WALLET_CONFIG, WebSocketEndpoint } from '@wallet/platform';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Counter, Gauge } from 'prom-client';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { ClusterBridge } from './cluster-bridge';
import { ENGINE_CORE } from './engine.tokens';

const PATH = new RegExp(`^/(?:t/(${TENANT_ID_SOURCE})/)?api/v2/wallet/?$`);
/** Connections pinged per event-loop turn. */
const PING_BATCH = 250;
/** A connection whose unsent frames pile up past this is too slow to keep. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** Said for a disabled tenant too: the engine answers both alike, as the HTTP guard's 404 does. */
const TENANT_GONE = 'the tenant of the access token does not exist';

/** A text frame's text: `ws` hands over one Buffer (read in place, not copied) or the fragments of one. */
function frameText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');
}

/** What the gateway keeps per socket: small, and no timer of its own (one sweep serves all). */
interface Connection {
  socket: WebSocket;
  origin: string | null;
  pathTenant: string | null;
  openedAt: number;
  /** Token bucket of the message rate limit. */
  tokens: number;
  refilledAt: number;
  violations: number;
  alive: boolean;
  /** Set by the handshake. */
  engine: EngineConnection | null;
  session: EngineSession | null;
  expiresAt: number;
  /** The handshake's token: checked again (revocation) when the user starts a flow. */
  token: string | null;
  /** Messages are handled one at a time, in order. */
  queue: Promise<void>;
}

/**
 * The wallet's WebSocket API v2 at `/api/v2/wallet` (and
 * `/t/{tenant}/api/v2/wallet`). The transport: upgrade checks (path, no
 * token in the URL, connection limits), the handshake (access token in the
 * first frame, verified like the HTTP guard does; tenant from the token;
 * `Origin` checked against the tenant's origins; a deadline), frame and
 * message-rate limits, keep-alive pings, and "going away" on shutdown. What
 * the messages mean is `EngineSession`'s.
 */
@Injectable()
@WebSocketEndpoint('/api/v2/wallet')
export class WalletGateway implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('engine');
  private readonly connections = new Set<Connection>();
  private wss: WebSocketServer | null = null;
  private server: Server | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  private keepalive: NodeJS.Timeout | null = null;
  private closing = false;
  private readonly gauge: Gauge;
  private readonly messages: Counter<'type'>;
  private readonly errors: Counter<'code'>;

  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(WALLET_CONFIG) private readonly config: WalletConfig,
    @Inject(ENGINE_CORE) private readonly core: EngineCore,
    @Inject(ClusterBridge) private readonly bridge: ClusterBridge,
    @Inject(AccessTokenVerifier) private readonly verifier: AccessTokenVerifier,
    @Inject(TenantDirectory) private readonly tenants: TenantDirectory,
    @Inject(RateLimiter) private readonly rateLimiter: RateLimiter,
    @Inject(HttpMetrics) metrics: HttpMetrics,
  ) {
    const registry = metrics.registry;
    this.gauge =
      (registry.getSingleMetric('engine_connections') as Gauge | undefined) ??
      new Gauge({ name: 'engine_connections', help: 'Open engine WebSocket connections', registers: [registry] });
    this.messages =
      (registry.getSingleMetric('engine_messages_total') as Counter<'type'> | undefined) ??
      new Counter({ name: 'engine_messages_total', help: 'Engine messages received, by type', labelNames: ['type'], registers: [registry] });
    this.errors =
      (registry.getSingleMetric('engine_errors_total') as Counter<'code'> | undefined) ??
      new Counter({ name: 'engine_errors_total', help: 'Engine error messages sent, by code', labelNames: ['code'], registers: [registry] });
  }

  private get limits() {
    return this.config.engine;
  }

  onApplicationBootstrap(): void {
    this.server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.limits.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
    this.server.on('upgrade', this.onUpgrade);
    this.sweeper = setInterval(() => this.sweep(), 1000);
    this.sweeper.unref();
    this.keepalive = setInterval(() => this.ping(), this.limits.keepaliveIntervalMs);
    this.keepalive.unref();
  }

  /**
   * Closes every connection with "going away" so clients reconnect to
   * another replica and resume, and waits (briefly) for the close handshakes:
   * the first thing the application does when it stops, before the HTTP
   * server starts dropping idle connections.
   */
  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    this.server?.off('upgrade', this.onUpgrade);
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.keepalive) clearInterval(this.keepalive);
    const closed = [...this.connections].map(
      (connection) =>
        new Promise<void>((resolve) => {
          connection.socket.once('close', () => resolve());
          connection.socket.close(CLOSE_CODES.goingAway, 'server shutting down');
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
    for (const connection of this.connections) connection.socket.terminate();
    this.wss?.close();
  }

  /** Open connections (for tests and benchmarks). */
  get size(): number {
    return this.connections.size;
  }

  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const refuse = (status: number, message: string) => {
      socket.end(`HTTP/1.1 ${status} ${message}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`);
    };
    const url = new URL(request.url ?? '/', 'http://engine');
    const match = PATH.exec(url.pathname);
    if (!match) return refuse(404, 'no WebSocket endpoint here');
    if (url.searchParams.has('token') || url.searchParams.has('access_token')) {
      return refuse(400, 'access tokens are never accepted in the URL: send them in the handshake frame');
    }
    if (this.closing) return refuse(503, 'server shutting down');
    if (this.connections.size >= this.limits.maxConnections) return refuse(503, 'too many connections; try again later');
    const origin = typeof request.headers.origin === 'string' ? request.headers.origin : null;
    this.wss?.handleUpgrade(request, socket, head, (ws) => this.onConnection(ws, origin, match[1] ?? null));
  };

  private onConnection(socket: WebSocket, origin: string | null, pathTenant: string | null): void {
    const now = Date.now();
    const connection: Connection = {
      socket,
      origin,
      pathTenant,
      openedAt: now,
      tokens: this.limits.messageBurst,
      refilledAt: now,
      violations: 0,
      alive: true,
      engine: null,
      session: null,
      expiresAt: 0,
      token: null,
      queue: Promise.resolve(),
    };
    this.connections.add(connection);
    this.gauge.inc();
    socket.on('message', (data: RawData, isBinary: boolean) => this.onMessage(connection, data, isBinary));
    socket.on('pong', () => {
      connection.alive = true;
    });
    socket.on('error', (error) => {
      // ws reports oversized frames here, then closes with 1009.
      if (/max payload/i.test(error.message)) this.errors.inc({ code: 'frame_too_large' });
      this.logger.log({ msg: 'engine socket error', error: error.message.slice(0, 200) });
    });
    socket.on('close', () => {
      this.connections.delete(connection);
      this.gauge.dec();
      if (connection.engine) this.bridge.hub.remove(connection.engine);
    });
  }

  private send(connection: Connection, frame: ServerMessage): void {
    const { socket } = connection;
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      socket.close(CLOSE_CODES.tryAgainLater, 'the client reads too slowly');
      return;
    }
    if (frame.type === 'error') this.errors.inc({ code: frame.code });
    socket.send(JSON.stringify(frame));
  }

  private error(connection: Connection, code: EngineErrorCode, message: string, ids: { message_id?: string | undefined; flow_id?: string | undefined } = {}, path?: string): void {
    this.send(connection, {
      type: 'error',
      code,
      message,
      ...(ids.message_id ? { message_id: ids.message_id } : {}),
      ...(ids.flow_id ? { flow_id: ids.flow_id } : {}),
      ...(path ? { path } : {}),
    });
  }

  /** One token per message, refilled at the configured rate up to the burst. */
  private takeToken(connection: Connection): boolean {
    const now = Date.now();
    const refill = ((now - connection.refilledAt) / 1000) * this.limits.messagesPerSecond;
    connection.tokens = Math.min(this.limits.messageBurst, connection.tokens + refill);
    connection.refilledAt = now;
    if (connection.tokens < 1) return false;
    connection.tokens -= 1;
    return true;
  }

  private onMessage(connection: Connection, data: RawData, isBinary: boolean): void {
    const bytes = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
    if (!connection.engine && bytes > this.limits.maxHandshakeFrameBytes) {
      this.error(connection, 'frame_too_large', `frames before the handshake may be at most ${this.limits.maxHandshakeFrameBytes} bytes`);
      connection.socket.close(CLOSE_CODES.tooLarge, 'frame too large');
      return;
    }
    if (!this.takeToken(connection)) {
      connection.violations += 1;
      // Not handled, but its ids are echoed, so the client knows which request this error answers.
      const ids = isBinary ? {} : frameIds(frameText(data));
      this.error(connection, 'rate_limited', `at most ${this.limits.messagesPerSecond} messages per second (burst ${this.limits.messageBurst}); this one was not handled`, ids);
      if (connection.violations > this.limits.messageBurst) connection.socket.close(CLOSE_CODES.rateLimited, 'too many messages');
      return;
    }
    if (isBinary) {
      this.error(connection, 'binary_frame', 'binary frames are not accepted: send JSON text');
      return;
    }
    const text = frameText(data);
    connection.queue = connection.queue.then(() => this.handle(connection, text)).catch((error: unknown) => {
      this.logger.error({ msg: 'engine message failed', error: describeError(error) });
      this.error(connection, 'internal', 'the engine failed; see its log');
    });
  }

  private async handle(connection: Connection, text: string): Promise<void> {
    if (connection.socket.readyState !== connection.socket.OPEN) return;
    const parsed = parseClientFrame(text);
    if (!parsed.ok) {
      const { code, message, path, message_id, flow_id } = parsed.refusal;
      this.messages.inc({ type: code === 'unsupported_message' ? 'unsupported' : 'invalid' });
      this.error(connection, code, message, { message_id, flow_id }, path);
      if (!connection.engine) connection.socket.close(CLOSE_CODES.unauthenticated, 'handshake required');
      return;
    }
    const message = parsed.message;
    this.messages.inc({ type: message.type });
    if (message.type === 'handshake') return this.handshake(connection, message);
    if (!connection.engine || !connection.session) {
      this.error(connection, 'handshake_required', 'the first frame must be a handshake with the access token', { message_id: 'message_id' in message ? message.message_id : undefined });
      connection.socket.close(CLOSE_CODES.unauthenticated, 'handshake required');
      return;
    }
    await connection.session.handle(message);
  }

  private async handshake(connection: Connection, message: ClientMessageOf<'handshake'>): Promise<void> {
    const ids = { message_id: message.message_id };
    const fail = (code: EngineErrorCode, text: string, close: number) => {
      this.error(connection, code, text, ids);
      connection.socket.close(close, code);
    };
    let principal: Principal & { expiresAt: number };
    try {
      const verified = await this.verifier.verify(message.token, { signatureCheck: 'thread-pool' });
      principal = { tenantId: verified.tenantId, userId: verified.userId, expiresAt: verified.expiresAt * 1000 };
    } catch (error) {
      if (error instanceof RefusalError) return fail('unauthenticated', error.message, CLOSE_CODES.unauthenticated);
      if (isWalletError(error) && error.code === 'unavailable') return fail('unavailable', 'the access token cannot be checked now; try again', CLOSE_CODES.tryAgainLater);
      throw error;
    }
    if (connection.engine) {
      // A fresh token on a live connection: the same user only.
      if (connection.engine.principal.tenantId !== principal.tenantId || connection.engine.principal.userId !== principal.userId) {
        return fail('unauthenticated', 'a new handshake must be for the same user', CLOSE_CODES.unauthenticated);
      }
      // The tenant again, as on the first handshake: one disabled or deleted since then renews nothing.
      const current = await this.tenants.find(principal.tenantId);
      if (!current || !current.enabled) return fail('unauthenticated', TENANT_GONE, CLOSE_CODES.unauthenticated);
      connection.expiresAt = principal.expiresAt;
      connection.token = message.token;
      this.send(connection, await handshakeOk(this.core.flows, principal, { expiresAt: principal.expiresAt, limits: this.publishedLimits(), ...(message.message_id ? { messageId: message.message_id } : {}) }));
      return;
    }
    if (connection.pathTenant && connection.pathTenant !== principal.tenantId) {
      return fail('unauthenticated', 'the access token is for another tenant than the path names', CLOSE_CODES.unauthenticated);
    }
    const tenant = await this.tenants.find(principal.tenantId);
    if (!tenant || !tenant.enabled) return fail('unauthenticated', TENANT_GONE, CLOSE_CODES.unauthenticated);
    if (connection.origin !== null) {
      const allowed = tenant.allowedOrigins?.length ? tenant.allowedOrigins : [...this.config.auth.origins, ...this.config.server.corsOrigins];
      if (!allowed.includes(connection.origin)) return fail('forbidden_origin', 'this browser origin is not allowed for the tenant', CLOSE_CODES.forbiddenOrigin);
    }
    const user: Principal = { tenantId: principal.tenantId, userId: principal.userId };
    if (this.bridge.hub.connectionsOf(user) >= this.limits.maxConnectionsPerUser) {
      return fail('rate_limited', `at most ${this.limits.maxConnectionsPerUser} connections per user`, CLOSE_CODES.tryAgainLater);
    }
    const engine: EngineConnection = { principal: user, attached: new Set(), send: (frame) => this.send(connection, frame) };
    connection.engine = engine;
    connection.expiresAt = principal.expiresAt;
    connection.token = message.token;
    // Closed once the error frame that answers the refused request has gone out.
    const refuse = (text: string, reason: string) => {
      setImmediate(() => connection.socket.close(CLOSE_CODES.unauthenticated, reason));
      return new EngineRequestError('unauthenticated', text);
    };
    connection.session = new EngineSession(this.core.flows, engine, {
      // A flow under way goes no further (resume, answers, notifications) for a tenant disabled or deleted
      // since the handshake; cancelling and acknowledging stay allowed, so the user can still stop a flow.
      beforeRequest: async (who) => {
        const current = await this.tenants.find(who.tenantId);
        if (!current || !current.enabled) throw refuse(TENANT_GONE, 'tenant gone');
      },
      beforeFlowStart: async (who, protocol) => {
        // A token revoked since the handshake (logout, account deletion, suspension) starts nothing; the socket closes.
        try {
          await this.verifier.verify(connection.token ?? '');
        } catch (error) {
          if (error instanceof RefusalError) throw refuse(error.message, 'token no longer valid');
          throw error;
        }
        // Nor does a tenant disabled or deleted since the handshake (the directory is cached and evicted when admin changes it).
        const current = await this.tenants.find(who.tenantId);
        if (!current || !current.enabled) throw refuse(TENANT_GONE, 'tenant gone');
        if (current.allowedProtocols.length && !current.allowedProtocols.includes(protocol)) {
          throw new EngineRequestError('protocol_not_allowed', `the tenant does not allow ${protocol}`, '/protocol');
        }
        const decision = await this.rateLimiter.hit('engine-flow-start', `${who.tenantId}:${who.userId}`, {
          limit: this.limits.flowStartsPerMinute,
          windowMs: 60_000,
        });
        if (!decision.allowed) {
          throw new EngineRequestError('rate_limited', `at most ${this.limits.flowStartsPerMinute} flows per minute; try again in ${Math.ceil(decision.resetMs / 1000)} s`);
        }
      },
      log: (level, msg, fields) => this.logger[level === 'info' ? 'log' : level]({ msg, ...fields }),
    });
    this.bridge.hub.add(engine);
    this.send(connection, await handshakeOk(this.core.flows, user, { expiresAt: principal.expiresAt, limits: this.publishedLimits(), ...(message.message_id ? { messageId: message.message_id } : {}) }));
  }

  private publishedLimits() {
    return {
      max_frame_bytes: this.limits.maxFrameBytes,
      messages_per_second: this.limits.messagesPerSecond,
      flow_starts_per_minute: this.limits.flowStartsPerMinute,
      max_concurrent_flows: this.limits.maxConcurrentFlows,
    };
  }

  /** Handshake deadlines and token expiry, for every connection at once. */
  private sweep(): void {
    const now = Date.now();
    for (const connection of this.connections) {
      if (!connection.engine) {
        if (now - connection.openedAt > this.limits.handshakeTimeoutMs) {
          this.error(connection, 'handshake_required', `no handshake within ${this.limits.handshakeTimeoutMs} ms`);
          connection.socket.close(CLOSE_CODES.handshakeTimeout, 'handshake timeout');
        }
      } else if (connection.expiresAt < now) {
        this.error(connection, 'unauthenticated', 'the access token expired: send a new handshake before it does');
        connection.socket.close(CLOSE_CODES.unauthenticated, 'token expired');
      }
    }
  }

  /**
   * Pings every connection; one that did not answer the last ping is gone.
   * In batches, yielding to the event loop between them: one pass over
   * 10,000 sockets in a single turn held every other message for ~0.2 s.
   */
  private ping(): void {
    const all = [...this.connections];
    const batch = (from: number): void => {
      for (const connection of all.slice(from, from + PING_BATCH)) {
        if (connection.socket.readyState !== connection.socket.OPEN) continue;
        if (!connection.alive) {
          connection.socket.terminate();
          continue;
        }
        connection.alive = false;
        connection.socket.ping();
      }
      if (from + PING_BATCH < all.length) setImmediate(() => batch(from + PING_BATCH));
    };
    batch(0);
  }
}
