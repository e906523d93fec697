import { Module, type DynamicModule, type ForwardReference, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { WsAdapter } from '@nestjs/platform-ws';
import { SwaggerModule } from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ProblemDetailsFilter } from '../errors/problem-details.filter';
import { PROBLEM_CONTENT_TYPE, problem } from '../errors/problem';
import { WalletValidationPipe } from '../validation/validation.pipe';
import { NestPinoLogger } from '../logging/logger';
import { createAccessLog, installRequestLogging, requestIdFor } from '../logging/request-logging';
import { installLeanRoutes, LeanRoutes } from '../lean-routes/lean-routes';
import { installBoundedJsonParser } from './json-body';
import { HttpMetrics } from '../metrics/metrics';
import { PlatformModule } from '../platform.module';
import { buildServiceApiDocument } from '../openapi/api-document';
import { apiDocumentModules, ApiDocuments } from '../openapi/api-documents';
import { SERVICE_API_DOCUMENTS } from '../openapi/service-api';
import { rewriteTenantUrl } from '../tenancy/tenant-path';
import type { ServiceInfo } from '../tokens';
import type { Runtime } from './runtime';

type ModuleImport = Type<unknown> | DynamicModule | Promise<DynamicModule> | ForwardReference;

export interface ServiceAppOptions {
  info: ServiceInfo;
  /** The feature modules this HTTP server serves. */
  imports: ModuleImport[];
  runtime: Runtime;
  port: number;
  host?: string;
  /** Serve WebSocket gateways (the engine) on the same port. */
  websockets?: boolean;
}

export interface RunningService {
  readonly info: ServiceInfo;
  readonly app: NestFastifyApplication;
  /** Base URL to reach it from this machine, e.g. http://127.0.0.1:3001 */
  readonly url: string;
  /** Where it really listens, e.g. `0.0.0.0:8080` (every interface) or `127.0.0.1:8081` (loopback only). */
  readonly address: string;
  readonly port: number;
  /** The OpenAPI documents of the services this server runs (served at each service's path, see `SERVICE_API_DOCUMENTS`). */
  readonly apiDocuments: ApiDocuments;
  /** Stops accepting connections and waits for in-flight requests. */
  close(): Promise<void>;
}

/**
 * Builds and starts one HTTP server: Fastify under Nest, with the platform
 * module (health, metrics), request ids, access logs, problem+json errors and
 * the given feature modules. Store and cache come from the runtime and are not
 * closed here, because several servers may share them.
 */
