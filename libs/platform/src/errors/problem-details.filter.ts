import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import { isWalletError } from '@wallet/domain';
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, problem, problemFromWalletError, type ProblemDocument } from './problem';

/**
 * The HTTP transport's one exception filter: every error becomes an RFC 9457
 * problem document. Typed domain errors map by code; framework HTTP errors keep
 * their status; anything else is a 500 with a correlation id and no stack trace
 * (the stack goes to the log only).
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const body = { ...this.toProblem(exception, request), instance: request.url.split('?')[0], correlationId: request.id };
    if (reply.sent) return;
    void reply.status(body.status).header('content-type', PROBLEM_CONTENT_TYPE).send(body);
  }

  private toProblem(exception: unknown, request: FastifyRequest): ProblemDocument {
    if (isWalletError(exception)) {
      if (exception.code === 'internal' || exception.code === 'unavailable') {
        this.logger.error({ msg: exception.message, code: exception.code, reqId: request.id, err: describe(exception) });
      } else if (exception.code === 'bad_gateway') {
        // Upstream trouble an operator may need to see; the message names hosts, never URLs or content.
        this.logger.warn({ msg: exception.message, code: exception.code, reqId: request.id, details: exception.details });
      }
      return problemFromWalletError(exception);
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const detail =
        typeof response === 'string'
          ? response
          : typeof response === 'object' && response !== null && 'message' in response
            ? [response.message].flat().join('; ')
            : exception.message;
      const custom = typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {};
      // Nest's unknown-route message repeats the URL: keep its query string out (it may carry a
      // token sent there by mistake) and cap its length.
      const text = String(detail).replace(/^(Cannot [A-Z]+ [^?\s]*)\?\S*/, '$1').slice(0, 500);
      const doc = problem(status, STATUS_CODES[status] ?? 'Error', text);
      return typeof custom['code'] === 'string' ? { ...doc, code: custom['code'], type: doc.type.replace(/[^/]+$/, custom['code']) } : doc;
    }
    // Fastify's own errors (malformed JSON, body too large, bad content type) carry a statusCode.
    const fastifyStatus = statusOf(exception);
    if (fastifyStatus !== null && fastifyStatus >= 400 && fastifyStatus < 500) {
      return problem(fastifyStatus, STATUS_CODES[fastifyStatus] ?? 'Bad Request', safeMessage(exception));
    }
    this.logger.error({ msg: 'unhandled error', reqId: request.id, err: describe(exception) });
    return problem(500, 'Internal Server Error', 'An internal error occurred. Quote the correlation id when reporting it.', 'internal');
  }
}

function statusOf(error: unknown): number | null {
  if (typeof error === 'object' && error !== null && 'statusCode' in error && typeof error.statusCode === 'number') {
    return error.statusCode;
  }
  return null;
}

function safeMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : 'invalid request';
  // Fastify messages name the problem, not the content; still cap them.
  return message.slice(0, 300);
}

function describe(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { type: error.name, message: error.message, stack: error.stack };
  return { type: typeof error };
}
