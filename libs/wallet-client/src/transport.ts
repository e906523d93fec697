/**
 * The socket surface {@link EngineClient} needs, so the client runs over a
 * browser `WebSocket`, the `ws` package, or an in-process engine that
 * implements this interface directly.
 */

/**
 * A bidirectional text channel to the engine. The client sets the callbacks
 * right after the factory returns it, so an implementation must not call
 * them synchronously from its constructor: call `onopen` once when frames can
 * be sent (in a later task or microtask), then `onmessage` per text frame,
 * and `onclose` exactly once at the end (also after `close()`).
 */
export interface EngineTransport {
  /** Sends one text frame. May throw when the channel is not open. */
  send(text: string): void;
  /** Starts closing; `onclose` follows. */
  close(code?: number, reason?: string): void;
  onopen: (() => void) | null;
  onmessage: ((text: string) => void) | null;
  /** `code` is the WebSocket close code (1006 when the connection just dropped). */
  onclose: ((code: number, reason: string) => void) | null;
  onerror: ((error: unknown) => void) | null;
}

/**
 * Declares a callback property whose parameter is compared bivariantly (the
 * method-signature rule), so both the DOM `WebSocket` and `ws`'s class, whose
 * event types are richer than what is used here, fit {@link WebSocketLike}.
 */
type Callback<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** The part of a WebSocket (browser or `ws`) the adapter uses. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Callback<unknown> | null;
  onmessage: Callback<{ data: unknown }> | null;
  onclose: Callback<{ code: number; reason: string }> | null;
  onerror: Callback<unknown> | null;
}

/** A WebSocket class: `globalThis.WebSocket` in browsers, `WebSocket` from `ws` in Node. */
export type WebSocketConstructorLike = new (url: string) => WebSocketLike;

/** `WebSocket.OPEN`, the same in every implementation. */
const OPEN = 1;

/**
 * Adapts a WebSocket to {@link EngineTransport}. Binary frames are not part
 * of the protocol: they are reported to `onerror` and otherwise dropped.
 */
export function webSocketTransport(socket: WebSocketLike): EngineTransport {
  const transport: EngineTransport = {
    send: (text) => socket.send(text),
    close: (code, reason) => socket.close(code, reason),
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
  };
  socket.onopen = () => transport.onopen?.();
  socket.onmessage = (event) => {
    if (typeof event.data === 'string') transport.onmessage?.(event.data);
    else transport.onerror?.(new TypeError('binary frame ignored'));
  };
  socket.onclose = (event) => transport.onclose?.(event.code, event.reason);
  socket.onerror = (event) => transport.onerror?.(event);
  // A socket handed over already open fires no open event any more.
  if (socket.readyState === OPEN) queueMicrotask(() => transport.onopen?.());
  return transport;
}

/** A transport factory that opens `url` with the given WebSocket class. */
export function webSocketConnector(url: string, WebSocketClass: WebSocketConstructorLike): () => EngineTransport {
  return () => webSocketTransport(new WebSocketClass(url));
}
