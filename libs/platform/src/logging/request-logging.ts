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

/** What one access-log line says about a request. */
export interface AccessEntry {
  reqId: string;
  method: string;
  /** The URL as requested; only its path is logged (the query may carry codes). */
  url: string;
  route: string | null;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  statusCode: number;
  elapsedMs: number;
  body?: unknown;
}

export interface AccessLog {
  write(entry: AccessEntry): void;
}

/**
 * The access log of one server. The line is built here with the credentials
 * already replaced, so it skips the root logger's path redaction (which costs
 * more than the line itself).
 */
export function createAccessLog(logger: Pino): AccessLog {
  const access = logger.child({}, { redact: { paths: [], censor: REDACTED } });
  return {
    write(entry) {
      const line: Record<string, unknown> = {
        reqId: entry.reqId,
        req: {
          method: entry.method,
          path: entry.url.split('?')[0],
          route: entry.route,
          headers: {
            'user-agent': entry.headers['user-agent'],
            authorization: entry.headers['authorization'] === undefined ? undefined : REDACTED,
          },
        },
        res: { statusCode: entry.statusCode },
        responseTimeMs: Math.round(entry.elapsedMs * 100) / 100,
      };
      if (entry.body !== undefined) line['body'] = entry.body;
      const level = entry.statusCode >= 500 ? 'error' : 'info';
      access[level](line, 'request completed');
    },
  };
}

/**
 * One access-log line per request: method, path (never the query string, which
 * may carry codes), route, status, duration, request id, user agent; an
 * `authorization` header shows as redacted and cookies not at all (see
 * `createAccessLog`). Bodies are logged only when asked and never for
 * sensitive routes.
 */
export function installRequestLogging(fastify: FastifyInstance, access: AccessLog, options: RequestLoggingOptions): void {
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  fastify.addHook('onResponse', async (request, reply) => {
    access.write({
      reqId: request.id,
      method: request.method,
      url: request.url,
      route: request.routeOptions.url ?? null,
      headers: request.headers,
      statusCode: reply.statusCode,
      elapsedMs: reply.elapsedTime,
      ...(options.logBodies && request.body !== undefined ? { body: bodyForLog(request) } : {}),
    });
  });
}

function bodyForLog(request: FastifyRequest): unknown {
  const config = request.routeOptions.config as WalletRouteConfig | undefined;
  if (config?.sensitive) return REDACTED;
  const text = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
  return text.length > BODY_LOG_LIMIT ? `${text.slice(0, BODY_LOG_LIMIT)}…` : text;
}
