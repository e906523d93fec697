import type { Store } from '../ports';
import type { VaultLimits } from './vault-ports';

const BATCH = 1000;

/** What the sweep reads from the configuration (the `vault` section of the wallet config). */
export interface VaultTombstonesJobConfig {
  vault: Partial<VaultLimits> & { tombstoneRetentionMs: number };
}

/**
 * What a job runner passes to a run (the `JobContext` of `@wallet/platform`);
 * the sweep reads only `now` and `signal`.
 */
export interface VaultTombstonesJobContext {
  readonly name?: string;
  readonly fence?: number;
  readonly now: Date;
  readonly signal: AbortSignal;
}

/** The sweep's report: how many tombstones went, and the cut-off time. */
export type VaultTombstonesResult = { removed: number; before: string };

/**
 * The `vault-tombstones` job: purges tombstones older than
 * `vault.tombstoneRetentionMs`, in batches, until none is left or the run is
 * asked to stop. Devices whose sync cursor predates a purged tombstone are
 * told to resync (`sync_cursor_expired`).
 *
 * The vault's retention rule, in the shape of a job handler (`JobHandler` in
 * `@wallet/platform`); the admin service schedules it.
 */
export function vaultTombstonesJob(
  store: Store,
  config: VaultTombstonesJobConfig,
): (context: VaultTombstonesJobContext) => Promise<VaultTombstonesResult> {
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
