import { WalletError } from '@wallet/domain';
import type { Cache, SetOptions } from './ports';

/**
 * Reads a JSON value and passes it through `parse` (e.g. a zod schema's
 * `parse`), so what comes out of the cache is checked like any other input.
 * Null when the key is absent.
 */
export async function getJson<T>(cache: Cache, key: string, parse: (value: unknown) => T): Promise<T | null> {
  const raw = await cache.get(key);
  if (raw === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new WalletError('internal', 'a cached value is not valid JSON', { cause: error });
  }
  return parse(value);
}

/** Stores `value` as JSON. */
export async function setJson(
  cache: Cache,
  key: string,
  value: unknown,
  options?: SetOptions,
): Promise<void> {
  const raw = JSON.stringify(value);
  if (raw === undefined) {
    throw new WalletError('internal', 'the value cannot be stored as JSON');
  }
  await cache.set(key, raw, options);
}
