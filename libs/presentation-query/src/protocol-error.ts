/**
 * Why a presentation was refused. The verifier maps each code to an OAuth
 * error (`invalid_request`, `access_denied`, ...) in one place; the message is
 * safe to show a client: it never carries claim values, keys or tokens.
 */
export type PresentationErrorCode =
  | 'malformed'
  | 'unsupported_algorithm'
  | 'invalid_type'
  | 'invalid_signature'
  | 'issuer_key_unresolved'
  | 'expired'
  | 'not_yet_valid'
  | 'invalid_disclosure'
  | 'duplicate_disclosure'
  | 'unused_disclosure'
  | 'key_binding_missing'
  | 'key_binding_invalid'
  | 'nonce_mismatch'
  | 'audience_mismatch'
  | 'sd_hash_mismatch'
  | 'key_binding_stale'
  | 'revoked'
  | 'suspended'
  | 'status_unavailable'
  | 'untrusted_issuer'
  | 'claim_not_allowed'
  | 'query_invalid'
  | 'query_not_satisfied';

export class PresentationError extends Error {
  readonly code: PresentationErrorCode;

  constructor(code: PresentationErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PresentationError';
    this.code = code;
  }
}
