import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer, Reflector } from '@nestjs/core';
import { createCache } from '@wallet/cache';
import { loadConfig } from '@wallet/config';
import { createServiceApp, ensureDefaultTenant, routeProtection, WEBSOCKET_ENDPOINT, type RouteProtection, type Runtime } from '@wallet/platform';
import { createStore } from '@wallet/persistence';
import pino from 'pino';
import { ALL_IN_ONE_SERVERS } from './servers';

/**
 * Every route of every app is guarded (access token or admin token) or
 * explicitly `@Public()`. The public ones are listed here, so making a route
 * public is a visible change; every other route is called without credentials
 * and must answer 401.
 */
const PUBLIC_ROUTES: Record<string, string[]> = {
  wallet: [
    // The landing page: what runs on this port, with links (no secrets).
    'GET /',
    'GET /health/live',
    'GET /health/ready',
    'GET /metrics',
    'GET /auth/.well-known/jwks.json',
    'POST /user/register-webauthn-begin',
    'POST /user/register-webauthn-finish',
    'POST /user/login-webauthn-begin',
    'POST /user/login-webauthn-finish',
    'POST /user/register',
    'POST /user/login',
    'POST /auth/token/refresh',
    // Public tenant configuration for front ends (no secrets).
    'GET /tenant/:id/config',
    'GET /issuer/all',
    'GET /verifier/all',
    // Registry reads (wallet-facing, no secrets); its writes are admin-only.
    'GET /registry/type-metadata',
    'GET /registry/issuer-metadata',
    // The services' OpenAPI documents (public descriptions of public APIs; also in docs/api/).
    'GET /auth/openapi.json',
    'GET /storage/openapi.json',
    'GET /registry/openapi.json',
  ],
  admin: ['GET /', 'GET /health/live', 'GET /health/ready', 'GET /metrics', 'GET /admin/status'],
  // The verifier's users are browsers, wallets and relying-party back ends, none with our access tokens:
  // its flows are protected by unguessable session ids, nonces, single-use codes and PKCE.
  verifier: [
    'GET /',
    'GET /health/live',
    'GET /health/ready',
    'GET /metrics',
    'GET /.well-known/jwks',
    'GET /api/v1/loginQR',
    'GET /api/v2/loginQR',
    'GET /api/v1/qr',
    'GET /api/v1/startsiop',
    'GET /api/v1/samedevice',
    'GET /api/v1/authorization',
    'GET /api/v1/sessions/:id/status',
    'GET /api/v1/sessions/:id/events',
    'GET /api/v1/request/:id',
    'POST /api/v1/request/:id',
    'GET /api/v1/authentication_response',
    'POST /api/v1/authentication_response',
    'POST /token',
    'POST /services/:serviceId/token',
    'POST /services/:serviceId/nonce',
    'GET /services/:serviceId/.well-known/openid-configuration',
    // The default service's discovery document.
    'GET /.well-known/openid-configuration',
    // The verifier's OpenAPI document.
    'GET /openapi.json',
  ],
};

/** WebSocket gateways authenticate their connections themselves; each is listed with how. */
const GATEWAYS: Record<string, string> = {
  '/api/v2/wallet': 'engine: the first frame is a handshake whose access token is verified like the HTTP guard does; nothing else is served before it, and the connection closes without one',
};

interface WalkedRoute {
  method: string;
  path: string;
  protection: RouteProtection;
}

function joinPath(...parts: string[]): string {
  const joined = parts
    .flatMap((p) => p.split('/'))
    .filter(Boolean)
    .join('/');
  return `/${joined}`;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
function routesOf(controller: Function, reflector: Reflector): WalkedRoute[] {
  const out: WalkedRoute[] = [];
  const base = [Reflect.getMetadata(PATH_METADATA, controller) as string | string[] | undefined].flat().filter((p) => p !== undefined);
  const prototype = controller.prototype as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(prototype)) {
    const handler = prototype[name];
    if (name === 'constructor' || typeof handler !== 'function') continue;
    const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
    const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
    if (paths === undefined || method === undefined) continue;
    for (const prefix of base.length ? base : ['']) {
      for (const path of [paths].flat()) {
        out.push({
          method: method === RequestMethod.ALL ? 'GET' : RequestMethod[method],
          path: joinPath(prefix ?? '', path),
          protection: routeProtection(reflector, handler as never, controller),
        });
      }
    }
  }
  return out;
}

