import { ArgumentsHost, Catch, Logger, type ExceptionFilter } from '@nestjs/common';
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

/** Maps OAuthError and PresentationError to the OAuth error shape; anything else is left to the problem filter's shape. */
@Catch()
export class OAuthErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('verifier');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (reply.sent) return;
    let status = 500;
    let body: Record<string, string> = { error: 'server_error', error_description: 'an internal error occurred' };
    if (exception instanceof OAuthError) {
      status = exception.status;
      body = { error: exception.error, error_description: exception.description };
    } else if (exception instanceof PresentationError) {
      status = 400;
      body = { error: oauthErrorFor(exception.code), error_description: exception.message, reason: exception.code };
    } else if (typeof exception === 'object' && exception !== null && 'statusCode' in exception && typeof exception.statusCode === 'number' && exception.statusCode < 500) {
      status = exception.statusCode;
      body = { error: 'invalid_request', error_description: exception instanceof Error ? exception.message.slice(0, 300) : 'invalid request' };
    } else {
      this.logger.error({ msg: 'verifier endpoint failed', err: exception instanceof Error ? { type: exception.name, message: exception.message, stack: exception.stack } : String(exception) });
    }
    void reply.status(status).header('cache-control', 'no-store').send(body);
  }
}
