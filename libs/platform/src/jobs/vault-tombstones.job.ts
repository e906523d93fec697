import type { WalletConfig } from '@wallet/config';
import type { Store } from '@wallet/persistence';
import type { JobHandler } from './job-runner';

const BATCH = 1000;

/**
 * The `vault-tombstones` job: purges tombstones older than
 * `vault.tombstoneRetentionMs`, in batches, until none is left or the run is
 * asked to stop. Devices whose sync cursor predates a purged tombstone are
 * told to resync (`sync_cursor_expired`).
 */
export function vaultTombstonesJob(store: Store, config: WalletConfig): JobHandler {
  return async ({ now, signal }) => {
    const vault = store.vault(config.vault);
    const before = new Date(now.getTime() - config.vault.tombstoneRetentionMs).toISOString();
    let removed = 0;
    for (;;) {
      const batch = await vault.purgeTombstones(before, BATCH);
      removed += batch;
      if (batch < BATCH || signal.aborted) break;
    }
    return { removed, before };
  };
}
