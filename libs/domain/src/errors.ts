/**
 * Domain errors. Every error the libraries throw on purpose is a `WalletError`
 * with a stable string-literal `code`; transports map codes to answers in one
 * exhaustive switch (see `@wallet/platform`). Messages are meant for clients:
 * never put secrets, tokens or credential contents in them.
 */
export type WalletErrorCode =
  | 'not_found'
  | 'already_exists'
  | 'version_conflict'
  | 'precondition_failed'
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'payload_too_large'
  | 'unavailable'
  | 'internal'
  /** An upstream server (type metadata host, PDP, issuer) answered badly or not at all. */
  | 'bad_gateway';

export interface ValidationIssue {
  /** Where the problem is, as a JSON-pointer-like path (`/tags/0/name`). */
  path: string;
  message: string;
}

export interface WalletErrorOptions {
  cause?: unknown;
  /** Client-safe structured detail, copied into the problem document. */
  details?: Record<string, unknown>;
}

export class WalletError extends Error {
  readonly code: WalletErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: WalletErrorCode, message: string, options: WalletErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
  }
}

export class NotFoundError extends WalletError {
  constructor(what: string, options: WalletErrorOptions = {}) {
    super('not_found', `${what} not found`, options);
  }
}

/** A create or update would break a uniqueness rule (same id, same unique field). */
export class UniqueViolationError extends WalletError {
  constructor(
    readonly collection: string,
    readonly fields: readonly string[],
    options: WalletErrorOptions = {},
  ) {
    super('already_exists', `a ${collection} record with the same ${fields.join(', ')} already exists`, {
      ...options,
      details: { collection, fields: [...fields], ...options.details },
    });
  }
}

/** Optimistic concurrency: the record changed since the caller read it. */
export class VersionConflictError extends WalletError {
  constructor(
    readonly collection: string,
    readonly expectedVersion: number,
    readonly actualVersion: number | null,
    options: WalletErrorOptions = {},
  ) {
    super(
      'version_conflict',
      `the ${collection} record is at version ${actualVersion ?? 'unknown'}, not ${expectedVersion}`,
      { ...options, details: { expectedVersion, actualVersion, ...options.details } },
    );
  }
}

export class ValidationError extends WalletError {
  constructor(
    message: string,
    readonly issues: readonly ValidationIssue[] = [],
    options: WalletErrorOptions = {},
  ) {
    super('validation_failed', message, { ...options, details: { issues: [...issues], ...options.details } });
  }
}

/** A dependency (store, cache, upstream) is not reachable right now. */
export class UnavailableError extends WalletError {
  constructor(what: string, options: WalletErrorOptions = {}) {
    super('unavailable', `${what} is unavailable`, options);
  }
}

export function isWalletError(error: unknown): error is WalletError {
  return error instanceof WalletError;
}

/**
 * The specific reasons a `RefusalError` gives, each a stable problem `code`
 * clients may branch on. Add a reason here before throwing it.
 */
export type RefusalReason =
  // Access tokens and sessions (401)
  | 'invalid_token'
  | 'token_expired'
  | 'token_revoked'
  | 'token_required'
  | 'account_gone'
  | 'account_suspended'
  // Tenants and invites (403)
  | 'tenant_mismatch'
  | 'invite_required'
  | 'invite_invalid'
  // Passkeys and WebAuthn ceremonies
  | 'challenge_invalid'
  | 'webauthn_invalid'
  | 'counter_regression'
  | 'passkey_exists'
  | 'passkey_not_found'
  | 'passkey_unknown'
  | 'last_passkey'
  // Conditional requests and sync
  | 'precondition_required'
  | 'etag_mismatch'
  | 'sync_cursor_expired'
  // Grants and load
  | 'invalid_grant'
  | 'busy';

/**
 * A refusal with a stable, more specific code than its category: `reason`
 * becomes the problem document's `code` (`invite_required` is a `forbidden`,
 * `tenant_mismatch` a `forbidden`, `token_expired` an `unauthorized`); the
 * HTTP status still follows `code`.
 */
export class RefusalError extends WalletError {
  constructor(
    code: WalletErrorCode,
    readonly reason: RefusalReason,
    message: string,
    options: WalletErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

/** A configured limit (size, count, quota) would be exceeded; `details.limit` names it. */
export class LimitExceededError extends WalletError {
  constructor(
    readonly limit: string,
    readonly max: number,
    message: string,
    options: WalletErrorOptions = {},
  ) {
    super('payload_too_large', message, { ...options, details: { limit, max, ...options.details } });
  }
}

/** The operation needs a state the target is not in (e.g. import into a vault that is not empty). */
export class PreconditionFailedError extends WalletError {
  constructor(message: string, options: WalletErrorOptions = {}) {
    super('precondition_failed', message, options);
  }
}
