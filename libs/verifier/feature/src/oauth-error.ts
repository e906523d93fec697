import { applyDecorators, ArgumentsHost, Catch, Logger, type ExceptionFilter } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { UnavailableError, ValidationError } from '@wallet/domain';
import { PresentationError, type PresentationErrorCode } from '@wallet/protocol';
import type { FastifyReply } from 'fastify';

/** An error in the OAuth shape (`{error, error_description}`), for the token and response endpoints. */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
    this.name = 'OAuthError';
  }
}

/** Every presentation failure is the wallet's or the credential's fault: a 400 with a specific reason. */
function oauthErrorFor(code: PresentationErrorCode): string {
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

/**
 * The OAuth-shaped answer to an error: OAuthError and PresentationError as they
 * say, a path parameter refused by the global validation pipe (`ValidationError`)
 * and a framework 4xx as `invalid_request`, anything else a logged 500
 * `server_error` that tells nothing of the cause.
 */
export function oauthErrorResponse(exception: unknown, logger: Pick<Logger, 'error'>): { status: number; body: Record<string, string> } {
  if (exception instanceof OAuthError) return { status: exception.status, body: { error: exception.error, error_description: exception.description } };
  if (exception instanceof PresentationError) {
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

/** The OpenAPI schema of the OAuth error answer (RFC 6749 §5.2), with the presentation refusal's `reason`; `errors` lists the codes. */
export function oauthErrorSchema(errors: readonly string[]): Record<string, unknown> {
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
export function ApiOAuthError(status: number, description: string, errors: readonly string[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiResponse({
      status,
      description: `${description} (OAuth error: ${errors.map((e) => `\`${e}\``).join(', ')})`,
      content: { 'application/json': { schema: oauthErrorSchema(errors) } },
    }),
  );
}
