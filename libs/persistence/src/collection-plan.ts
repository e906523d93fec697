import { GLOBAL_SCOPE, pointerSegment, TENANT_ID_SOURCE, ValidationError, zodValidationError } from '@wallet/domain';
import type { z } from 'zod';
import type { CollectionSpec, FieldValue, Filter, ListOptions } from './ports';

/**
 * Rules every driver shares: names, scopes, ids, filters, cursors and value
 * validation live here so that the drivers cannot drift apart. The drivers get
 * values that are already checked and only store and find them.
 */

/** Field names that may reach a query (and, in SQLite, a JSON path literal). */
export const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const COLLECTION_NAME = /^[a-z][a-z0-9_]{0,62}$/;
/** A tenant id (see `zTenantId`) or a reserved scope starting with `_` (`GLOBAL_SCOPE`). */
const SCOPE = new RegExp(`^(?:${TENANT_ID_SOURCE}|_[a-z0-9_-]{1,62})$`);
/**
 * Ids are printable ASCII without spaces, so that every driver orders them the
 * same way (byte order) and they fit in keys and cursors. `zRecordId` and
 * `zTenantId` are both narrower than this.
 */
const RECORD_ID = /^[\x21-\x7e]{1,200}$/;
const CURSOR = /^[A-Za-z0-9_-]{1,300}$/;
const META_KEYS = ['tenantId', 'version', 'createdAt', 'updatedAt'] as const;

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** Equality conditions, sorted by field name; `value` is never undefined. */
export type NormalizedFilter = ReadonlyArray<readonly [field: string, value: FieldValue]>;

/** What a driver needs to know about a collection, computed once per spec. */
export interface CollectionPlan {
  readonly name: string;
  readonly global: boolean;
  readonly shape: Readonly<Record<string, z.ZodType>> | null;
  readonly indexes: ReadonlyArray<PlannedIndex>;
  readonly indexedFields: ReadonlySet<string>;
}

export interface PlannedIndex {
  /** Driver-neutral index name: `u__handle`, `i__userId`, `u__userId__credentialIdentifier`. */
  readonly name: string;
  readonly fields: readonly string[];
  readonly unique: boolean;
}

const plans = new WeakMap<CollectionSpec<{ id: string }>, CollectionPlan>();

/**
 * Checks a spec and derives its plan. A bad spec is a programming error, so
 * this throws a plain `Error` at `repository()` time, before any data moves.
 */
export function planCollection<T extends { id: string }>(spec: CollectionSpec<T>): CollectionPlan {
  const key = spec as unknown as CollectionSpec<{ id: string }>;
  const cached = plans.get(key);
  if (cached) return cached;
  if (!COLLECTION_NAME.test(spec.name) || spec.name.startsWith('sqlite_') || spec.name.endsWith('__claims')) {
    throw new Error(
      `collection name "${spec.name}" must be 1-63 lowercase letters, digits or underscores, start with a letter, ` +
        'not start with "sqlite_" and not end with "__claims"',
    );
  }
  const shape = shapeOf(spec.schema);
  const indexes: PlannedIndex[] = [];
  const indexedFields = new Set<string>();
  for (const index of spec.indexes) {
    if (index.fields.length === 0) throw new Error(`collection ${spec.name}: an index needs at least one field`);
    for (const field of index.fields) {
      if (!FIELD_NAME.test(field)) throw new Error(`collection ${spec.name}: bad index field name "${field}"`);
      if (shape && !(field in shape)) throw new Error(`collection ${spec.name}: index field "${field}" is not in the schema`);
      // SQL unique indexes accept many NULLs, MongoDB accepts one: requiring the
      // value keeps all drivers in agreement.
      if (index.unique && shape && (accepts(shape[field], null) || accepts(shape[field], undefined))) {
        throw new Error(`collection ${spec.name}: unique index field "${field}" must be required and not nullable`);
      }
      indexedFields.add(field);
    }
    const name = `${index.unique ? 'u' : 'i'}__${index.fields.join('__')}`;
    if (indexes.some((other) => other.name === name)) throw new Error(`collection ${spec.name}: duplicate index ${name}`);
    indexes.push({ name, fields: [...index.fields], unique: index.unique === true });
  }
  const plan: CollectionPlan = { name: spec.name, global: spec.global === true, shape, indexes, indexedFields };
  plans.set(key, plan);
  return plan;
}

function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | null {
  const shape = (schema as { shape?: unknown }).shape;
  return shape !== null && typeof shape === 'object' ? (shape as Record<string, z.ZodType>) : null;
}

function accepts(schema: z.ZodType | undefined, value: unknown): boolean {
  return schema !== undefined && schema.safeParse(value).success;
}

export function invalid(message: string, path: string, issue = message): ValidationError {
  return new ValidationError(message, [{ path, message: issue }]);
}

export function checkScope(plan: CollectionPlan, scope: string): void {
  if (typeof scope !== 'string' || !SCOPE.test(scope)) {
    throw invalid('invalid scope', '/scope', 'must be a tenant id or a reserved scope');
  }
  if (plan.global && scope !== GLOBAL_SCOPE) {
    throw invalid(`${plan.name} records live in the global scope`, '/scope', `must be ${GLOBAL_SCOPE}`);
  }
}

