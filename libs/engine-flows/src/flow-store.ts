import type { Cache } from '@wallet/cache';
import type { FlowSummary } from '@wallet/engine-protocol';
import { EngineRequestError } from './errors';
import { flowSummary, isFinished, parseFlowRecord, type FlowRecord } from './flow-record';

export interface FlowStoreOptions {
  /** Prefix of every key (default `engine:`), below the cache's own prefix. */
  keyPrefix?: string;
  /** How long a finished flow is kept for re-delivery and notifications (default 10 minutes). */
  retentionMs?: number;
  /** Most deferred flows waiting for the poller at once (default 10 000). */
  maxDeferred?: number;
  now?: () => number;
}

/** A stored record and the exact string it was read as (the compare-and-set token). */
export interface LoadedFlow {
  record: FlowRecord;
  raw: string;
}

interface UserEntry extends FlowSummary {
  keepUntil: number;
}

const CAS_ATTEMPTS = 16;

/**
 * Flow records in the shared cache, written with compare-and-set so that two
 * replicas never both advance a flow, plus two small indexes: each user's
 * flows (for the concurrent-flow limit and the handshake's list) and the
 * deferred flows the poller visits.
 */
export class FlowStore {
  private readonly prefix: string;
  private readonly retentionMs: number;
  private readonly maxDeferred: number;
  private readonly now: () => number;

  constructor(
    private readonly cache: Cache,
    options: FlowStoreOptions = {},
  ) {
    this.prefix = options.keyPrefix ?? 'engine:';
    this.retentionMs = options.retentionMs ?? 600_000;
    this.maxDeferred = options.maxDeferred ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  private flowKey(id: string): string {
    return `${this.prefix}flow:${id}`;
  }

  private userKey(tenantId: string, userId: string): string {
    return `${this.prefix}user-flows:${tenantId}:${userId}`;
  }

  private get deferredKey(): string {
    return `${this.prefix}deferred`;
  }

  /** How long the cache keeps a record as it is now. */
  private keepUntil(record: FlowRecord): number {
    return isFinished(record) ? this.now() + this.retentionMs : Math.max(record.expiresAt, this.now()) + 60_000;
  }

  async load(id: string): Promise<LoadedFlow | null> {
    const raw = await this.cache.get(this.flowKey(id));
    if (raw === null) return null;
    const record = parseFlowRecord(raw);
    return record ? { record, raw } : null;
  }

  /**
   * Stores a new flow (its id must be fresh) and lists it for its user, within
   * `maxActive` unfinished flows. The record is stored first and listed last:
   * a failure on the way (serialising, storing, the index) leaves no index
   * entry, which would count toward the limit until it expired. A record
   * stored but refused by the index is deleted; should that fail too, it is
   * unlisted, counts for nothing and expires.
   */
  async create(record: FlowRecord, maxActive: number): Promise<string> {
    const raw = JSON.stringify(record);
    const key = this.flowKey(record.id);
    const stored = await this.cache.setIfAbsent(key, raw, { ttlMs: this.keepUntil(record) - this.now() });
    if (!stored) throw new EngineRequestError('internal', 'a flow with this id exists');
    try {
      await this.updateUserIndex(record.tenantId, record.userId, (entries) => {
        const active = entries.filter((e) => e.status !== 'complete' && e.status !== 'failed').length;
        if (active >= maxActive) {
          throw new EngineRequestError('too_many_flows', `at most ${maxActive} unfinished flows per user; finish or cancel one first`);
        }
        return [...entries, this.entry(record)];
      });
    } catch (error) {
      await this.cache.delete(key).catch(() => undefined);
      throw error;
    }
    return raw;
  }

  /**
   * Replaces the record read as `previous` with `next`; the new raw value, or
   * null when someone else changed it meanwhile (reload and decide again).
   */
  async replace(previous: string, next: FlowRecord, previousStatus?: FlowRecord['status']): Promise<string | null> {
    const raw = JSON.stringify(next);
    const ok = await this.cache.compareAndSet(this.flowKey(next.id), previous, raw, { ttlMs: this.keepUntil(next) - this.now() });
    if (!ok) return null;
    // The index lists statuses: it changes only when the status did (callers that know it say so; parsing costs).
    const before = previousStatus ?? parseFlowRecord(previous)?.status;
    if (before !== next.status) {
      await this.updateUserIndex(next.tenantId, next.userId, (entries) =>
        entries.some((e) => e.flow_id === next.id) ? entries.map((e) => (e.flow_id === next.id ? this.entry(next) : e)) : entries,
      );
    }
    return raw;
  }

  /** Forgets a flow (after `flow_ack`). */
  async remove(record: FlowRecord): Promise<void> {
    await this.cache.delete(this.flowKey(record.id));
    await this.updateUserIndex(record.tenantId, record.userId, (entries) => entries.filter((e) => e.flow_id !== record.id));
    await this.setDue(record.id, null);
  }

  /** The user's flows the engine still holds, newest last. */
  async userFlows(tenantId: string, userId: string): Promise<FlowSummary[]> {
    const entries = this.live(await this.readUserIndex(tenantId, userId));
    return entries.map(({ keepUntil: _k, ...summary }) => summary);
  }

  private entry(record: FlowRecord): UserEntry {
    return { ...flowSummary(record), keepUntil: this.keepUntil(record) };
  }

  private live(entries: UserEntry[]): UserEntry[] {
    const now = this.now();
    return entries.filter((e) => e.keepUntil > now);
  }

  private async readUserIndex(tenantId: string, userId: string): Promise<UserEntry[]> {
    const raw = await this.cache.get(this.userKey(tenantId, userId));
    return parseEntries(raw);
  }

  private async updateUserIndex(tenantId: string, userId: string, change: (entries: UserEntry[]) => UserEntry[]): Promise<void> {
    const key = this.userKey(tenantId, userId);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const raw = await this.cache.get(key);
      const next = change(this.live(parseEntries(raw)));
      const keep = Math.max(0, ...next.map((e) => e.keepUntil)) - this.now();
      if (next.length === 0) {
        if (raw === null || (await this.cache.compareAndSet(key, raw, '[]', { ttlMs: 1000 }))) return;
        continue;
      }
      if (await this.cache.compareAndSet(key, raw, JSON.stringify(next), { ttlMs: Math.max(1000, keep) })) return;
    }
    throw new EngineRequestError('unavailable', 'the flow index is too busy; try again');
  }

