/**
 * A small key-value port: where the client keeps `state` → flow for the
 * authorization redirect, which must survive the page navigating away (pass
 * `sessionStorage` in a browser).
 */

/** Key-value storage, synchronous or not. */
export interface KeyValueStorage {
  get(key: string): string | null | undefined | Promise<string | null | undefined>;
  set(key: string, value: string): void | Promise<void>;
  remove(key: string): void | Promise<void>;
}

/** The Web Storage API (`sessionStorage`, `localStorage`). */
export interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** A storage that lives as long as the object: the default. */
export function memoryStorage(): KeyValueStorage {
  const values = new Map<string, string>();
  return {
    get: (key) => values.get(key),
    set: (key, value) => void values.set(key, value),
    remove: (key) => void values.delete(key),
  };
}

/** Either shape as a {@link KeyValueStorage}. */
export function toKeyValueStorage(storage: KeyValueStorage | WebStorageLike): KeyValueStorage {
  if ('getItem' in storage) {
    return {
      get: (key) => storage.getItem(key),
      set: (key, value) => storage.setItem(key, value),
      remove: (key) => storage.removeItem(key),
    };
  }
  return storage;
}
