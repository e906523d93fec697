import { RequestMethod, type Type } from '@nestjs/common';
import { GUARDS_METADATA, METHOD_METADATA, MODULE_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { z } from 'zod';
import { AdminTokenGuard } from '@wallet/platform';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AdminFeatureModule } from './admin-feature.module';
import { ADMIN_OPENAPI_PATH, ADMIN_OPERATIONS, buildAdminOpenApi, pathParamSchema, pathParams } from './admin-openapi';
import { ZodPipe } from './parse-input';

interface RouteArgument {
  kind: 'body' | 'query' | 'param' | 'other';
  /** The parameter name of `@Param(name)`. */
  name?: string;
  /** The schema of the argument's `ZodPipe`, or null when it has none. */
  schema: z.ZodType | null;
}

interface RegisteredRoute {
  method: string;
  /** OpenAPI style: `{param}`. */
  path: string;
  guarded: boolean;
  args: RouteArgument[];
}

/** The arguments a handler takes from the request, with the schema each is validated with. */
function routeArguments(controller: Type<unknown>, name: string): RouteArgument[] {
  const meta = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ?? {}) as Record<string, { data?: unknown; pipes?: unknown[] }>;
  return Object.entries(meta).map(([key, value]) => {
    const type = Number(key.split(':')[0]);
    const pipe = (value.pipes ?? []).find((p): p is ZodPipe<z.ZodType> => p instanceof ZodPipe);
    const kind = type === RouteParamtypes.BODY ? 'body' : type === RouteParamtypes.QUERY ? 'query' : type === RouteParamtypes.PARAM ? 'param' : 'other';
    return { kind, ...(typeof value.data === 'string' ? { name: value.data } : {}), schema: pipe?.schema ?? null };
  });
}

const join2 = (...parts: string[]) => `/${parts.flatMap((p) => p.split('/')).filter(Boolean).join('/')}`;

/** Every route the admin module registers, read from the Nest metadata of its controllers. */
function registeredRoutes(): RegisteredRoute[] {
  const controllers = (Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, AdminFeatureModule) ?? []) as Array<Type<unknown>>;
  const routes: RegisteredRoute[] = [];
  for (const controller of controllers) {
    const base = [Reflect.getMetadata(PATH_METADATA, controller) as string | string[]].flat();
    const classGuards = (Reflect.getMetadata(GUARDS_METADATA, controller) ?? []) as unknown[];
    const proto = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const handler = proto[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (method === undefined) continue;
      const guards = [...classGuards, ...((Reflect.getMetadata(GUARDS_METADATA, handler) ?? []) as unknown[])];
      for (const prefix of base) {
        for (const sub of [Reflect.getMetadata(PATH_METADATA, handler) as string | string[]].flat()) {
          routes.push({
            method: RequestMethod[method].toLowerCase(),
            path: join2(prefix, sub).replace(/:([A-Za-z0-9_]+)/g, '{$1}'),
            guarded: guards.includes(AdminTokenGuard),
            args: routeArguments(controller, name),
          });
        }
      }
    }
  }
  return routes;
}

describe('admin OpenAPI document', () => {
  const doc = buildAdminOpenApi() as { openapi: string; paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }> }>> };
  const routes = registeredRoutes();

  it('is OpenAPI 3.1', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(routes.length).toBeGreaterThan(20);
  });

  it('describes every registered route, with the same method, path and path parameters, and nothing else', () => {
    const key = (r: { method: string; path: string }) => `${r.method.toUpperCase()} ${r.path}`;
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => ({ method, path })));
    expect(documented.map(key).sort()).toEqual(routes.map(key).sort());
    for (const route of routes) {
      const op = doc.paths[route.path]?.[route.method];
      const params = (op?.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      expect({ route: key(route), params }).toEqual({ route: key(route), params: pathParams(route.path) });
    }
  });

  it('validates every body, query and path parameter with exactly the schema the document was built from', () => {
    for (const route of routes) {
      const op = ADMIN_OPERATIONS.find((o) => o.method === route.method && o.path === route.path);
      const where = `${route.method} ${route.path}`;
      const body = route.args.filter((a) => a.kind === 'body');
      const query = route.args.filter((a) => a.kind === 'query');
      const params = route.args.filter((a) => a.kind === 'param');
      expect({ where, body: body.map((a) => a.schema === op?.body) }).toEqual({ where, body: op?.body ? [true] : [] });
      expect({ where, query: query.map((a) => a.schema === op?.query) }).toEqual({ where, query: op?.query ? [true] : [] });
      expect({ where, params: params.map((a) => a.name).sort() }).toEqual({ where, params: pathParams(route.path).sort() });
      for (const param of params) {
        expect({ where, param: param.name, same: param.schema === pathParamSchema(route.path, param.name ?? '') }).toEqual({ where, param: param.name, same: true });
      }
    }
  });

  it('guards every route with the admin token except the status route', () => {
    const unguarded = routes.filter((r) => !r.guarded).map((r) => `${r.method} ${r.path}`);
    expect(unguarded).toEqual(['get /admin/status']);
    expect(ADMIN_OPERATIONS.filter((op) => op.public).map((op) => op.path)).toEqual(['/admin/status']);
  });

  it('matches the committed copy (regenerate: node tools/scripts/run-ts.mjs tools/docs/generate-admin-openapi.ts)', () => {
    const committed = readFileSync(join(resolve(__dirname, '../../../..'), ADMIN_OPENAPI_PATH), 'utf8');
    expect(JSON.parse(committed)).toEqual(doc);
  });
});
