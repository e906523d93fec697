import type { EngineErrorCode, FlowErrorCode } from '@wallet/engine-protocol';

/**
 * Ends a flow with `flow_error`. The message goes to the client: say what is
 * wrong, never quote tokens, keys or credential contents.
 */
export class FlowFailure extends Error {
  constructor(
    readonly code: FlowErrorCode,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FlowFailure';
  }
}

/** Refuses one client message with an `error` frame; the flow (if any) goes on. */
export class EngineRequestError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.name = 'EngineRequestError';
  }
}

/**
 * How the fetch port reports a refusal or failure of its own (not an HTTP
 * status, which comes back as a response): the outbound guard refused the URL,
 * the server did not answer in time, the body was over the limit, or the
 * connection failed.
 */
export class OutboundFailure extends Error {
  constructor(
    readonly kind: 'refused' | 'timeout' | 'too_large' | 'failed',
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OutboundFailure';
  }
}

/** Finds an {@link OutboundFailure} in an error's cause chain (libraries wrap what our fetch throws). */
export function findOutboundFailure(error: unknown): OutboundFailure | null {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    if (current instanceof OutboundFailure) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/** The flow code for a fetch-level failure. */
export function outboundFlowCode(failure: OutboundFailure): FlowErrorCode {
  switch (failure.kind) {
    case 'refused':
      return 'url_refused';
    case 'timeout':
      return 'timeout';
    case 'too_large':
    case 'failed':
      return 'upstream_failed';
  }
}

/**
 * An error as one safe line for logs and client messages: its class and the
 * first sentence of its message, cut before any quoted data. Library errors
 * (the @openid4vc validators) append the object that failed validation to
 * their messages, and that object can be a token response or an offer.
 */
export function describeError(error: unknown, max = 160): string {
  if (!(error instanceof Error)) return typeof error;
  const text = error.message.split(/[\n{[]|\bwith data\b/)[0]?.trim() ?? '';
  return `${error.name}: ${text.slice(0, max)}`;
}
