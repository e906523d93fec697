import { z } from 'zod';

/**
 * The `vault` section: limits of the encrypted credential vault (storage
 * service). Conventions as in config.schema.ts. The defaults match
 * `DEFAULT_VAULT_LIMITS` in @wallet/persistence.
 */

const zLimit = (value: number, max: number, description: string) =>
  z.number().int().min(1).max(max).default(value).meta({ description });

const MIB = 1024 * 1024;

export const zVaultSection = z
  .strictObject({
    maxBlobBytes: zLimit(256 * 1024, 16 * MIB, 'Largest encrypted record (decoded blob), in bytes. Larger records get 413.'),
    maxRecordsPerUser: zLimit(10_000, 10_000_000, 'Most live records one user may keep. Past it, creates and imports get 413.'),
    maxBytesPerUser: zLimit(
      64 * MIB,
      1024 * 1024 * MIB,
      'Most bytes (blobs, ids, categories and tags) one user may keep. Past it, writes and imports get 413.',
    ),
    maxTagsPerRecord: zLimit(32, 1000, 'Most tags on one record.'),
    maxTagNameLength: zLimit(256, 4096, 'Longest tag name, in characters (a blinded name is about 1.4 times its plaintext plus 38).'),
    maxTagValueLength: zLimit(1024, 65_536, 'Longest tag value, in characters.'),
    maxCategoryLength: zLimit(256, 4096, 'Longest record category, in characters.'),
    maxQueryDepth: zLimit(8, 32, 'Deepest nesting of a WQL query ($and/$or/$not).'),
    maxQueryClauses: zLimit(64, 1000, 'Most conditions in one WQL query (every $in value and $exist name counts).'),
    tombstoneRetentionMs: zLimit(
      90 * 24 * 60 * 60 * 1000,
      10 * 365 * 24 * 60 * 60 * 1000,
      'How long a deleted record leaves a tombstone for sync (default 90 days). A device whose sync cursor is older than a purged tombstone gets 412 `sync_cursor_expired` and syncs again from the start. The admin job `vault-tombstones` purges them.',
    ),
    maxArchiveBytes: zLimit(
      128 * MIB,
      1024 * 1024 * MIB,
      'Largest export archive accepted by import, in bytes (the request body limit for import only).',
    ),
  })
  .prefault({})
  .meta({ description: 'Limits of the encrypted credential vault (storage service).' });

export type VaultSection = z.infer<typeof zVaultSection>;
