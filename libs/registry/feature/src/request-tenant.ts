import { DEFAULT_TENANT_ID, zTenantId } from '@wallet/domain';
import { ValidationError } from '@wallet/domain';

/**
 * The caller's tenant: the `X-Tenant-ID` header, else `default`. A stand-in
 * until platform tenant resolution lands (it will replace this one function).
 */
export function requestTenantId(request: { headers: Record<string, string | string[] | undefined> }): string {
  const header = request.headers['x-tenant-id'];
  if (header === undefined) return DEFAULT_TENANT_ID;
  const parsed = zTenantId.safeParse(header);
  if (!parsed.success) {
    throw new ValidationError('X-Tenant-ID is not a valid tenant id', [{ path: '/headers/x-tenant-id', message: 'invalid tenant id' }]);
  }
  return parsed.data;
}
