import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { routeProtection } from '@wallet/platform';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JwksController } from './jwks.controller';
import { SessionController } from './session.controller';
import { TokenController } from './token.controller';
import { UserAuthController } from './user-auth.controller';

const doc = JSON.parse(readFileSync(join(__dirname, '../../../../docs/api/auth.openapi.json'), 'utf8')) as {
  openapi: string;
  paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
};

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
function routes(controllers: Function[]): string[] {
  const out: string[] = [];
  for (const controller of controllers) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const prototype = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const handler = prototype[name];
      if (typeof handler !== 'function') continue;
      const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (path === undefined || method === undefined) continue;
      const full = `/${[base, path].flatMap((p) => p.split('/')).filter(Boolean).join('/')}`.replace(/:([^/]+)/g, '{$1}');
      const open = routeProtection(new Reflector(), handler as never, controller).kind === 'public';
      out.push(`${RequestMethod[method].toLowerCase()} ${full} ${open ? 'public' : 'bearer'}`);
    }
  }
  return out.sort();
}

/**
 * The auth service's other routes, from modules outside this library: the platform's (landing
 * page, health, metrics), the public tenant configuration (libs/public-config) and the document itself.
 */
const OTHER_AUTH_ROUTES = [
  'get / public',
  'get /health/live public',
  'get /health/ready public',
  'get /metrics public',
  'get /tenant/{id}/config public',
  'get /issuer/all public',
  'get /verifier/all public',
  'get /auth/openapi.json public',
];

describe('docs/api/auth.openapi.json', () => {
  it('documents exactly the routes the auth controllers serve, public exactly where @Public', () => {
    const served = [...routes([JwksController, UserAuthController, SessionController, TokenController]), ...OTHER_AUTH_ROUTES].sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) =>
        Object.entries(ops).map(([method, op]) => `${method} ${path} ${op.security?.length === 0 ? 'public' : 'bearer'}`),
      )
      .sort();
    expect(documented).toEqual(served);
  });

  it('is OpenAPI 3.1, with a 2xx/4xx answer and a security declaration on every operation', () => {
    expect(doc.openapi).toBe('3.1.0');
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect({ op: `${method} ${path}`, hasSecurity: Array.isArray(op.security) }).toEqual({ op: `${method} ${path}`, hasSecurity: true });
        expect(Object.keys(op.responses).some((code) => /^[24]\d\d$/.test(code))).toBe(true);
      }
    }
  });
});
