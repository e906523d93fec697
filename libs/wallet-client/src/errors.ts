import type { EngineErrorCode, FlowErrorCode } from '@wallet/engine-protocol';

/**
 * A flow ended with `flow_error`: the flow is over on the engine (start a new
 * one). `code` is one of the protocol's {@link FlowErrorCode}s.
 */
export class EngineFlowError extends Error {
  override readonly name = 'EngineFlowError';
  constructor(
    readonly code: FlowErrorCode,
    message: string,
    readonly flowId: string,
  ) {
    super(message);
  }
}

/**
 * The engine answered one of our requests (`flow_start`, `flow_resume`,
 * `notification`, ...) with `error`; `path` points into the frame we sent
 * when the engine named a field.
 */
export class EngineRequestError extends Error {
  override readonly name = 'EngineRequestError';
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    readonly path?: string,
    readonly flowId?: string,
  ) {
    super(message);
  }
}

/** Why the client has no (usable) connection. */
export type ConnectionErrorCode =
  /** `close()` was called. */
  | 'closed'
  /** The engine refused the token twice (close 4401 / `unauthenticated`), even after a fresh `getToken()`. */
  | 'unauthenticated'
  /** The engine refuses this page's `Origin` (close 4403); retrying cannot help. */
  | 'forbidden_origin'
  /** A frame of ours was over the engine's limit (close 1009); retrying cannot help. */
  | 'frame_too_large'
  /**
   * The WebSocket layer refused what this client sent (close 1002: a malformed
   * frame; 1007: a text frame that is not UTF-8); retrying cannot help.
   */
  | 'protocol_error'
  /** Connecting failed, and so did every retry the reconnect policy allows. */
  | 'connect_failed'
  /** The engine did not answer within `timeoutMs`. */
  | 'timeout'
  /** The connection dropped while a request that is not safe to repeat (`flow_start`) was unanswered. */
  | 'connection_lost';

/**
 * The connection failed or was closed; the request or flow wait it rejects
 * did not get its answer. Flows may still run on the engine: `flowId`, when
 * set, names the one whose wait this ended, so it can be `resume`d later.
 */
export class EngineConnectionError extends Error {
  override readonly name = 'EngineConnectionError';
  constructor(
    readonly code: ConnectionErrorCode,
    message: string,
    readonly closeCode?: number,
    readonly flowId?: string,
  ) {
    super(message);
  }

  /** The same error, naming the flow whose wait it ends. */
  forFlow(flowId: string): EngineConnectionError {
    return new EngineConnectionError(this.code, this.message, this.closeCode, flowId);
  }
}

/**
 * Thrown by a handler to choose the failure code the engine is told
 * (`declined`: the user said no; `unsupported`: this wallet cannot; `failed`:
 * it tried). Any other exception from a handler is reported as `failed`.
 */
export class ClientFailureError extends Error {
  override readonly name = 'ClientFailureError';
  constructor(
    readonly code: 'declined' | 'unsupported' | 'failed',
    message?: string,
  ) {
    super(message ?? code);
  }
}

/** A redirect URL that cannot be matched to a flow, or has no `state`. */
export class RedirectError extends Error {
  override readonly name = 'RedirectError';
  constructor(
    readonly code: 'invalid_redirect' | 'unknown_state',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The engine ended a flow with a `flow_complete` that does not carry what
 * the call waits for: an issuance result without `issuer` or `credentials`,
 * a presentation result without `verifier`, or the result of a flow of the
 * other protocol (`resume` with the wrong `protocol`). The flow is over on
 * the engine.
 */
export class EngineResultError extends Error {
  override readonly name = 'EngineResultError';
  constructor(
    readonly code: 'incomplete_result' | 'wrong_protocol',
    message: string,
    readonly flowId: string,
  ) {
    super(message);
  }
}