/** False for ids no record can have; reads treat them as "not found". */
export function isStorableId(id: unknown): id is string {
  return typeof id === 'string' && RECORD_ID.test(id);
}

export interface PreparedValue {
  id: string;
  /** The validated value as JSON: what the drivers store. */
  json: string;
}

/**
 * Validates a value with the spec's schema and returns it as JSON. Store
 * metadata (`tenantId`, `version`, ...) in the input is ignored, so a value
 * read from the store can be passed back to `update`. Unknown keys are
 * dropped unless the schema keeps them.
 */
export function prepareValue<T extends { id: string }>(spec: CollectionSpec<T>, plan: CollectionPlan, value: T): PreparedValue {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(`invalid ${plan.name} record`, '', 'must be an object');
  }
  const input: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const key of META_KEYS) delete input[key];
  const parsed = spec.schema.safeParse(input);
  if (!parsed.success) {
    throw zodValidationError(`invalid ${plan.name} record`, parsed.error);
  }
  const data = parsed.data as Record<string, unknown>;
  if (!isStorableId(data['id'])) {
    throw invalid(`invalid ${plan.name} record`, '/id', 'must be 1-200 printable ASCII characters without spaces');
  }
  for (const field of plan.indexedFields) {
    const fieldValue = data[field];
    if (fieldValue !== undefined && !isFieldValue(fieldValue)) {
      throw invalid(`invalid ${plan.name} record`, `/${field}`, 'an indexed field must be a string, number, boolean or null');
    }
  }
  checkKeys(plan.name, data, '');
  return { id: data['id'] as string, json: JSON.stringify(data) };
}

/**
 * MongoDB-compatible servers reject keys containing `.` or starting with `$`
 * (FerretDB rejects them on insert); refusing them everywhere keeps the
 * drivers identical.
 */
function checkKeys(collection: string, value: unknown, path: string): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkKeys(collection, value[i], `${path}/${i}`);
    return;
  }
  for (const key of Object.keys(value)) {
    const child = `${path}/${pointerSegment(key)}`;
    if (key.includes('.') || key.startsWith('$') || key.includes('\u0000')) {
      throw invalid(`invalid ${collection} record`, child, 'object keys must not contain "." or NUL or start with "$"');
    }
    checkKeys(collection, (value as Record<string, unknown>)[key], child);
  }
}

function isFieldValue(value: unknown): value is FieldValue {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/**
 * Checks a `where` filter. Returns `null` when no stored record can match
 * (the value fails the field's own schema, e.g. `null` for a required field):
 * answering "nothing" there, in shared code, keeps drivers identical where
 * their native equality would differ (MongoDB matches a scalar against array
 * elements, SQL does not).
 */
export function normalizeFilter<T>(plan: CollectionPlan, where: Filter<T> | undefined): NormalizedFilter | null {
  if (where === undefined || where === null) return [];
  if (typeof where !== 'object' || Array.isArray(where)) throw invalid('invalid filter', '/where', 'must be an object');
  const conditions: Array<readonly [string, FieldValue]> = [];
  let impossible = false;
  for (const field of Object.keys(where).sort()) {
    const value = (where as Record<string, unknown>)[field];
    if (value === undefined) continue;
    const path = `/where/${pointerSegment(field.slice(0, 64))}`;
    if (!FIELD_NAME.test(field) || (plan.shape !== null && !Object.prototype.hasOwnProperty.call(plan.shape, field))) {
      throw invalid(`invalid filter on ${plan.name}`, path, 'unknown field');
    }
    if (!isFieldValue(value)) throw invalid(`invalid filter on ${plan.name}`, path, 'must be a string, number, boolean or null');
    if (plan.shape !== null && !accepts(plan.shape[field], value)) impossible = true;
    conditions.push([field, value]);
  }
  if (conditions.length > 20) throw invalid(`invalid filter on ${plan.name}`, '/where', 'at most 20 fields');
  return impossible ? null : conditions;
}

export interface PageRequest {
  /** List ids strictly greater than this; '' for the first page. */
  afterId: string;
  limit: number;
}

export function normalizePage<T>(options: ListOptions<T> | undefined): PageRequest {
  const limit = options?.limit ?? DEFAULT_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw invalid('invalid limit', '/limit', `must be an integer from 1 to ${MAX_LIMIT}`);
  }
  const cursor = options?.cursor;
  if (cursor === undefined || cursor === null) return { afterId: '', limit };
  return { afterId: decodeCursor(cursor), limit };
}

export function encodeCursor(id: string): string {
  return Buffer.from(id, 'latin1').toString('base64url');
}

function decodeCursor(cursor: unknown): string {
  if (typeof cursor === 'string' && CURSOR.test(cursor)) {
    const id = Buffer.from(cursor, 'base64url').toString('latin1');
    if (RECORD_ID.test(id) && encodeCursor(id) === cursor) return id;
  }
  throw invalid('invalid cursor', '/cursor', 'not a cursor returned by this list');
}
