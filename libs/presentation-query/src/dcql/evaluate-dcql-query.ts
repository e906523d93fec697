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

/** A concrete position in a claim set: object member names and array indexes, no wildcards. */
export type ConcreteClaimPath = (string | number)[];

/** One value a claims path selected, with where it is. */
export interface SelectedClaim {
  path: ConcreteClaimPath;
  value: unknown;
}

/**
 * Selects the values a claims path points to (OpenID4VP 1.0, section 7),
 * each with its concrete path: a string picks an object member, an integer an
 * array element, `null` every element of an array. An empty result means the
 * claim is absent. The wallet needs the positions to know what to disclose.
 */
export function selectClaimEntries(claims: Record<string, unknown>, path: ClaimPath): SelectedClaim[] {
  let selected: SelectedClaim[] = [{ path: [], value: claims }];
  for (const component of path) {
    const next: SelectedClaim[] = [];
    for (const { path: at, value } of selected) {
      if (component === null) {
        if (Array.isArray(value)) value.forEach((element, i) => next.push({ path: [...at, i], value: element }));
      } else if (typeof component === 'number') {
        if (Array.isArray(value) && component < value.length) next.push({ path: [...at, component], value: value[component] });
      } else if (value && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, component)) {
        next.push({ path: [...at, component], value: (value as Record<string, unknown>)[component] });
      }
    }
    selected = next;
    if (selected.length === 0) break;
  }
  return selected;
}

/**
 * Selects the values a claims path points to (OpenID4VP 1.0, section 7):
 * a string picks an object member, an integer an array element, `null` every
 * element of an array. An empty result means the claim is absent.
 */
export function selectClaim(claims: Record<string, unknown>, path: ClaimPath): unknown[] {
  return selectClaimEntries(claims, path).map((entry) => entry.value);
}

/**
 * The selected values of a claims query that satisfy it: every value the path
 * selects, or with `values` only those equal to one of them. Empty when the
 * claim does not match.
 */
export function matchClaimsQuery(claims: Record<string, unknown>, claim: ClaimsQuery): SelectedClaim[] {
  const selected = selectClaimEntries(claims, claim.path);
  const allowed = claim.values;
  if (!allowed) return selected;
  return selected.filter(({ value }) => allowed.some((candidate) => candidate === value));
}

/**
 * The claims of a credential query that a credential must answer: all of
 * `claims`, or those of the first claim set the credential satisfies (the
 * verifier's order of preference); `[]` when the query asks for no claims,
 * null when the credential satisfies neither.
 */
export function requiredClaims(query: CredentialQuery, claims: Record<string, unknown>): { claims: ClaimsQuery[]; claimSet?: number } | null {
  const all = query.claims ?? [];
  if (all.length === 0) return { claims: [] };
  if (!query.claim_sets) return all.every((claim) => matchClaimsQuery(claims, claim).length > 0) ? { claims: all } : null;
  const byId = new Map(all.map((c) => [c.id, c]));
  for (const [index, set] of query.claim_sets.entries()) {
    const members = set.map((id) => byId.get(id));
    if (members.every((claim) => claim !== undefined && matchClaimsQuery(claims, claim).length > 0)) {
      return { claims: members.filter((claim): claim is ClaimsQuery => claim !== undefined), claimSet: index };
    }
  }
  return null;
}

function claimMatches(credential: PresentedCredential, claim: ClaimsQuery): boolean {
  return matchClaimsQuery(credential.claims, claim).length > 0;
}

const describePath = (path: ClaimPath) => path.map((p) => (p === null ? '*' : String(p))).join('.');

/** What {@link explainCredentialMismatch} looks at: the credential, not its claims. */
export type CredentialDescription = Pick<PresentedCredential, 'format' | 'vct' | 'types' | 'doctype' | 'holderBound'>;

/** Why the credential itself (format, type, holder binding) does not answer `query`, or null. */
export function explainCredentialMismatch(query: CredentialQuery, credential: CredentialDescription): string | null {
  if (credential.format !== query.format) return `format ${credential.format} was presented, ${query.format} was asked for`;
  const { vct_values: vctValues, doctype_value: doctype, type_values: typeValues } = query.meta;
  if (vctValues && (!credential.vct || !vctValues.includes(credential.vct))) return 'the credential type (vct) was not asked for';
  if (doctype && credential.doctype !== doctype) return 'the doctype was not asked for';
  if (typeValues && !typeValues.some((set) => set.every((t) => credential.types?.includes(t)))) {
    return 'the credential types were not asked for';
  }
  if (query.require_cryptographic_holder_binding && !credential.holderBound) return 'holder binding is required';
  return null;
}

/** Why `credential` does not answer `query`, or null when it does. Never mentions claim values. */
export function explainMismatch(query: CredentialQuery, credential: PresentedCredential): string | null {
  const mismatch = explainCredentialMismatch(query, credential);
  if (mismatch) return mismatch;
  const claims = query.claims ?? [];
  if (claims.length === 0) return null;
  if (!query.claim_sets) {
    const missing = claims.find((claim) => !claimMatches(credential, claim));
    return missing ? `claim ${describePath(missing.path)} is missing or has a value that was not asked for` : null;
  }
  return requiredClaims(query, credential.claims) ? null : 'no claim set of the query is satisfied';
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
