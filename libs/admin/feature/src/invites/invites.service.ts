import { Inject, Injectable } from '@nestjs/common';
import { ValidationError, type Invite } from '@wallet/domain';
import { Collections, type Store } from '@wallet/persistence';
import { WALLET_STORE } from '@wallet/platform';
import { createHash, randomBytes } from 'node:crypto';
import type { AdminActor } from '../admin-actor';
import { ADMIN_CLOCK, AdminChanges } from '../admin-changes.service';
import { listing, newId, stripMeta, type ListQuery } from '../admin-records';
import { inviteView } from './invites-responses.dto';
import type { CreateInvitesDto, RenewInviteDto } from './invites.dto';

/** What the store keeps of an invite code. */
export const hashInviteCode = (code: string): string => createHash('sha256').update(code, 'utf8').digest('base64url');

/**
 * A tenant's invite codes: created in batches and shown once (the store
 * keeps their SHA-256), revoked, renewed. Audited in the tenant's scope.
 */
@Injectable()
export class InvitesService {
  constructor(
    @Inject(WALLET_STORE) private readonly store: Store,
    private readonly changes: AdminChanges,
    @Inject(ADMIN_CLOCK) private readonly now: () => Date,
  ) {}

  async listInvites(tenant: string, query: ListQuery) {
    await this.changes.requireTenant(tenant);
    const now = this.now();
    return listing(await this.store.repository(Collections.invites).list(tenant, query), (i) => inviteView(i, now));
  }

  /** Creates `count` invite codes. The codes are in this answer only: the store keeps their SHA-256. */
  async createInvites(tenant: string, input: CreateInvitesDto, who: AdminActor) {
    await this.changes.requireTenant(tenant);
    const now = this.now();
    const expiresAt = expiry(input, now) ?? null;
    const invites = this.store.repository(Collections.invites);
    const items = [];
    for (let i = 0; i < input.count; i++) {
      const code = randomBytes(15).toString('base64url');
      const created = await invites.create(tenant, {
        id: newId(),
        codeHash: hashInviteCode(code),
        expiresAt,
        maxUses: input.max_uses,
        uses: 0,
        revoked: false,
      });
      items.push({ ...inviteView(created, now), code });
    }
    await this.changes.record(tenant, who, 'invite.create', 'invite', null, null, {
      ids: items.map((i) => i.id),
      expires_at: expiresAt,
      max_uses: input.max_uses,
    });
    return { items };
  }

  async revokeInvite(tenant: string, id: string, who: AdminActor) {
    await this.changes.requireTenant(tenant);
    const current = await this.changes.requireRecord(Collections.invites, tenant, id, 'invite');
    const updated = await this.store
      .repository(Collections.invites)
      .update(tenant, id, { ...stripMeta(current), revoked: true }, current.version);
    const now = this.now();
    const view = inviteView(updated, now);
    await this.changes.record(tenant, who, 'invite.revoke', 'invite', id, inviteView(current, now), view);
    return view;
  }

  /** Gives an invite a new expiry (default: none) and optionally a new use limit; un-revokes it. */
  async renewInvite(tenant: string, id: string, input: RenewInviteDto, who: AdminActor) {
    await this.changes.requireTenant(tenant);
    const current = await this.changes.requireRecord(Collections.invites, tenant, id, 'invite');
    const now = this.now();
    const next: Invite = {
      ...stripMeta(current),
      expiresAt: expiry(input, now) ?? null,
      maxUses: input.max_uses ?? current.maxUses,
      revoked: false,
    };
    const updated = await this.store.repository(Collections.invites).update(tenant, id, next, current.version);
    const view = inviteView(updated, now);
    await this.changes.record(tenant, who, 'invite.renew', 'invite', id, inviteView(current, now), view);
    return view;
  }
}

/** The expiry asked for, from a lifetime or an absolute time that must be in the future; undefined: none asked. */
function expiry(input: { expires_in?: number | undefined; expires_at?: string | undefined }, now: Date): string | undefined {
  if (input.expires_in !== undefined) return new Date(now.getTime() + input.expires_in * 1000).toISOString();
  if (input.expires_at !== undefined) {
    const at = Date.parse(input.expires_at);
    if (at <= now.getTime()) throw new ValidationError('expires_at must be in the future', [{ path: '/expires_at', message: 'must be in the future' }]);
    return new Date(at).toISOString();
  }
  return undefined;
}
