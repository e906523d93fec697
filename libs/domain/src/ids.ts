import { z } from 'zod';

/**
 * The tenant id's shape without anchors, for patterns that embed a tenant id
 * (a URL path, a refresh token): `new RegExp(\`^/t/(${TENANT_ID_SOURCE})/\`)`.
 */
export const TENANT_ID_SOURCE = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';

/** A whole tenant id: 1-63 lowercase letters, digits or inner hyphens (RFC 1123 label). */
export const TENANT_ID_PATTERN = new RegExp(`^${TENANT_ID_SOURCE}$`);

/** What a tenant id must be, for validation messages. */
export const TENANT_ID_RULE = 'must be 1-63 lowercase letters, digits or inner hyphens';

/**
 * Tenant ids appear in URLs (`/t/{tenant}/...`), cache keys and store keys, so
 * they are short lowercase slugs. Ids starting with `_` are reserved for the
 * store's own scopes (see `GLOBAL_SCOPE`).
 */
export const zTenantId = z.string().regex(TENANT_ID_PATTERN, TENANT_ID_RULE);
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
