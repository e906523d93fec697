import { UniqueViolationError, WalletError } from '@wallet/domain';
import type { Page } from '@wallet/persistence';
import { randomBytes } from 'node:crypto';
import type { ListQueryDto } from './admin-params.dto';

/**
 * Small pure helpers every admin context uses: pages in the API's shape,
 * generated ids, plain-words duplicate errors, the store's metadata.
 */

/** A page of records in the API's shape. */
export interface Listing<T> {
  items: T[];
  next_cursor: string | null;
}

/** The paging part of a list query. */
export type ListQuery = Pick<ListQueryDto, 'limit' | 'cursor'>;

export function listing<T, V>(page: Page<T>, view: (item: T) => V): Listing<V> {
  return { items: page.items.map(view), next_cursor: page.nextCursor };
}

/** A record id for a create that named none. */
export const newId = (): string => randomBytes(12).toString('base64url');

const apiFieldName = (field: string): string => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * A create refused for a duplicate, in plain words ("tenant acme already
 * exists", "issuer pid already exists in tenant acme") instead of the store's
 * ("a tenants record with the same id already exists").
 */
export async function uniquely<T>(write: Promise<T>, what: string, id: string, tenant?: string): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (!(error instanceof UniqueViolationError)) throw error;
    const where = tenant === undefined ? '' : ` in tenant ${tenant}`;
    const message =
      error.fields.length === 1 && error.fields[0] === 'id'
        ? `${what} ${id} already exists${where}`
        : `${what === 'issuer' ? 'an' : 'a'} ${what} with the same ${error.fields.map(apiFieldName).join(', ')} already exists${where}`;
    throw new WalletError('already_exists', message, { cause: error, ...(error.details !== undefined ? { details: error.details } : {}) });
  }
}

/** The entity without the store's metadata, ready for `update`. */
export function stripMeta<T extends object>(stored: T & { tenantId: string; version: number; createdAt: string; updatedAt: string }): T {
  const { tenantId: _t, version: _v, createdAt: _c, updatedAt: _u, ...rest } = stored;
  return rest as unknown as T;
}

/** The store's metadata in the API's shape, part of every record's answer. */
export const recordMeta = (value: { version: number; createdAt: string; updatedAt: string }) => ({
  version: value.version,
  created_at: value.createdAt,
  updated_at: value.updatedAt,
});
