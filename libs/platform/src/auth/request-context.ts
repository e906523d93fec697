import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { WalletError } from '@wallet/domain';
import type { TenantSource } from '../tenancy/tenant-path';

/** Who made an authenticated request, from the verified access token. */
export interface Principal {
  tenantId: string;
  userId: string;
  /** The token's `jti`, e.g. to revoke it on logout. */
  jti: string;
  /** Space-separated OAuth scopes, when the token carries any. */
  scope?: string;
  /** The session (refresh-token family) the token belongs to, when it has one. */
  sid?: string;
  /** The token's `exp`, seconds since the epoch. */
  expiresAt: number;
}

/** What the guards established about a request. */
export interface RequestAuthContext {
  /** Null only on tenant-agnostic public routes. */
  tenantId: string | null;
  tenantSource: TenantSource | null;
  principal: Principal | null;
}

const contexts = new WeakMap<object, RequestAuthContext>();

export function setRequestAuthContext(request: object, context: RequestAuthContext): void {
  contexts.set(request, context);
}

/** The context the `AccessTokenGuard` attached to a request, or null (tenant-agnostic routes, other guards). */
export function requestAuthContext(request: object): RequestAuthContext | null {
  return contexts.get(request) ?? null;
}

/**
 * The verified caller of a protected route: `{tenantId, userId, jti, scope?}`.
 * On a `@Public()` route it is null (use `@CurrentTenant()` there).
 */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal | null => {
  return requestAuthContext(ctx.switchToHttp().getRequest<object>())?.principal ?? null;
});

/**
 * The tenant id of the request: the token's tenant after login, else the one
 * named by the path or `X-Tenant-ID` (default `default`). Throws on
 * tenant-agnostic routes, where asking for it is a programming error.
 */
export const CurrentTenant = createParamDecorator((_data: unknown, ctx: ExecutionContext): string => {
  const tenantId = requestAuthContext(ctx.switchToHttp().getRequest<object>())?.tenantId;
  if (!tenantId) throw new WalletError('internal', 'this route was declared without a tenant');
  return tenantId;
});
