import { matchesWql, type WqlNode } from '@wallet/wql';
import type { PageRequest } from '../collection-plan';
import type { VaultBackend, VaultDecision, VaultRow, VaultRowDraft } from './vault-service';
import type { VaultOwner, VaultUsage } from './vault-ports';

interface OwnerState {
  rows: Map<string, VaultRow>;
  seq: number;
  usage: VaultUsage;
  horizon: number;
}

/**
 * In-process vault: every operation is synchronous, so each write is
 * exclusive by construction. Queries walk the owner's rows with the
 * reference WQL matcher (the process holds them anyway).
 */
export class MemoryVaultBackend implements VaultBackend {
  private readonly owners = new Map<string, OwnerState>();

  private state(owner: VaultOwner): OwnerState {
    const key = `${owner.tenantId}|${owner.userId}`;
    let state = this.owners.get(key);
    if (!state) {
      state = { rows: new Map(), seq: 0, usage: { records: 0, bytes: 0 }, horizon: 0 };
      this.owners.set(key, state);
    }
    return state;
  }

  get(owner: VaultOwner, id: string): VaultRow | null {
    return copy(this.state(owner).rows.get(id));
  }

  write(owner: VaultOwner, id: string, decide: VaultDecision): VaultRow {
    const state = this.state(owner);
    const current = state.rows.get(id) ?? null;
    const draft = decide(copy(current), { ...state.usage });
    return this.put(state, current, draft);
  }

  find(owner: VaultOwner, query: WqlNode | null, category: string | null, page: PageRequest): VaultRow[] {
    const rows = [...this.state(owner).rows.values()]
      .filter((row) => !row.deleted && row.id > page.afterId && (category === null || row.category === category))
      .filter((row) => query === null || matchesWql(query, row.tags))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    return rows.slice(0, page.limit).map((row) => copy(row) as VaultRow);
  }

  changes(owner: VaultOwner, since: number, limit: number): VaultRow[] {
    return [...this.state(owner).rows.values()]
      .filter((row) => row.seq > since)
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit)
      .map((row) => copy(row) as VaultRow);
  }

  usage(owner: VaultOwner): VaultUsage {
    return { ...this.state(owner).usage };
  }

  importAll(owner: VaultOwner, drafts: readonly VaultRowDraft[]): boolean {
    const state = this.state(owner);
    if (state.usage.records > 0) return false;
    for (const draft of drafts) {
      const current = state.rows.get(draft.id) ?? null;
      this.put(state, current, { ...draft, version: (current?.version ?? 0) + 1 });
    }
    return true;
  }

  horizon(owner: VaultOwner): number {
    return this.state(owner).horizon;
  }

  purgeTombstones(before: string, limit: number): number {
    let removed = 0;
    for (const state of this.owners.values()) {
      for (const row of [...state.rows.values()]) {
        if (removed >= limit) return removed;
        if (!row.deleted || row.updatedAt >= before) continue;
        state.horizon = Math.max(state.horizon, row.seq);
        state.rows.delete(row.id);
        removed++;
      }
    }
    return removed;
  }

  eraseOwner(owner: VaultOwner): number {
    const key = `${owner.tenantId}|${owner.userId}`;
    const records = this.owners.get(key)?.usage.records ?? 0;
    this.owners.delete(key);
    return records;
  }

  private put(state: OwnerState, current: VaultRow | null, draft: VaultRowDraft): VaultRow {
    state.seq += 1;
    const row: VaultRow = { ...draft, tags: { ...draft.tags }, seq: state.seq };
    state.usage.records += (row.deleted ? 0 : 1) - (current && !current.deleted ? 1 : 0);
    state.usage.bytes += row.size - (current?.size ?? 0);
    state.rows.set(row.id, row);
    return copy(row) as VaultRow;
  }
}

function copy(row: VaultRow | null | undefined): VaultRow | null {
  return row ? { ...row, tags: { ...row.tags } } : null;
}
