import { PreconditionFailedError, ValidationError, VersionConflictError, WalletError } from '@wallet/domain';
import type { Principal } from '@wallet/platform';
import type { VaultOwner, VaultRecord } from '@wallet/persistence';

/** Injection token of the `VaultStore` (the store's vault with the configured limits). */
export const VAULT_STORE = Symbol('VAULT_STORE');

/** The owner of every record a request touches: always the caller, from the verified token. */
export function ownerOf(principal: Principal | null): VaultOwner {
  // The global guard lets no unauthenticated request reach these routes; this is the backstop.
  if (!principal) throw new WalletError('unauthorized', 'an access token is required');
  return { tenantId: principal.tenantId, userId: principal.userId };
}

/** The ETag of a record version: a strong tag holding the version number. */
export function etagOf(record: Pick<VaultRecord, 'version'>): string {
  return `"${record.version}"`;
}

/** Reads `If-Match` as a version: `"3"` (or `W/"3"`, or `3`). `*` and absent give undefined. */
export function versionFromIfMatch(header: string | string[] | undefined, required: boolean): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '' || value.trim() === '*') {
    if (required) {
      throw new ValidationError('If-Match is required: send the ETag (version) of the record you read', [
        { path: '/headers/if-match', message: 'required' },
      ]);
    }
    return undefined;
  }
  const match = /^\s*(?:W\/)?"?([1-9][0-9]{0,14})"?\s*$/.exec(value);
  if (!match) {
    throw new ValidationError('If-Match must be the ETag of a record version, such as "3"', [
      { path: '/headers/if-match', message: 'not a record ETag' },
    ]);
  }
  return Number(match[1]);
}

/** A stale `If-Match` is 412 with the current version, so the client can re-read and merge. */
export function asPrecondition(error: unknown): unknown {
  if (error instanceof VersionConflictError && error.actualVersion !== null) {
    return new PreconditionFailedError(
      `the record changed: it is at version ${error.actualVersion}, not ${error.expectedVersion}`,
      { cause: error, details: { currentVersion: error.actualVersion, currentEtag: `"${error.actualVersion}"` } },
    );
  }
  return error;
}
