import { DEFAULT_TENANT_ID, RefusalError, TENANT_ID_PATTERN, ValidationError } from '@wallet/domain';

const TENANT_PREFIX = /^\/t\/([^/?#]*)(\/[^?#]*)?(\?.*)?$/s;

/** Where the tenant a request named came from. */
export type TenantSource = 'path' | 'header' | 'default' | 'token';

/** The header that names a tenant when the path does not. */
export const TENANT_HEADER = 'x-tenant-id';

const pathTenants = new WeakMap<object, string>();

/**
 * Fastify's `rewriteUrl`: strips a `/t/{tenant}` prefix so that every route is
 * declared once, and remembers the tenant on the raw request. A prefix whose
 * tenant is not a well-formed id is left alone, so it falls through to a 404.
 */
export function rewriteTenantUrl(request: { url?: string | undefined }): string {
  const url = request.url ?? '/';
  const match = TENANT_PREFIX.exec(url);
  if (!match) return url;
  const tenant = match[1] ?? '';
  if (!TENANT_ID_PATTERN.test(tenant)) return url;
  pathTenants.set(request, tenant);
  return `${match[2] || '/'}${match[3] ?? ''}`;
}

/** The raw (Node) request of a Fastify request, where `rewriteTenantUrl` left its mark. */
interface RequestLike {
  raw?: object;
  headers: Record<string, string | string[] | undefined>;
}

export interface RequestedTenant {
  tenantId: string;
  source: Exclude<TenantSource, 'token'>;
}

/**
 * The tenant a request names before login: the `/t/{tenant}` path prefix, else
 * the `X-Tenant-ID` header, else `default`. When both name one they must agree.
 * Throws `ValidationError` (400) for a malformed header.
 */
export function requestedTenant(request: RequestLike): RequestedTenant {
  const fromPath = request.raw ? pathTenants.get(request.raw) : undefined;
  const header = request.headers[TENANT_HEADER];
  let fromHeader: string | undefined;
  if (header !== undefined) {
    if (typeof header !== 'string' || !TENANT_ID_PATTERN.test(header)) {
      throw new ValidationError('the X-Tenant-ID header must be one tenant id (1-63 lowercase letters, digits or inner hyphens)', [
        { path: '/headers/x-tenant-id', message: 'malformed tenant id' },
      ]);
    }
    fromHeader = header;
  }
  if (fromPath !== undefined && fromHeader !== undefined && fromPath !== fromHeader) {
    throw new RefusalError('forbidden', 'tenant_mismatch', 'the tenant in the path and the X-Tenant-ID header differ');
  }
  if (fromPath !== undefined) return { tenantId: fromPath, source: 'path' };
  if (fromHeader !== undefined) return { tenantId: fromHeader, source: 'header' };
  return { tenantId: DEFAULT_TENANT_ID, source: 'default' };
}
