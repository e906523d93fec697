import { Inject, Injectable } from '@nestjs/common';
import { NotFoundError, type Membership, type User } from '@wallet/domain';
import { Collections, eraseUserData, type Store } from '@wallet/persistence';
import { WALLET_STORE } from '@wallet/platform';
import { randomBytes } from 'node:crypto';
import type { AdminActor } from '../admin-actor';
import { AdminChanges } from '../admin-changes.service';
import { newId, stripMeta, uniquely, type ListQuery } from '../admin-records';
import { UserSessions } from './user-sessions';
import { userView } from './users-responses.dto';
import type { CreateUserDto, UpdateUserDto } from './users.dto';

/**
 * A tenant's users and their memberships: pre-provisioned accounts,
 * suspension and removal with everything that belongs to them, both of which
 * revoke every access token and session of the user at once
 * ({@link UserSessions}). Audited in the tenant's scope.
 */
@Injectable()
export class UsersService {
  constructor(
    @Inject(WALLET_STORE) private readonly store: Store,
    private readonly changes: AdminChanges,
    private readonly sessions: UserSessions,
  ) {}

  async listUsers(tenant: string, query: ListQuery) {
    await this.changes.requireTenant(tenant);
    const page = await this.store.repository(Collections.users).list(tenant, query);
    const items = [];
    for (const user of page.items) items.push(userView(user, await this.roleOf(tenant, user.id)));
    return { items, next_cursor: page.nextCursor };
  }

  async getUser(tenant: string, id: string) {
    await this.changes.requireTenant(tenant);
    const user = await this.changes.requireRecord(Collections.users, tenant, id, 'user');
    return userView(user, await this.roleOf(tenant, id));
  }

  /** Pre-provisions an account (no passkey yet) with a membership in the tenant. */
  async createUser(tenant: string, input: CreateUserDto, who: AdminActor) {
    await this.changes.requireTenant(tenant);
    const id = input.id ?? newId();
    const user = await uniquely(
      this.store.repository(Collections.users).create(tenant, {
        id,
        handle: input.handle ?? randomBytes(32).toString('base64url'),
        displayName: input.display_name,
        status: 'active',
        privateData: null,
        privateDataEtag: null,
      }),
      'user',
      id,
      tenant,
    );
    await this.store.repository(Collections.memberships).create(tenant, { id, userId: id, role: input.role });
    const view = userView(user, input.role);
    await this.changes.record(tenant, who, 'user.create', 'user', id, null, view);
    return view;
  }

  /** Adds (or changes) the membership of an existing user of the tenant. */
  async putMembership(tenant: string, userId: string, role: Membership['role'], who: AdminActor) {
    await this.changes.requireTenant(tenant);
    const user = await this.changes.requireRecord(Collections.users, tenant, userId, 'user');
    const memberships = this.store.repository(Collections.memberships);
    const current = await memberships.get(tenant, userId);
    if (current) await memberships.update(tenant, userId, { ...stripMeta(current), role }, current.version);
    else await memberships.create(tenant, { id: userId, userId, role });
    await this.changes.record(tenant, who, 'membership.put', 'membership', userId, current ? { role: current.role } : null, { role });
    return userView(user, role);
  }

  async removeMembership(tenant: string, userId: string, who: AdminActor): Promise<void> {
    await this.changes.requireTenant(tenant);
    const memberships = this.store.repository(Collections.memberships);
    const current = await memberships.get(tenant, userId);
    if (!current) throw new NotFoundError('membership');
    await memberships.delete(tenant, userId, current.version);
    await this.changes.record(tenant, who, 'membership.remove', 'membership', userId, { role: current.role }, null);
  }

