import { REDACTED } from '@wallet/config';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger as Pino } from 'pino';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Uses the caller's `x-request-id` when it is well formed, else a new UUID. */
export function requestIdFor(headers: Record<string, unknown>): string {
  const given = headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Route options a controller can set with `@RouteConfig({ sensitive: true })`. */
export interface WalletRouteConfig {
  /** The body carries secrets (keystore blobs, ceremony responses): never logged. */
  sensitive?: boolean;
}

export interface RequestLoggingOptions {
  /** Log request bodies (truncated) of routes not marked sensitive. Off by default. */
  logBodies: boolean;
}

const BODY_LOG_LIMIT = 2048;

/**
 * One access-log line per request: method, path (never the query string, which
 * may carry codes), route, status, duration, request id. Authorization and
 * cookie headers are redacted by the logger; bodies are logged only when asked
 * and never for sensitive routes.
 */
export function installRequestLogging(fastify: FastifyInstance, logger: Pino, options: RequestLoggingOptions): void {
  // The access line is built here with the credentials already replaced, so it
  // skips the root logger's path redaction (which costs more than the line itself).
  const access = logger.child({}, { redact: { paths: [], censor: REDACTED } });
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const line: Record<string, unknown> = {
      reqId: request.id,
      req: {
        method: request.method,
        path: request.url.split('?')[0],
        route: request.routeOptions.url ?? null,
        headers: {
          'user-agent': request.headers['user-agent'],
          authorization: request.headers.authorization === undefined ? undefined : REDACTED,
        },
      },
      res: { statusCode: reply.statusCode },
      responseTimeMs: Math.round(reply.elapsedTime * 100) / 100,
    };
    if (options.logBodies && request.body !== undefined) line['body'] = bodyForLog(request);
    const level = reply.statusCode >= 500 ? 'error' : 'info';
    access[level](line, 'request completed');
  });
}

function bodyForLog(request: FastifyRequest): unknown {
  const config = request.routeOptions.config as WalletRouteConfig | undefined;
  if (config?.sensitive) return REDACTED;
  const text = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
  return text.length > BODY_LOG_LIMIT ? `${text.slice(0, BODY_LOG_LIMIT)}…` : text;
}
