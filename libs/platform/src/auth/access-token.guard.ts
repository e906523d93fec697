import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { RefusalError, ValidationError } from '@wallet/domain';
import type { FastifyRequest } from 'fastify';
import { AdminTokenGuard, bearerToken } from '../admin/admin-token';
import { requestedTenant } from '../tenancy/tenant-path';
import { TenantDirectory } from '../tenancy/tenant-directory';
import { AccessTokenVerifier } from './access-token-verifier';
import { PUBLIC_ROUTE, type PublicRouteMeta } from './public.decorator';
import { setRequestAuthContext } from './request-context';

/** Query parameters that would carry a bearer token; refused on every route (RFC 6750 §2.3 is not supported). */
const QUERY_TOKEN_PARAMS = ['access_token', 'bearer_token'];

/**
 * How a route is protected, from its metadata: `public` (`@Public()`), `admin`
 * (`@UseGuards(AdminTokenGuard)` on the route or controller) or `token` (the
 * default: a valid access token).
 */
export type RouteProtection = { kind: 'public'; tenant: boolean } | { kind: 'admin' } | { kind: 'token' };

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export function routeProtection(reflector: Reflector, handler: Function, controller: Function): RouteProtection {
  const pub = reflector.getAllAndOverride<PublicRouteMeta | undefined, string>(PUBLIC_ROUTE, [handler, controller]);
  if (pub) return { kind: 'public', tenant: pub.tenant };
  const guards = [
    ...((Reflect.getMetadata(GUARDS_METADATA, handler) as unknown[] | undefined) ?? []),
    ...((Reflect.getMetadata(GUARDS_METADATA, controller) as unknown[] | undefined) ?? []),
  ];
  if (guards.includes(AdminTokenGuard)) return { kind: 'admin' };
  return { kind: 'token' };
}

/**
 * The global guard of every service. Resolves the request's tenant and, unless
 * the route is `@Public()` or guarded by the admin token, requires a valid
 * access token:
 *
 * - before login the tenant comes from `/t/{tenant}/...` or `X-Tenant-ID`
 *   (default `default`); after login from the token. A token for one tenant
 *   sent to a path or header naming another is refused with 403
 *   `tenant_mismatch` (checked before the named tenant is looked up, so the
 *   answer says nothing about whether it exists);
 * - an unknown or disabled tenant is a 404;
 * - bearer tokens in the query string are refused (400) on every route.
 */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tenants: TenantDirectory,
    @Inject(AccessTokenVerifier) private readonly verifier: AccessTokenVerifier,
  ) {}

  /** Route metadata does not change after start: read it once per handler and controller. */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  private readonly protections = new WeakMap<Function, WeakMap<Function, RouteProtection>>();

  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  private protectionOf(handler: Function, controller: Function): RouteProtection {
    let byController = this.protections.get(handler);
    if (!byController) this.protections.set(handler, (byController = new WeakMap()));
    let protection = byController.get(controller);
    if (!protection) byController.set(controller, (protection = routeProtection(this.reflector, handler, controller)));
    return protection;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const protection = this.protectionOf(context.getHandler(), context.getClass());
    // Gateways authenticate their connections themselves; their handlers are open only when public.
    if (context.getType() !== 'http') return protection.kind === 'public';
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    refuseQueryTokens(request.query);
    switch (protection.kind) {
      case 'admin':
        return true;
      case 'public': {
        if (!protection.tenant) {
          setRequestAuthContext(request, { tenantId: null, tenantSource: null, principal: null });
          return true;
        }
        const named = requestedTenant(request);
        await this.tenants.requireEnabled(named.tenantId);
        setRequestAuthContext(request, { tenantId: named.tenantId, tenantSource: named.source, principal: null });
        return true;
      }
      case 'token': {
        const token = bearerToken(request.headers.authorization);
        if (!token) throw new RefusalError('unauthorized', 'token_required', 'an access token is required (Authorization: Bearer)');
        const principal = await this.verifier.verify(token);
        const named = requestedTenant(request);
        if (named.source !== 'default' && named.tenantId !== principal.tenantId) {
          throw new RefusalError('forbidden', 'tenant_mismatch', 'the access token belongs to another tenant than the request names');
        }
        await this.tenants.requireEnabled(principal.tenantId);
        setRequestAuthContext(request, { tenantId: principal.tenantId, tenantSource: 'token', principal });
        return true;
      }
      default: {
        const unhandled: never = protection;
        throw new Error(`unknown route protection ${JSON.stringify(unhandled)}`);
      }
    }
  }
}

function refuseQueryTokens(query: unknown): void {
  if (!query || typeof query !== 'object') return;
  for (const key of Object.keys(query)) {
    if (QUERY_TOKEN_PARAMS.includes(key.toLowerCase())) {
      throw new ValidationError('bearer tokens are not accepted in the query string; send them in the Authorization header', [
        { path: `/query/${key}`, message: 'not accepted' },
      ]);
    }
  }
}
