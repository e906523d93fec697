import { PresentationError } from '../protocol-error';
import type { ClaimPath, ClaimsQuery, CredentialQuery, DcqlQuery } from './dcql-query';

/** A presented credential after its signatures were verified: what a query is matched against. */
export interface PresentedCredential {
  format: string;
  /** SD-JWT VC `vct`. */
  vct?: string;
  /** W3C VC `type` values (JWT VC). */
  types?: readonly string[];
  /** mdoc doctype. */
  doctype?: string;
  /** The disclosed claims. */
  claims: Record<string, unknown>;
  /** Whether the holder proved possession of the bound key (KB-JWT, VP signature). */
  holderBound: boolean;
}

/**
 * Selects the values a claims path points to (OpenID4VP 1.0, section 7):
 * a string picks an object member, an integer an array element, `null` every
 * element of an array. An empty result means the claim is absent.
 */
export function selectClaim(claims: Record<string, unknown>, path: ClaimPath): unknown[] {
  let selected: unknown[] = [claims];
  for (const component of path) {
    const next: unknown[] = [];
    for (const value of selected) {
      if (component === null) {
        if (Array.isArray(value)) next.push(...value);
      } else if (typeof component === 'number') {
        if (Array.isArray(value) && component < value.length) next.push(value[component]);
      } else if (value && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, component)) {
        next.push((value as Record<string, unknown>)[component]);
      }
    }
    selected = next;
    if (selected.length === 0) break;
  }
  return selected;
}

function claimMatches(credential: PresentedCredential, claim: ClaimsQuery): boolean {
  const selected = selectClaim(credential.claims, claim.path);
  if (selected.length === 0) return false;
  const allowed = claim.values;
  if (!allowed) return true;
  return selected.some((value) => allowed.some((candidate) => candidate === value));
}

const describePath = (path: ClaimPath) => path.map((p) => (p === null ? '*' : String(p))).join('.');

/** Why `credential` does not answer `query`, or null when it does. Never mentions claim values. */
export function explainMismatch(query: CredentialQuery, credential: PresentedCredential): string | null {
  if (credential.format !== query.format) return `format ${credential.format} was presented, ${query.format} was asked for`;
  const { vct_values: vctValues, doctype_value: doctype, type_values: typeValues } = query.meta;
  if (vctValues && (!credential.vct || !vctValues.includes(credential.vct))) return 'the credential type (vct) was not asked for';
  if (doctype && credential.doctype !== doctype) return 'the doctype was not asked for';
  if (typeValues && !typeValues.some((set) => set.every((t) => credential.types?.includes(t)))) {
    return 'the credential types were not asked for';
  }
  if (query.require_cryptographic_holder_binding && !credential.holderBound) return 'holder binding is required';
  const claims = query.claims ?? [];
  if (claims.length === 0) return null;
  if (!query.claim_sets) {
    const missing = claims.find((claim) => !claimMatches(credential, claim));
    return missing ? `claim ${describePath(missing.path)} is missing or has a value that was not asked for` : null;
  }
  const byId = new Map(claims.map((c) => [c.id, c]));
  const satisfied = query.claim_sets.some((set) =>
    set.every((id) => {
      const claim = byId.get(id);
      return claim !== undefined && claimMatches(credential, claim);
    }),
  );
  return satisfied ? null : 'no claim set of the query is satisfied';
}

/**
 * Checks that a response answers the query: every presented id is a
 * credential query of ours, each credential matches its query (format, type,
 * holder binding, claims and allowed values), `multiple` is respected, and the
 * credential sets (or, without them, every credential query) are satisfied.
 * Throws `query_not_satisfied` otherwise.
 */
export function evaluateDcqlQuery(query: DcqlQuery, presented: ReadonlyMap<string, readonly PresentedCredential[]>): void {
  const queries = new Map(query.credentials.map((c) => [c.id, c]));
  for (const [id, credentials] of presented) {
    const credentialQuery = queries.get(id);
    if (!credentialQuery) throw new PresentationError('query_not_satisfied', `the response answers a credential query "${id}" that was not asked`);
    if (credentials.length === 0) throw new PresentationError('query_not_satisfied', `the response has no credential for "${id}"`);
    if (credentials.length > 1 && !credentialQuery.multiple) {
      throw new PresentationError('query_not_satisfied', `the response has several credentials for "${id}", which allows one`);
    }
    for (const credential of credentials) {
      const reason = explainMismatch(credentialQuery, credential);
      if (reason) throw new PresentationError('query_not_satisfied', `credential "${id}": ${reason}`);
    }
  }
  const answered = (id: string) => presented.has(id);
  if (!query.credential_sets) {
    const missing = query.credentials.find((c) => !answered(c.id));
    if (missing) throw new PresentationError('query_not_satisfied', `the response has no credential for "${missing.id}"`);
    return;
  }
  query.credential_sets.forEach((set, index) => {
    if (set.required && !set.options.some((option) => option.every(answered))) {
      throw new PresentationError('query_not_satisfied', `credential set ${index} is required and no option of it was answered`);
    }
  });
}