  /** Sets (or clears, with null) when the poller should next visit a deferred flow. */
  async setDue(id: string, due: number | null): Promise<void> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const raw = await this.cache.get(this.deferredKey);
      const table = parseDueTable(raw);
      if (due === null) {
        if (!(id in table)) return;
        delete table[id];
      } else {
        if (!(id in table) && Object.keys(table).length >= this.maxDeferred) {
          throw new EngineRequestError('unavailable', 'too many deferred issuances are waiting');
        }
        table[id] = due;
      }
      if (await this.cache.compareAndSet(this.deferredKey, raw, JSON.stringify(table))) return;
    }
    throw new EngineRequestError('unavailable', 'the deferred index is too busy; try again');
  }

  /** Ids of deferred flows due by now, earliest first. */
  async dueFlows(limit = 100): Promise<string[]> {
    const table = parseDueTable(await this.cache.get(this.deferredKey));
    const now = this.now();
    return Object.entries(table)
      .filter(([, due]) => due <= now)
      .sort(([, a], [, b]) => a - b)
      .slice(0, limit)
      .map(([id]) => id);
  }
}

function parseEntries(raw: string | null): UserEntry[] {
  if (raw === null) return [];
  try {
    const value = JSON.parse(raw) as unknown;
    return Array.isArray(value) ? (value.filter((e) => e && typeof e === 'object' && typeof e.flow_id === 'string') as UserEntry[]) : [];
  } catch {
    return [];
  }
}

function parseDueTable(raw: string | null): Record<string, number> {
  if (raw === null) return {};
  try {
    const value = JSON.parse(raw) as unknown;
    if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
    return Object.fromEntries(Object.entries(value).filter(([, due]) => typeof due === 'number')) as Record<string, number>;
  } catch {
    return {};
  }
}
