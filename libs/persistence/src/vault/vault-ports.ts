import type { WqlNode } from '@wallet/wql';
import type { Page } from '../ports';

/**
 * The encrypted credential vault's store. Records belong to one user of one
 * tenant (`VaultOwner`); nothing in this port can reach another owner's
 * records. The server never sees plaintext: `blob` is client ciphertext
 * (base64url) and tags are blinded by the client, except tags whose name
 * starts with `~`.
 */
export interface VaultOwner {
  tenantId: string;
  userId: string;
}

/** What a client sends. */
export interface VaultRecordInput {
  /** 1-200 printable ASCII characters without spaces (a client-side ciphertext fits). */
  id: string;
  category: string;
  /** base64url (no padding) of the ciphertext. */
  blob: string;
  tags: Record<string, string>;
}

/** A live record. */
export interface VaultRecord extends VaultRecordInput {
  /** 1 on create, +1 on every replace. A record re-created after a delete continues from its tombstone. */
  version: number;
  /** ISO 8601. */
  updatedAt: string;
}

/** One entry of the sync feed: a record at its latest state, or its tombstone. */
export type VaultChange =
  | (VaultRecord & { deleted: false; seq: number })
  | { id: string; category: string; deleted: true; version: number; updatedAt: string; seq: number };

export interface VaultChanges {
  /** Ordered by `seq`; every record appears at most once, at its latest state. */
  changes: VaultChange[];
  /** Pass as `since` next time; equals the input when nothing changed. */
  cursor: string;
  /** More changes are waiting: ask again with `cursor` right away. */
  hasMore: boolean;
}

export interface VaultUsage {
  records: number;
  /** Stored bytes: decoded blob, id, category and tags. */
  bytes: number;
}

/** Limits the store enforces (see the `vault` config section). */
export interface VaultLimits {
  /** Largest decoded blob (bytes). */
  maxBlobBytes: number;
  maxRecordsPerUser: number;
  maxBytesPerUser: number;
  maxTagsPerRecord: number;
  maxTagNameLength: number;
  maxTagValueLength: number;
  maxCategoryLength: number;
  /** WQL: nesting depth and number of conditions of a query. */
  maxQueryDepth: number;
  maxQueryClauses: number;
}

export const DEFAULT_VAULT_LIMITS: Readonly<VaultLimits> = Object.freeze({
  maxBlobBytes: 256 * 1024,
  maxRecordsPerUser: 10_000,
  maxBytesPerUser: 64 * 1024 * 1024,
  maxTagsPerRecord: 32,
  maxTagNameLength: 256,
  maxTagValueLength: 1024,
  maxCategoryLength: 256,
  maxQueryDepth: 8,
  maxQueryClauses: 64,
});

export interface VaultListOptions {
  /** Only records of this (blinded) category. */
  category?: string;
  /** 1..1000, default 100. */
  limit?: number;
  cursor?: string;
}

export interface VaultStore {
  readonly limits: Readonly<VaultLimits>;
  /** The live record, or null (missing or deleted). */
  get(owner: VaultOwner, id: string): Promise<VaultRecord | null>;
  /**
   * Throws `UniqueViolationError` when a live record has the id,
   * `LimitExceededError` past a limit, `ValidationError` on bad input.
   */
  create(owner: VaultOwner, input: VaultRecordInput): Promise<VaultRecord>;
  /**
   * Compare-and-set: replaces the record only while it is at `expectedVersion`
   * (`VersionConflictError` with the current version otherwise, `NotFoundError`
   * when it is missing or deleted).
   */
  replace(owner: VaultOwner, input: VaultRecordInput, expectedVersion: number): Promise<VaultRecord>;
  /** Leaves a tombstone for sync. With `expectedVersion`, compare-and-set as `replace`. */
  delete(owner: VaultOwner, id: string, expectedVersion?: number): Promise<void>;
  /** Live records ordered by id. */
  list(owner: VaultOwner, options?: VaultListOptions): Promise<Page<VaultRecord>>;
  /** Live records matching a parsed WQL query, ordered by id; evaluated in the database. */
  query(owner: VaultOwner, query: WqlNode, options?: VaultListOptions): Promise<Page<VaultRecord>>;
  /**
   * Changes and deletions after `since` (null: from the beginning), in write
   * order. Throws `RefusalError` `sync_cursor_expired` (412) when tombstones
   * the cursor still needs were purged: the device must resync from null.
   */
  changes(owner: VaultOwner, since: string | null, limit?: number): Promise<VaultChanges>;
  /**
   * Deletes up to `limit` tombstones (of every owner) last written before
   * `before` (ISO 8601), raising each owner's sync horizon first; returns how many.
   */
  purgeTombstones(before: string, limit?: number): Promise<number>;
  usage(owner: VaultOwner): Promise<VaultUsage>;
  /** Every live record, page by page (for export). */
  exportRecords(owner: VaultOwner, pageSize?: number): AsyncIterable<VaultRecord>;
  /**
   * All or nothing: stores every record (at version 1) if the vault has no
   * live record, else throws `PreconditionFailedError`; a bad record or a
   * limit refuses the whole import before anything is written.
   */
  importRecords(owner: VaultOwner, records: readonly VaultRecordInput[]): Promise<{ imported: number }>;
  /**
   * Erases everything the vault keeps of the owner: live records, tombstones,
   * tags (blinded and `~` plaintext) and the owner's sync and usage state
   * (last seq, purge horizon, counters). Returns how many live records there
   * were; an owner with nothing left is 0, not an error, so a repeat after a
   * failure finishes the job. Only for an owner that is going away (the user is
   * deleted): seqs start over after it, so a sync cursor from before means nothing.
   */
  eraseOwner(owner: VaultOwner): Promise<number>;
}