describe.each(ALL_IN_ONE_SERVERS.map((spec) => [spec.info.name, spec] as const))('every route of the %s server', (name, spec) => {
  let runtime: Runtime;
  let server: Awaited<ReturnType<typeof createServiceApp>>;
  let routes: WalkedRoute[];
  let gateways: string[];

  beforeAll(async () => {
    const config = loadConfig({
      argv: [],
      env: { WALLET_STORAGE_TYPE: 'memory', WALLET_SERVER_HOST: '127.0.0.1', WALLET_LOGGING_LEVEL: 'silent' },
    }).config;
    const store = await createStore({ type: 'memory' });
    await ensureDefaultTenant(store);
    runtime = { config, store, cache: await createCache({ type: 'memory' }), logger: pino({ level: 'silent' }) };
    server = await createServiceApp({ ...spec, runtime, port: 0 });
    const reflector = server.app.get(Reflector);
    routes = [];
    gateways = [];
    for (const module of server.app.get(ModulesContainer).values()) {
      for (const wrapper of module.controllers.values()) {
        // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
        if (wrapper.metatype) routes.push(...routesOf(wrapper.metatype as Function, reflector));
      }
      for (const wrapper of module.providers.values()) {
        const metatype = wrapper.metatype as object | null;
        if (metatype && Reflect.getMetadata('websockets:is_gateway', metatype)) {
          const options = Reflect.getMetadata('websockets:gateway_options', metatype) as { path?: string } | undefined;
          gateways.push(options?.path ?? '/');
        }
        const endpoint = metatype ? (Reflect.getMetadata(WEBSOCKET_ENDPOINT, metatype) as string | undefined) : undefined;
        if (endpoint) gateways.push(endpoint);
      }
    }
  });
  afterAll(async () => {
    await server.close();
    await runtime.store.close();
    await runtime.cache.close();
  });

  it('finds the routes (the walk itself works)', () => {
    expect(routes.length).toBeGreaterThanOrEqual(PUBLIC_ROUTES[name]!.length);
    if (name === 'wallet') expect(routes.filter((r) => r.protection.kind === 'token').length).toBeGreaterThanOrEqual(9);
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(expect.arrayContaining(['GET /health/live']));
  });

  it('has exactly the listed public routes', () => {
    const pub = routes.filter((r) => r.protection.kind === 'public').map((r) => `${r.method} ${r.path}`);
    expect(pub.sort()).toEqual([...PUBLIC_ROUTES[name]!].sort());
  });

  it('answers 401 to every other route called without credentials', async () => {
    const failures: string[] = [];
    for (const route of routes.filter((r) => r.protection.kind !== 'public')) {
      const url = `${server.url}${route.path.replace(/:[^/]+/g, 'x')}`;
      const hasBody = !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(route.method);
      const response = await fetch(url, {
        method: route.method,
        ...(hasBody ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}),
      });
      const body = route.method === 'HEAD' ? null : ((await response.json()) as { code?: string });
      if (response.status !== 401) failures.push(`${route.method} ${route.path} (${route.protection.kind}) answered ${response.status}`);
      if (route.protection.kind === 'token' && body?.code !== 'token_required') failures.push(`${route.method} ${route.path}: ${body?.code}`);
    }
    expect(failures).toEqual([]);
  });

  it('lists how each WebSocket gateway authenticates', () => {
    if (name === 'wallet') expect(gateways).toContain('/api/v2/wallet');
    for (const path of gateways) expect(GATEWAYS).toHaveProperty([path]);
  });
});
