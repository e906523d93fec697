import type { WalletConfig } from '@wallet/config';
import { vaultTombstonesJob, type Store } from '@wallet/persistence';
import { JOB_SLOTS, type JobDefinition } from '@wallet/platform';
import { cleanupInvites, cleanupRefreshTokens } from './cleanup-jobs';

/**
 * The admin service's jobs. WebAuthn challenges and other short-lived flow
 * state live in the cache with a TTL, so expiry removes them: there is no
 * challenge job. The vault tombstone sweep runs on the store like the others;
 * the trust refresh is a slot the admin service fills with its trust evaluator
 * (`setHandler`), or other code with `registerJobHandler`.
 */
export function adminJobs(store: Store, config: WalletConfig): JobDefinition[] {
  const jobs = config.admin.jobs;
  return [
    { name: 'invites-cleanup', intervalMs: jobs.invitesCleanupIntervalMs, handler: (ctx) => cleanupInvites(store, ctx) },
    {
      name: 'refresh-tokens-cleanup',
      intervalMs: jobs.refreshTokensCleanupIntervalMs,
      handler: (ctx) => cleanupRefreshTokens(store, ctx),
    },
    { name: JOB_SLOTS.vaultTombstones, intervalMs: jobs.vaultTombstonesIntervalMs, handler: vaultTombstonesJob(store, config) },
    { name: JOB_SLOTS.trustRefresh, intervalMs: jobs.trustRefreshIntervalMs },
  ];
}
