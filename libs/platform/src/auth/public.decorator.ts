import { SetMetadata } from '@nestjs/common';

export const PUBLIC_ROUTE = 'wallet:public-route';

export interface PublicOptions {
  /**
   * `true` (default): the route serves a tenant named by the `/t/{tenant}` path
   * prefix or the `X-Tenant-ID` header (else `default`), which must exist and
   * be enabled. `false`: the route belongs to no tenant (health, metrics,
   * JWKS) and tenant names in the request are ignored.
   */
  tenant?: boolean;
}

/** What `@Public()` records on a route or controller. */
export interface PublicRouteMeta {
  tenant: boolean;
}

/**
 * Marks a route (or every route of a controller) as reachable without an
 * access token. Everything else requires one: the `AccessTokenGuard` is global.
 * A test walks every route of every app and checks this.
 */
export function Public(options: PublicOptions = {}): MethodDecorator & ClassDecorator {
  return SetMetadata<string, PublicRouteMeta>(PUBLIC_ROUTE, { tenant: options.tenant ?? true });
}
