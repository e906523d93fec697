import { z } from 'zod';
import { MAX_FRAME_DEPTH, MAX_FRAME_MEMBERS } from './common';

/**
 * Codes of the `error` message: something about one frame or the connection
 * went wrong. The connection stays open unless the code says otherwise
 * (see {@link CLOSE_CODES}). What each code means: {@link ENGINE_ERROR_CODE_DESCRIPTIONS}.
 */
export const ENGINE_ERROR_CODES = [
  'invalid_message',
  'unsupported_message',
  'binary_frame',
  'handshake_required',
  'unauthenticated',
  'forbidden_origin',
  'protocol_not_allowed',
  'rate_limited',
  'too_many_flows',
  'unknown_flow',
  'unexpected_reply',
  'flow_busy',
  'frame_too_large',
  'unavailable',
  'internal',
] as const;
export const zEngineErrorCode = z.enum(ENGINE_ERROR_CODES);
export type EngineErrorCode = z.infer<typeof zEngineErrorCode>;

/** What each {@link ENGINE_ERROR_CODES} code means (also published in `docs/api/engine.asyncapi.json`). */
export const ENGINE_ERROR_CODE_DESCRIPTIONS: Readonly<Record<EngineErrorCode, string>> = {
  invalid_message: `The frame is not JSON, nests arrays and objects more than ${MAX_FRAME_DEPTH} levels deep, has more than ${MAX_FRAME_MEMBERS} object members, or is not a message of this protocol (the message names the field).`,
  unsupported_message: 'A JSON message whose `type` this engine does not know.',
  binary_frame: 'Binary frames are refused: the protocol is JSON text.',
  handshake_required: 'The first frame was not a `handshake`, or came too late.',
  unauthenticated: 'The access token was missing, malformed, expired, revoked or from another tenant.',
  forbidden_origin: 'The browser `Origin` is not one the tenant allows.',
  protocol_not_allowed: 'The tenant does not allow this protocol.',
  rate_limited: 'Too many messages per second on this connection, flow starts per minute, or connections.',
  too_many_flows: 'The user already has as many unfinished flows as allowed.',
  unknown_flow: 'No such flow, or not one of this user\'s.',
  unexpected_reply: 'A reply that answers no question the flow is waiting for (wrong `message_id` or type).',
  flow_busy: 'Someone else is working on this flow right now; try again.',
  frame_too_large: 'The frame is larger than the limit.',
  unavailable: 'The shared cache or another service the engine needs does not answer.',
  internal: 'A fault on our side; details are in the server log under the request id.',
};

/**
 * Codes of `flow_error`: why a flow ended unsuccessfully. The flow is over;
 * start a new one. What each code means: {@link FLOW_ERROR_CODE_DESCRIPTIONS}.
 */
export const FLOW_ERROR_CODES = [
  'invalid_offer',
  'invalid_request',
  'untrusted_verifier',
  'invalid_presentation',
  'response_refused',
  'metadata_unavailable',
  'untrusted_issuer',
  'unsupported_offer',
  'invalid_selection',
  'invalid_tx_code',
  'declined',
  'authorization_failed',
  'token_failed',
  'invalid_proof',
  'credential_request_failed',
  'invalid_credential',
  'deferred_failed',
  'url_refused',
  'upstream_failed',
  'timeout',
  'expired',
  'cancelled',
  'internal',
] as const;
export const zFlowErrorCode = z.enum(FLOW_ERROR_CODES);
export type FlowErrorCode = z.infer<typeof zFlowErrorCode>;

/** What each {@link FLOW_ERROR_CODES} code means (also published in `docs/api/engine.asyncapi.json`). */
export const FLOW_ERROR_CODE_DESCRIPTIONS: Readonly<Record<FlowErrorCode, string>> = {
  invalid_offer: 'The credential offer is not a valid OpenID4VCI offer (link, JSON or its `credential_offer_uri` answer).',
  invalid_request: 'The OpenID4VP authorization request is invalid: unsigned where a signature is required, a signature or certificate that does not verify for the client id, expired, for another audience, or malformed.',
  untrusted_verifier: 'The trust evaluator does not trust the verifier (or could not decide: trust fails closed).',
  invalid_presentation: 'A presentation the client built is not what the request asks: wrong nonce or audience, sd_hash, transaction data hashes, claims disclosed beyond the query, or a query left unanswered.',
  response_refused: 'The verifier refused the authorization response.',
  metadata_unavailable: 'The issuer\'s or authorization server\'s metadata could not be fetched or is invalid.',
  untrusted_issuer: 'The trust evaluator does not trust the issuer (or could not decide: trust fails closed).',
  unsupported_offer: 'The offer asks for nothing this engine can receive (unknown configuration, format or grant).',
  invalid_selection: 'The client chose something the offer does not list.',
  invalid_tx_code: 'The transaction code does not fit the length or input mode the offer asks for.',
  declined: 'The user declined (consent refused, authorization denied at the issuer).',
  authorization_failed: 'The authorization redirect came back wrong (`state` or `iss` mismatch, an error from the server).',
  token_failed: 'The token endpoint refused the grant.',
  invalid_proof: 'A JWT the client signed (key proof or DPoP proof) is not what was asked: typ, aud, nonce, key, algorithm or signature.',
  credential_request_failed: 'The credential endpoint refused the request.',
  invalid_credential: 'An issued credential failed a check (signature, issuer key, vct, holder binding, dates, status).',
  deferred_failed: 'Deferred issuance failed or was given up.',
  url_refused: 'The outbound guard refused a URL (loopback, private address, scheme, host lists).',
  upstream_failed: 'An issuer or authorization server did not answer, answered too slowly or too much.',
  timeout: 'A step took longer than its limit (a client reply that did not come, an issuer that hangs).',
  expired: 'The flow outlived its lifetime.',
  cancelled: 'The client cancelled the flow.',
  internal: 'A fault on our side.',
};

/**
 * WebSocket close codes the engine uses; what a client should do on each is
 * in {@link CLOSE_CODE_DESCRIPTIONS}.
 */
export const CLOSE_CODES = {
  goingAway: 1001,
  protocolError: 1002,
  invalidText: 1007,
  tooLarge: 1009,
  unauthenticated: 4401,
  forbiddenOrigin: 4403,
  handshakeTimeout: 4408,
  rateLimited: 4429,
  tryAgainLater: 1013,
} as const;
export type CloseCodeName = keyof typeof CLOSE_CODES;

/** When the engine closes with each {@link CLOSE_CODES} code, and what a client should do. */
export const CLOSE_CODE_DESCRIPTIONS: Readonly<Record<CloseCodeName, string>> = {
  goingAway: 'Server shutting down or restarting: reconnect (to any replica) and resume.',
  protocolError: 'The client broke the WebSocket protocol (a malformed, unmasked or reserved frame; closed by the WebSocket layer): fix the client.',
  invalidText: 'A text frame that is not valid UTF-8 (RFC 6455 section 8.1; closed by the WebSocket layer): fix the client.',
  tooLarge: 'A frame over the size limit: fix the client.',
  unauthenticated: 'The handshake failed (token invalid, expired or revoked): get a fresh token, then reconnect.',
  forbiddenOrigin: 'The `Origin` is not allowed for the tenant: do not retry.',
  handshakeTimeout: 'No handshake within the deadline: reconnect and send `handshake` first.',
  rateLimited: 'The client kept exceeding the message rate: back off before reconnecting.',
  tryAgainLater: 'The engine\'s connection limits are reached: back off, then reconnect.',
};
