import { GLOBAL_SCOPE } from '@wallet/domain';
import { Collections, type CollectionSpec, type Store, type Stored } from '@wallet/persistence';
import type { JobContext, JobResult } from '@wallet/platform';

const PAGE = 500;

/** Calls `visit` for every tenant id, page by page. */
async function forEachTenant(store: Store, visit: (tenant: string) => Promise<void>, signal: AbortSignal): Promise<void> {
  const tenants = store.repository(Collections.tenants);
  let cursor: string | undefined;
  do {
    const page = await tenants.list(GLOBAL_SCOPE, { limit: PAGE, ...(cursor ? { cursor } : {}) });
    for (const tenant of page.items) {
      if (signal.aborted) return;
      await visit(tenant.id);
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor && !signal.aborted);
}

/**
 * Deletes every record of one tenant's collection for which `expired` holds.
 * Deletes with the version read, so a record changed meanwhile (renewed) stays.
 */
async function sweep<T extends { id: string }>(
  store: Store,
  spec: CollectionSpec<T>,
  tenant: string,
  expired: (record: Stored<T>) => boolean,
  signal: AbortSignal,
): Promise<number> {
  const repo = store.repository(spec);
  let removed = 0;
  let cursor: string | undefined;
  do {
    const page = await repo.list(tenant, { limit: PAGE, ...(cursor ? { cursor } : {}) });
    for (const record of page.items) {
      if (signal.aborted) return removed;
      if (!expired(record)) continue;
      try {
        await repo.delete(tenant, record.id, record.version);
        removed++;
      } catch {
        // Changed or deleted by someone else since we read it: leave it to them.
      }
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor && !signal.aborted);
  return removed;
}

const before = (iso: string | null, now: Date): boolean => iso !== null && Date.parse(iso) <= now.getTime();

/** Deletes invites that expired or were revoked (the audit log keeps their history). */
export async function cleanupInvites(store: Store, { now, signal }: Pick<JobContext, 'now' | 'signal'>): Promise<JobResult> {
  let removed = 0;
  await forEachTenant(
    store,
    async (tenant) => {
      removed += await sweep(store, Collections.invites, tenant, (i) => i.revoked || before(i.expiresAt, now), signal);
    },
    signal,
  );
  return { removed };
}

/**
 * Deletes expired refresh tokens, whatever their status. Rotated tokens are
 * kept until they expire: presenting one again must still revoke its family.
 */
export async function cleanupRefreshTokens(store: Store, { now, signal }: Pick<JobContext, 'now' | 'signal'>): Promise<JobResult> {
  let removed = 0;
  await forEachTenant(
    store,
    async (tenant) => {
      removed += await sweep(store, Collections.refreshTokens, tenant, (t) => before(t.expiresAt, now), signal);
    },
    signal,
  );
  return { removed };
}
