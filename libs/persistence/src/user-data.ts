import { Collections } from './collections';
import type { CollectionSpec, Store } from './ports';

/**
 * Everything one user owns in a store, and how it is erased: the one
 * definition that auth's account deletion and the admin API's user removal
 * both run, so the two cannot drift apart. What a user owns:
 *
 * - a record in every collection whose entity has a `userId` field
 *   ({@link userOwnedCollections}, found from the schemas, so a collection
 *   added later joins by itself): memberships, passkeys, refresh tokens,
 *   credentials, presentations;
 * - their encrypted vault: every record and tombstone, its blinded and `~`
 *   plaintext tags, and the sync and usage state (`VaultStore.eraseOwner`);
 * - the user record itself, with the keystore blob (`privateData`): the
 *   caller deletes it **last**, after {@link eraseUserData}, so that a
 *   deletion that failed half-way still finds the user and can be repeated.
 *
 * Not the user's: audit events (the tenant's record of who did what; writers
 * never put a blob, a keystore or tag values in them).
 */
export interface UserDataEraser {
  /** The collection name, or `vault`; the key of its count in {@link eraseUserData}'s result. */
  readonly name: string;
  /** Removes the user's data of this kind; returns how much there was. Repeatable: nothing left is 0. */
  erase(store: Store, tenantId: string, userId: string): Promise<number>;
}

type UserOwnedSpec = CollectionSpec<{ id: string; userId: string }>;

/** Every registered collection whose entity has a `userId` field: they all hold per-user data. */
export function userOwnedCollections(): UserOwnedSpec[] {
  return Object.values(Collections).filter((spec) => {
    const shape = (spec.schema as unknown as { shape?: Record<string, unknown> }).shape;
    return shape !== undefined && 'userId' in shape;
  }) as unknown as UserOwnedSpec[];
}

/** The user's whole vault on this store: records, tombstones, tags, sync state. */
const vaultEraser: UserDataEraser = {
  name: 'vault',
  erase: (store, tenantId, userId) => store.vault().eraseOwner({ tenantId, userId }),
};

/**
 * Every eraser, in the order {@link eraseUserData} runs them: the collections
 * in their `Collections` order (memberships and passkeys, which let a user
 * in, among the first), then the vault. Everything but the user record.
 */
export function userDataErasers(): UserDataEraser[] {
  return [
    ...userOwnedCollections().map(
      (spec): UserDataEraser => ({
        name: spec.name,
        erase: (store, tenantId, userId) => store.repository(spec).deleteMany(tenantId, { userId }),
      }),
    ),
    vaultEraser,
  ];
}

/**
 * Erases everything the user owns in the tenant except the user record (see
 * the list above), one eraser after the other; returns what each removed,
 * by name. Every step is repeatable, so after a failure the whole call can
 * run again. Delete the user record afterwards.
 */
export async function eraseUserData(store: Store, tenantId: string, userId: string): Promise<Record<string, number>> {
  const removed: Record<string, number> = {};
  for (const eraser of userDataErasers()) removed[eraser.name] = await eraser.erase(store, tenantId, userId);
  return removed;
}