export async function createServiceApp(options: ServiceAppOptions): Promise<RunningService> {
  const { runtime, info } = options;
  const { config } = runtime;
  const logger = runtime.logger.child({ server: info.name });
  const metrics = new HttpMetrics({ server: info.name });
  const leanRoutes = new LeanRoutes();
  const apiDocuments = new ApiDocuments();
  const documentModules = apiDocumentModules(info.services, apiDocuments);

  @Module({})
  class ServiceRootModule {}
  const root: DynamicModule = {
    module: ServiceRootModule,
    imports: [
      PlatformModule.forRoot({ config, store: runtime.store, cache: runtime.cache, metrics, info, leanRoutes }),
      ...options.imports,
      ...documentModules.values(),
    ],
  };

  const adapter = new FastifyAdapter({
    logger: false,
    bodyLimit: config.server.bodyLimitBytes,
    // A list trusts `X-Forwarded-*` only from those proxies (proxy-addr semantics); `true` from any peer.
    trustProxy: config.server.trustedProxies.length > 0 ? [...config.server.trustedProxies] : config.server.trustProxy,
    genReqId: (req: { headers: Record<string, unknown> }) => requestIdFor(req.headers),
    return503OnClosing: true,
    // `/t/{tenant}/...` reaches the same routes as `/...`; the guard reads the tenant back.
    rewriteUrl: rewriteTenantUrl,
    // A path Fastify cannot decode (`%ZZ`, an overlong UTF-8 escape) is refused before routing, out of
    // reach of the exception filter; answer it with the same problem document as every other 400.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
      const path = request.raw.url?.split('?')[0] ?? '';
      // 414: a path parameter longer than Fastify's maxParamLength; otherwise a URL that does not decode.
      const detail = status === 414 ? 'a path segment is longer than this server accepts' : 'the URL is not valid (a percent-escape that does not decode)';
      void reply
        .status(status)
        .header('content-type', PROBLEM_CONTENT_TYPE)
        .send({ ...problem(status, STATUS_CODES[status] ?? 'Bad Request', detail), instance: path.slice(0, 300), correlationId: request.id });
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(root, adapter, {
    // Nest installs this as its process-wide static logger (services' `new Logger(context)`),
    // so it must not carry this server's name: the last server started would label every line.
    logger: new NestPinoLogger(runtime.logger),
    abortOnError: false,
  });
  app.useGlobalFilters(new ProblemDetailsFilter());
  // DTO-typed route arguments are validated; failures are `validation_failed` problem documents.
  app.useGlobalPipes(new WalletValidationPipe());
  if (options.websockets) app.useWebSocketAdapter(new WsAdapter(app));
  for (const service of info.services) {
    const own = documentModules.get(service);
    const { document, undocumented } = buildServiceApiDocument(app, service, own ? [own] : []);
    apiDocuments.set(service, document, undocumented);
    const uiPath = SERVICE_API_DOCUMENTS[service].uiPath;
    // Swagger UI for people trying the API out; never in production.
    if (config.mode === 'development' && uiPath) {
      SwaggerModule.setup(uiPath, app, document, { raw: false, customSiteTitle: document.info.title, swaggerOptions: { persistAuthorization: false } });
    }
  }
  // Browser front ends on other origins; none are allowed unless configured.
  if (config.server.corsOrigins.length > 0) {
    app.enableCors({
      origin: [...config.server.corsOrigins],
      exposedHeaders: ['etag', 'x-request-id', 'x-registry-cache', 'x-private-data-etag', 'retry-after'],
      maxAge: 600,
    });
  }

  const fastify = app.getHttpAdapter().getInstance();
  let closing = false;
  fastify.addHook('onSend', async (_request, reply) => {
    if (closing) void reply.header('connection', 'close');
  });
  const access = createAccessLog(logger);
  installRequestLogging(fastify, access, { logBodies: config.logging.logBodies });
  if (config.metrics.enabled) metrics.install(fastify);
  installLeanRoutes(app.getHttpServer(), leanRoutes, {
    bodyLimitBytes: config.server.bodyLimitBytes,
    cors: config.server.corsOrigins.length > 0,
    logBodies: config.logging.logBodies,
    closing: () => closing,
    access,
    metrics: config.metrics.enabled ? metrics : null,
  });
  // Nest registers its JSON parser at init; ours (Fastify's, behind a count of values) replaces it.
  await app.init();
  installBoundedJsonParser(fastify);
  await app.listen({ port: options.port, host: options.host ?? config.server.host });
  const bound = app.getHttpServer().address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  const everywhere = host === '0.0.0.0' || host === '[::]';
  const url = `http://${everywhere ? '127.0.0.1' : host}:${bound.port}`;
  const address = `${host}:${bound.port}`;
  logger.info({ address, reachableFrom: reachableFrom(bound.address), url, services: info.services }, 'listening');
  return {
    info,
    app,
    url,
    address,
    port: bound.port,
    apiDocuments,
    close: async () => {
      closing = true;
      // Node closes idle keep-alive sockets only when close() starts; sockets of
      // requests still in flight become idle later and would hold the server open.
      const httpServer = app.getHttpServer() as import('node:http').Server;
      const sweep = setInterval(() => httpServer.closeIdleConnections(), 50);
      try {
        await app.close();
      } finally {
        clearInterval(sweep);
      }
    },
  };
}

/** Who can connect to a server bound to `address`, in words for the start log. */
export function reachableFrom(address: string): string {
  if (address === '0.0.0.0' || address === '::') return 'every interface (other machines too)';
  if (address === '::1' || address.startsWith('127.') || address === 'localhost') return 'this machine only (loopback)';
  return `the interface with address ${address}`;
}