  /**
   * Updates a user. Suspending (`status: 'suspended'`, also when the user is
   * already suspended: a repeat finishes a suspension that failed half-way)
   * revokes every access token and session of the user, in this order:
   *
   * 1. the user-wide cut-off in the revocation list, before anything is
   *    stored: when the cache is down the answer is a 503 and nothing changed;
   * 2. the status, stored (no new login from here on) and audited;
   * 3. the refresh-token families, in the store and in the revocation list,
   *    and the cut-off again, for tokens a login or refresh racing with this
   *    one issued meanwhile. A failure here is a 503 too, with the status
   *    already stored: repeating the suspension revokes again.
   *
   * Unsuspending revokes nothing, and so works without the cache.
   */
  async updateUser(tenant: string, id: string, input: UpdateUserDto, who: AdminActor) {
    await this.changes.requireTenant(tenant);
    const users = this.store.repository(Collections.users);
    const current = await this.changes.requireRecord(Collections.users, tenant, id, 'user');
    const next: User = {
      ...stripMeta(current),
      displayName: input.display_name ?? current.displayName,
      status: input.status ?? current.status,
    };
    const suspending = input.status === 'suspended';
    if (suspending) await this.sessions.revokeAccessTokens(tenant, id, 'nothing was changed; try again');
    const updated = await users.update(tenant, id, next, current.version);
    const role = await this.roleOf(tenant, id);
    const action = suspending ? 'user.suspend' : next.status !== current.status ? 'user.unsuspend' : 'user.update';
    await this.changes.record(tenant, who, action, 'user', id, userView(current, role), userView(updated, role));
    if (suspending) await this.sessions.endSessions(tenant, id, 'the user is suspended but may still hold a session; repeat the suspension');
    return userView(updated, role);
  }

  /**
   * Removes the user and everything they own in the tenant, after revoking
   * every access token and session of theirs: what `eraseUserData` (from
   * `@wallet/persistence`, the list auth's account deletion runs too) erases
   * (memberships, passkeys, refresh tokens, credentials, presentations, the
   * whole vault with its tags and sync state), then the user record with the
   * keystore blob. The user record goes last: until it does, a removal that
   * failed half-way (503 when the revocation list cannot be written, or the
   * store failing) can be repeated, and every step runs again.
   */
  async deleteUser(tenant: string, id: string, who: AdminActor): Promise<void> {
    await this.changes.requireTenant(tenant);
    const current = await this.changes.requireRecord(Collections.users, tenant, id, 'user');
    const role = await this.roleOf(tenant, id);
    await this.eraseUser(tenant, id, {
      beforeErasure: 'nothing was deleted; try again',
      afterErasure: "the user's passkeys and sessions are removed but the user is not; repeat the removal",
    });
    await this.changes.record(tenant, who, 'user.delete', 'user', id, userView(current, role), null);
  }

  /**
   * The removal itself, for {@link deleteUser} and a tenant's forced deletion
   * (`TenantsService.deleteTenant`, which runs it for every user of the
   * tenant): revoke the access tokens, end the sessions, `eraseUserData`,
   * revoke again, delete the user record last. Every step is repeatable.
   * `ifFailed` ends the 503's message when revoking fails before or after
   * the erasure. Returns what `eraseUserData` removed, by name, with `users: 1`.
   */
  async eraseUser(tenant: string, id: string, ifFailed: { beforeErasure: string; afterErasure: string }): Promise<Record<string, number>> {
    await this.sessions.revokeAccessTokens(tenant, id, ifFailed.beforeErasure);
    await this.sessions.endSessions(tenant, id, ifFailed.beforeErasure);
    const removed = await eraseUserData(this.store, tenant, id);
    // No passkey and no refresh token left, so nothing can issue a token any more: a last cut-off covers any issued meanwhile.
    await this.sessions.revokeAccessTokens(tenant, id, ifFailed.afterErasure);
    await this.store.repository(Collections.users).delete(tenant, id);
    return { ...removed, [Collections.users.name]: 1 };
  }

  private async roleOf(tenant: string, userId: string): Promise<Membership['role'] | null> {
    return (await this.store.repository(Collections.memberships).get(tenant, userId))?.role ?? null;
  }
}
