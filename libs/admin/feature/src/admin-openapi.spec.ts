import { RequestMethod, type Type } from '@nestjs/common';
import { GUARDS_METADATA, METHOD_METADATA, MODULE_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { AdminTokenGuard } from '@wallet/platform';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AdminFeatureModule } from './admin-feature.module';
import { ADMIN_OPENAPI_PATH, ADMIN_OPERATIONS, buildAdminOpenApi, pathParams } from './admin-openapi';

interface RegisteredRoute {
  method: string;
  /** OpenAPI style: `{param}`. */
  path: string;
  guarded: boolean;
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
