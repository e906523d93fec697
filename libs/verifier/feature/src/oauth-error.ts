import { applyDecorators, ArgumentsHost, Catch, Logger, type ExceptionFilter } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { UnavailableError, ValidationError } from '@wallet/domain';
import { PresentationError, type PresentationErrorCode } from '@wallet/protocol';
import type { FastifyReply } from 'fastify';

/**
 * The OAuth error codes the verifier answers with: RFC 6749 (§4.1.2.1, §5.2),
 * RFC 8693's `invalid_target`, RFC 9101's `invalid_request_uri`, and
 * OpenID4VP's `invalid_presentation` (a refused presentation, with `reason`).
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'invalid_scope'
  | 'invalid_target'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_request_uri'
  | 'access_denied'
  | 'invalid_presentation'
  | 'temporarily_unavailable'
  | 'server_error';

/** The statuses an `OAuthError` carries: the client's mistake (400), failed client authentication (401), an unknown request object (404). */
export type OAuthErrorStatus = 400 | 401 | 404;

/** The JSON body of every OAuth-style error answer. */
export interface OAuthErrorBody {
  error: OAuthErrorCode;
  /** For the client's developer: names the rule, never the value sent. */
  error_description: string;
  /** A refused presentation: which check failed. */
  reason?: PresentationErrorCode;
}

export interface OAuthErrorOptions {
  /** Internal detail for the logs (never sent): what exactly did not fit. */
  detail?: string;
  cause?: unknown;
}

/**
 * An error in the OAuth shape (`{error, error_description}`), for the token
 * and response endpoints. `description` is what the client sees; `message`
 * adds the internal `detail` and is for logs only.
 */
export class OAuthError extends Error {
  readonly detail: string | undefined;

  constructor(
    readonly status: OAuthErrorStatus,
    readonly error: OAuthErrorCode,
    readonly description: string,
    options: OAuthErrorOptions = {},
  ) {
    super(options.detail === undefined ? description : `${description} (${options.detail})`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OAuthError';
    this.detail = options.detail;
  }
}

/** Every presentation failure is the wallet's or the credential's fault: a 400 with a specific reason. */
function oauthErrorFor(code: PresentationErrorCode): OAuthErrorCode {
  switch (code) {
    case 'query_not_satisfied':
    case 'query_invalid':
      return 'invalid_presentation';
    case 'untrusted_issuer':
    case 'claim_not_allowed':
    case 'revoked':
    case 'suspended':
      return 'access_denied';
    case 'status_unavailable':
    case 'issuer_key_unresolved':
      return 'invalid_presentation';
    case 'malformed':
      return 'invalid_request';
    case 'unsupported_algorithm':
    case 'invalid_type':
    case 'invalid_signature':
    case 'expired':
    case 'not_yet_valid':
    case 'invalid_disclosure':
    case 'duplicate_disclosure':
    case 'unused_disclosure':
    case 'key_binding_missing':
    case 'key_binding_invalid':
    case 'nonce_mismatch':
    case 'audience_mismatch':
    case 'sd_hash_mismatch':
    case 'key_binding_stale':
      return 'invalid_presentation';
  }
}

/** What a refusal's cause chain says, for the debug log: class names and our own detail, never a value. */
function causeNames(error: Error): string[] {
  const names: string[] = [];
  for (let cause: unknown = error.cause; cause instanceof Error && names.length < 4; cause = cause.cause) names.push(cause.name);
  return names;
}

/**
 * The OAuth-shaped answer to an error: OAuthError and PresentationError as they
 * say (only their client-facing description; the internal detail and the
 * cause go to the debug log), a path parameter refused by the global
 * validation pipe (`ValidationError`) and a framework 4xx as
 * `invalid_request`, anything else a logged 500 `server_error` that tells
 * nothing of the cause.
 */
export function oauthErrorResponse(exception: unknown, logger: Pick<Logger, 'error'> & Partial<Pick<Logger, 'debug'>>): { status: number; body: OAuthErrorBody } {
  if (exception instanceof OAuthError) {
    if (exception.detail !== undefined || exception.cause !== undefined) {
      logger.debug?.({ msg: 'verifier refused a request', error: exception.error, detail: exception.detail, causes: causeNames(exception) });
    }
    return { status: exception.status, body: { error: exception.error, error_description: exception.description } };
  }
  if (exception instanceof PresentationError) {
    if (exception.cause !== undefined) {
      logger.debug?.({ msg: 'verifier refused a presentation', reason: exception.code, detail: exception.cause instanceof PresentationRefusalDetail ? exception.cause.message : undefined, causes: causeNames(exception) });
    }
    return { status: 400, body: { error: oauthErrorFor(exception.code), error_description: exception.message, reason: exception.code } };
  }
  // The cache or the store does not answer (a restart, a failover): RFC 6749's temporarily_unavailable, for the client to retry.
  if (exception instanceof UnavailableError) return { status: 503, body: { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable; try again' } };
  // Its message names the parameter and the rule, never the value (see WalletValidationPipe).
  if (exception instanceof ValidationError) return { status: 400, body: { error: 'invalid_request', error_description: exception.message.slice(0, 300) } };
  if (typeof exception === 'object' && exception !== null && 'statusCode' in exception && typeof exception.statusCode === 'number' && exception.statusCode < 500) {
    return {
      status: exception.statusCode,
      body: { error: 'invalid_request', error_description: exception instanceof Error ? exception.message.slice(0, 300) : 'invalid request' },
    };
  }
  logger.error({ msg: 'verifier endpoint failed', err: exception instanceof Error ? { type: exception.name, message: exception.message, stack: exception.stack } : String(exception) });
  return { status: 500, body: { error: 'server_error', error_description: 'an internal error occurred' } };
}

/** Answers the verifier's OAuth-style endpoints' errors with `oauthErrorResponse`, uncached. */
@Catch()
export class OAuthErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('verifier');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (reply.sent) return;
    const { status, body } = oauthErrorResponse(exception, this.logger);
    void reply.status(status).header('cache-control', 'no-store').send(body);
  }
}

/**
 * Internal detail of a presentation refusal (a PDP's own reason, say), carried
 * as the `PresentationError`'s cause: logged at debug, never in the answer.
 */
export class PresentationRefusalDetail extends Error {
  constructor(detail: string) {
    super(detail.slice(0, 300));
    this.name = 'PresentationRefusalDetail';
  }
}

/** The OpenAPI schema of the OAuth error answer (RFC 6749 §5.2), with the presentation refusal's `reason`; `errors` lists the codes. */
export function oauthErrorSchema(errors: readonly OAuthErrorCode[]): Record<string, unknown> {
  return {
    type: 'object',
    required: ['error', 'error_description'],
    properties: {
      error: { type: 'string', description: 'The OAuth error code', enum: [...errors], example: errors[0] },
      error_description: { type: 'string', description: 'What is wrong, for developers; never the value sent', example: 'state must be a string' },
      reason: {
        type: 'string',
        description: 'For a refused presentation: which check failed (`nonce_mismatch`, `revoked`, `untrusted_issuer`, ...)',
        example: 'nonce_mismatch',
      },
    },
  };
}

/**
 * Documents an error answer of an OAuth-style route: `{error, error_description}`
 * as JSON, not a problem document. `errors` lists the OAuth codes it can carry.
 */
export function ApiOAuthError(status: number, description: string, errors: readonly OAuthErrorCode[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiResponse({
      status,
      description: `${description} (OAuth error: ${errors.map((e) => `\`${e}\``).join(', ')})`,
      content: { 'application/json': { schema: oauthErrorSchema(errors) } },
    }),
  );
}
