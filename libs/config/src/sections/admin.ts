import { z } from 'zod';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

const zInterval = (ms: number, description: string) =>
  z.number().int().min(100).max(30 * 24 * HOUR_MS).default(ms).meta({ description });

/** The admin service: its background jobs (see docs/admin.md). */
export const zAdminSection = z
  .strictObject({
    jobs: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .meta({
            description:
              'Run the background cleanup jobs in this admin process. With several replicas sharing a Redis cache each job still runs once per period cluster-wide.',
          }),
        lockTtlMs: z
          .number()
          .int()
          .min(1_000)
          .max(24 * HOUR_MS)
          .default(5 * MINUTE_MS)
          .meta({
            description:
              'How long one job run may hold its cluster-wide lock. A run still going then is told to stop, and a crashed holder\'s lock is taken over after this time.',
          }),
        invitesCleanupIntervalMs: zInterval(HOUR_MS, 'How often expired and revoked invites are deleted.'),
        refreshTokensCleanupIntervalMs: zInterval(
          HOUR_MS,
          'How often expired refresh tokens are deleted (rotated ones stay until they expire, for reuse detection).',
        ),
        vaultTombstonesIntervalMs: zInterval(6 * HOUR_MS, 'How often the vault tombstone sweep runs.'),
        trustRefreshIntervalMs: zInterval(15 * MINUTE_MS, 'How often the trust refresh job runs (re-asks the PDP for cached decisions about to expire).'),
      })
      .prefault({})
      .meta({ description: 'Background jobs run by the admin service.' }),
  })
  .prefault({})
  .meta({ description: 'The admin service.' });
