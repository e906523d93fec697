import { parse as parseForm } from 'fast-querystring';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AccessLog } from '../logging/request-logging';
import { requestIdFor } from '../logging/request-logging';
import type { HttpMetrics } from '../metrics/metrics';

/** What a lean route answers: a JSON body with its status, and any extra headers. */
export interface LeanResponse {
  status: number;
  body: unknown;
  headers?: Readonly<Record<string, string>>;
}

/**
 * A route served straight from Node's HTTP server, ahead of Fastify and Nest,
 * for the few public machine-to-machine endpoints whose rate is a product
 * target (the wallet's `direct_post` response to the verifier). It must also
 * exist as a regular controller route with the same behaviour: every request
 * the lean path does not fully understand goes there instead.
 */
export interface LeanRoute {
  method: 'POST';
  /** The exact path (no tenant prefix, no query string). */
  path: string;
  /** The only media type the lean path reads (its parameters, such as charset, may vary). */
  contentType: 'application/x-www-form-urlencoded';
  /** Gets the form fields parsed as the regular route parses them; must not throw. */
  handle(fields: Record<string, unknown>): Promise<LeanResponse>;
}

/** The lean routes of one HTTP server; feature modules add theirs at module init. */
export class LeanRoutes {
  private readonly routes = new Map<string, LeanRoute>();

  add(route: LeanRoute): void {
    const key = `${route.method} ${route.path}`;
    if (this.routes.has(key)) throw new Error(`lean route ${key} is already registered`);
    this.routes.set(key, route);
  }

  match(method: string | undefined, url: string | undefined): LeanRoute | undefined {
    return this.routes.size === 0 ? undefined : this.routes.get(`${method} ${url}`);
  }
}

export interface LeanRouteServerOptions {
  bodyLimitBytes: number;
  /** With CORS configured, browser requests (with an Origin) take the regular path, which answers CORS. */
  cors: boolean;
  /** Bodies are logged only by the regular path (a debugging mode). */
  logBodies: boolean;
  /** While the server shuts down, the regular path answers (503 and `connection: close`). */
  closing: () => boolean;
  access: AccessLog;
  metrics: HttpMetrics | null;
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

function mediaType(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const end = header.indexOf(';');
  return (end < 0 ? header : header.slice(0, end)).trim().toLowerCase();
}

/**
 * Puts the lean routes in front of the server's request listeners (Fastify's).
 * A request takes the lean path only when it is plain: a registered method and
 * path, the route's media type, a `content-length` within the body limit, no
 * transfer encoding, no CORS origin, the server not closing. Everything else,
 * every error the regular pipeline would answer (413, 415, 503, ...) included,
 * goes on to Fastify untouched. The lean path keeps the platform's request id,
 * access log line and metrics, the same as the regular path writes.
 */
export function installLeanRoutes(server: Server, routes: LeanRoutes, options: LeanRouteServerOptions): void {
  const regular = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  const fallThrough: RequestListener = (req, res) => {
    for (const listener of regular) listener.call(server, req, res);
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const route = routes.match(req.method, req.url);
    if (!route) return fallThrough(req, res);
    const length = Number(req.headers['content-length']);
    const plain =
      !options.closing() &&
      !options.logBodies &&
      !(options.cors && req.headers.origin !== undefined) &&
      req.headers['transfer-encoding'] === undefined &&
      Number.isInteger(length) &&
      length >= 0 &&
      length <= options.bodyLimitBytes &&
      mediaType(req.headers['content-type']) === route.contentType;
    if (!plain) return fallThrough(req, res);
    serveLean(route, req, res, options);
  });
}

function serveLean(route: LeanRoute, req: IncomingMessage, res: ServerResponse, options: LeanRouteServerOptions): void {
  const started = process.hrtime.bigint();
  const reqId = requestIdFor(req.headers);
  const chunks: Buffer[] = [];
  // Node's parser stops the body at content-length, which is within the limit.
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  // A client that goes away mid-body: nothing to answer, nothing to log.
  req.on('error', () => undefined);
  req.on('end', () => {
    const fields = parseForm(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    route.handle(fields).then(
      (response) => send(response),
      () => send({ status: 500, body: { error: 'server_error', error_description: 'an internal error occurred' } }),
    );
  });
  const send = (response: LeanResponse) => {
    const text = JSON.stringify(response.body);
    if (!res.headersSent && !res.destroyed) {
      res.writeHead(response.status, {
        ...response.headers,
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(text),
        'x-request-id': reqId,
      });
      res.end(text);
    }
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    options.access.write({ reqId, method: route.method, url: route.path, route: route.path, headers: req.headers, statusCode: response.status, elapsedMs });
    options.metrics?.observe(route.method, route.path, response.status, elapsedMs / 1000);
  };
}
