import { DEFAULT_TENANT_ID, ValidationError, zTenantId } from '@wallet/domain';

/**
 * The tenant a public request names: the `{tenant}` of a `/t/{tenant}/...`
 * path, else the `X-Tenant-ID` header, else `default`. A malformed id is a 400.
 *
 * Stop-gap until platform tenant resolution lands (auth helper): swap this one
 * function for it.
 */
export function resolveRequestTenant(request: { url: string; headers: Record<string, string | string[] | undefined> }): string {
  const fromPath = /^\/t\/([^/?#]*)/.exec(request.url)?.[1];
  const header = request.headers['x-tenant-id'];
  const raw = fromPath !== undefined ? decodeURIComponent(fromPath) : typeof header === 'string' ? header.trim() : DEFAULT_TENANT_ID;
  if (Array.isArray(header) && fromPath === undefined) {
    throw new ValidationError('invalid tenant', [{ path: '/headers/x-tenant-id', message: 'must be given once' }]);
  }
  const parsed = zTenantId.safeParse(raw);
  if (!parsed.success) {
    throw new ValidationError('invalid tenant id', [
      { path: fromPath !== undefined ? '/path/tenant' : '/headers/x-tenant-id', message: 'must be 1-63 lowercase letters, digits or inner hyphens' },
    ]);
  }
  return parsed.data;
}
