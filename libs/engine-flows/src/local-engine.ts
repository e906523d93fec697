import { createCache, type Cache } from '@wallet/cache';
import { parseClientFrame, type ServerMessage } from '@wallet/engine-protocol';
import type { EngineTransport } from '@wallet/wallet-client';
import { createEngineCore, type EngineCore, type EngineCoreOptions } from './engine-core';
import type { Principal } from './engine-flows';
import { EngineHub, EngineSession, handshakeOk, type EngineConnection } from './engine-session';

/** The client library's text channel, implemented in process. */
export type LocalTransport = EngineTransport;

export interface LocalEngineOptions extends Omit<EngineCoreOptions, 'emit' | 'replica' | 'cache'> {
  /** Flow state; default an in-memory cache of its own. */
  cache?: Cache;
  /** Whose flows these are; default tenant `local`, user `local`. */
  principal?: Principal;
  /** How often due deferred issuances are polled (default 1000 ms). */
  pollIntervalMs?: number;
}

export interface LocalEngine {
  /** A new in-process connection: give it to `EngineClient` as its `transport`. */
  connect(): LocalTransport;
  readonly core: EngineCore;
  close(): Promise<void>;
}

/**
 * The engine in the wallet's own process ("local engine"): the same flows,
 * protocol and checks as the engine service, with no server. A native or
 * desktop wallet receives credentials this way and no cloud component sees
 * any of the flow; it still fetches through the guarded fetch it is given.
 * The handshake's token is not checked: the caller is the only user.
 */
export async function createLocalEngine(options: LocalEngineOptions): Promise<LocalEngine> {
  const cache = options.cache ?? (await createCache({ type: 'memory' }));
  const principal = options.principal ?? { tenantId: 'local', userId: 'local' };
  const hub = new EngineHub();
  const core = createEngineCore({
    ...options,
    cache,
    replica: 'local',
    emit: async (flow, frame) => {
      hub.deliver({ tenantId: flow.tenantId, userId: flow.userId }, flow.id, frame);
    },
  });
  const poller = setInterval(() => void core.flows.pollDue().catch(() => undefined), options.pollIntervalMs ?? 1000);
  poller.unref();
  const open = new Set<LocalTransport>();

  const connect = (): LocalTransport => {
    let closed = false;
    let authenticated = false;
    const transport: LocalTransport = {
      onopen: null,
      onmessage: null,
      onclose: null,
      onerror: null,
      send: (text) => {
        if (closed) throw new Error('the local engine connection is closed');
        // Asynchronous like a socket: a handler never runs inside the caller's send().
        queueMicrotask(() => void receive(text));
      },
      close: (code = 1000, reason = '') => {
        if (closed) return;
        closed = true;
        open.delete(transport);
        hub.remove(connection);
        queueMicrotask(() => transport.onclose?.(code, reason));
      },
    };
    const connection: EngineConnection = {
      principal,
      attached: new Set(),
      send: (frame: ServerMessage) => {
        if (closed) return;
        const text = JSON.stringify(frame);
        queueMicrotask(() => transport.onmessage?.(text));
      },
    };
    const session = new EngineSession(core.flows, connection, options.log ? { log: options.log } : {});
    const receive = async (text: string) => {
      const parsed = parseClientFrame(text);
      if (!parsed.ok) {
        const { code, message, path, message_id, flow_id } = parsed.refusal;
        connection.send({ type: 'error', code, message, ...(path ? { path } : {}), ...(message_id ? { message_id } : {}), ...(flow_id ? { flow_id } : {}) });
        return;
      }
      const message = parsed.message;
      if (message.type === 'handshake') {
        if (!authenticated) hub.add(connection);
        authenticated = true;
        connection.send(
          await handshakeOk(core.flows, principal, {
            expiresAt: Date.now() + 24 * 60 * 60_000,
            limits: { max_frame_bytes: 16 * 1024 * 1024, messages_per_second: 0, flow_starts_per_minute: 0, max_concurrent_flows: core.limits.maxConcurrentFlows },
            ...(message.message_id ? { messageId: message.message_id } : {}),
          }),
        );
        return;
      }
      if (!authenticated) {
        connection.send({ type: 'error', code: 'handshake_required', message: 'send handshake first' });
        return;
      }
      await session.handle(message);
    };
    open.add(transport);
    queueMicrotask(() => transport.onopen?.());
    return transport;
  };

  return {
    connect,
    core,
    close: async () => {
      clearInterval(poller);
      for (const transport of [...open]) transport.close(1001, 'engine closing');
      if (!options.cache) await cache.close();
    },
  };
}
