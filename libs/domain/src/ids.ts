import { z } from 'zod';

/**
 * Tenant ids appear in URLs (`/t/{tenant}/...`), cache keys and store keys, so
 * they are short lowercase slugs. Ids starting with `_` are reserved for the
 * store's own scopes (see `GLOBAL_SCOPE`).
 */
export const zTenantId = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'must be 1-63 lowercase letters, digits or inner hyphens');
export type TenantId = z.infer<typeof zTenantId>;

/** The scope under which records that belong to no tenant (tenants, service keys) are stored. */
export const GLOBAL_SCOPE = '_global';

export const DEFAULT_TENANT_ID = 'default';

/** Record ids: printable, no slashes or control characters, at most 200 characters. */
export const zRecordId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._~:@+=-]+$/, 'must use only letters, digits and . _ ~ : @ + = -');
