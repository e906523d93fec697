import { join } from 'node:path';
import type { WalletConfig } from './config.schema';

/** The SQLite file to open: `storage.sqlite.path`, or `<dataDir>/wallet.db` when unset. */
export function resolveSqlitePath(config: Pick<WalletConfig, 'dataDir' | 'storage'>): string {
  return config.storage.sqlite.path ?? join(config.dataDir, 'wallet.db');
}
