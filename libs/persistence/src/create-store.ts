import { ValidationError } from '@wallet/domain';
import { MemoryStore } from './drivers/memory-store';
import type { Store, StoreDeps, StoreOptions } from './ports';

/**
 * Opens a store. The SQLite and MongoDB drivers are loaded on demand, so a
 * process pays the start-up cost (and needs the package) only of the driver it
 * uses.
 *
 * - `memory`: in-process, for tests; nothing is kept.
 * - `sqlite`: one file, WAL; acknowledged writes survive a process crash (and a
 *   power loss with `synchronous: 'full'`). Rejects with
 *   `UnavailableError` when the file cannot be opened.
 * - `mongodb`: connects and pings before resolving; rejects with
 *   `UnavailableError` when the server cannot be reached. Errors never echo
 *   the URI (it may hold credentials).
 */
export async function createStore(options: StoreOptions, deps: StoreDeps = {}): Promise<Store> {
  switch (options.type) {
    case 'memory':
      return new MemoryStore(deps);
    case 'sqlite': {
      const { SqliteStore } = await import('./drivers/sqlite-store');
      return SqliteStore.open(options, deps);
    }
    case 'mongodb': {
      const { MongoStore } = await import('./drivers/mongodb-store');
      return MongoStore.open(options, deps);
    }
    default: {
      const unknown: never = options;
      throw new ValidationError('unknown store type', [
        { path: '/type', message: `must be memory, sqlite or mongodb, not ${String((unknown as { type?: unknown }).type)}` },
      ]);
    }
  }
}
