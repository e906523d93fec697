import { Inject, Injectable } from '@nestjs/common';
import { GLOBAL_SCOPE } from '@wallet/domain';
import { Collections, type Store } from '@wallet/persistence';
import { WALLET_STORE } from '@wallet/platform';
import { auditView } from './audit-responses.dto';
import type { AuditQueryDto } from './audit.dto';

/** Reads the audit log the other admin contexts write (through `AdminChanges.record`). */
@Injectable()
export class AuditService {
  constructor(@Inject(WALLET_STORE) private readonly store: Store) {}

  /**
   * Audit events of one scope (a tenant, or the tenant-level changes), oldest
   * first. `since`/`until` are applied while paging through the scope, so a
   * page may hold fewer than `limit` events; follow `next_cursor` until null.
   */
  async listAudit(query: AuditQueryDto) {
    const scope = query.tenant ?? GLOBAL_SCOPE;
    const where = {
      ...(query.action ? { action: query.action } : {}),
      ...(query.resource ? { resourceType: query.resource } : {}),
      ...(query.resource_id ? { resourceId: query.resource_id } : {}),
      ...(query.actor ? { actorId: query.actor } : {}),
    };
    const since = query.since ? Date.parse(query.since) : null;
    const until = query.until ? Date.parse(query.until) : null;
    const repo = this.store.repository(Collections.auditEvents);
    const items: Array<ReturnType<typeof auditView>> = [];
    let cursor = query.cursor;
    // Ids start with the event time, so `since` can skip ahead and `until` can stop early.
    for (let pages = 0; pages < 20; pages++) {
      const page = await repo.list(scope, { where, limit: query.limit, ...(cursor ? { cursor } : {}) });
      for (const event of page.items) {
        const at = Date.parse(event.at);
        if (until !== null && at > until) return { items, next_cursor: null };
        if (since === null || at >= since) items.push(auditView(event));
      }
      cursor = page.nextCursor ?? undefined;
      if (!cursor || items.length > 0) break;
    }
    return { items, next_cursor: cursor ?? null };
  }
}
