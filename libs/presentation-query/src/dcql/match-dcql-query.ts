import {
  isSelectivelyDisclosable,
  uniqueClaims,
  type CandidateCredential,
  type DisclosedClaim,
  type HeldCredential,
  type RejectedCredential,
} from '../held-credential';
import type { DcqlQuery } from './dcql-query';
import { explainMismatch, matchClaimsQuery, requiredClaims, type PresentedCredential } from './evaluate-dcql-query';

/**
 * The wallet's side of DCQL: which held credentials can answer each
 * credential query, with exactly the claims each would disclose. Built on
 * the verifier's own checks ({@link explainMismatch}, {@link requiredClaims}),
 * so what the wallet offers is what the verifier accepts.
 */

/** A candidate for a credential query. */
export interface DcqlCandidate extends CandidateCredential {
  /** With `claim_sets`: the index of the claim set disclosed (the first one the credential satisfies). */
  claimSet?: number;
}

/** The held credentials for one credential query. */
export interface DcqlCredentialMatch {
  /** The credential query id. */
  id: string;
  format: string;
  /** Whether several credentials may answer it. */
  multiple: boolean;
  candidates: DcqlCandidate[];
  rejected: RejectedCredential[];
}

/** One option of a credential set: credential query ids that answer the set together. */
export interface CredentialSetOptionMatch {
  credentials: string[];
  /** Every credential query of the option has a candidate. */
  satisfiable: boolean;
}

/** One `credential_sets` entry. */
export interface CredentialSetMatch {
  required: boolean;
  purpose?: unknown;
  options: CredentialSetOptionMatch[];
  /** Some option is satisfiable. */
  satisfiable: boolean;
}

/** What the wallet can answer of a DCQL query. */
export interface DcqlMatch {
  /** Per credential query id, in the query's order. */
  credentials: Record<string, DcqlCredentialMatch>;
  /** Null when the query has no `credential_sets` (then every credential query is required). */
  credentialSets: CredentialSetMatch[] | null;
  /** Whether a response can meet the query: every required credential query or set can be answered. */
  satisfiable: boolean;
}

/** Chosen credentials (held ids) per credential query id; queries not answered are left out. */
export type DcqlSelection = Readonly<Record<string, readonly string[]>>;

/** A held credential as the verifier will see it, for the verifier's checks. */
export function asPresented(held: HeldCredential): PresentedCredential {
  return {
    format: held.format,
    ...(held.vct !== undefined ? { vct: held.vct } : {}),
    ...(held.types !== undefined ? { types: held.types } : {}),
    ...(held.doctype !== undefined ? { doctype: held.doctype } : {}),
    claims: held.claims,
    holderBound: held.holderBound ?? true,
  };
}

/**
 * Matches a (parsed) DCQL query against the holder's credentials: per
 * credential query, the candidates with the exact claims each would disclose
 * (`claims` all, with `claim_sets` those of the first satisfiable set, no
 * claim at all without `claims`; `values` narrow wildcard paths to the
 * matching elements), honouring `meta` (`vct_values`, `doctype_value`,
 * `type_values`), format and holder binding; then which credential set
 * options can be met, and whether the whole query can.
 */
export function matchDcqlQuery(query: DcqlQuery, held: readonly HeldCredential[]): DcqlMatch {
  const credentials: Record<string, DcqlCredentialMatch> = {};
  for (const credentialQuery of query.credentials) {
    const candidates: DcqlCandidate[] = [];
    const rejected: RejectedCredential[] = [];
    for (const credential of held) {
      const presented = asPresented(credential);
      const reason = explainMismatch(credentialQuery, presented);
      const required = reason === null ? requiredClaims(credentialQuery, presented.claims) : null;
      if (reason !== null || required === null) {
        rejected.push({ credentialId: credential.id, reason: reason ?? 'no claim set of the query is satisfied' });
        continue;
      }
      const claims: DisclosedClaim[] = required.claims.flatMap((claim) =>
        matchClaimsQuery(presented.claims, claim).map(({ path, value }) => ({ path, value, ...(claim.id !== undefined ? { claimId: claim.id } : {}) })),
      );
      candidates.push({
        credentialId: credential.id,
        format: credential.format,
        claims: uniqueClaims(claims),
        disclosesEverything: !isSelectivelyDisclosable(credential.format),
        ...(required.claimSet !== undefined ? { claimSet: required.claimSet } : {}),
      });
    }
    credentials[credentialQuery.id] = { id: credentialQuery.id, format: credentialQuery.format, multiple: credentialQuery.multiple, candidates, rejected };
  }

  const answerable = (id: string) => (credentials[id]?.candidates.length ?? 0) > 0;
  if (!query.credential_sets) {
    return { credentials, credentialSets: null, satisfiable: query.credentials.every((c) => answerable(c.id)) };
  }
  const credentialSets = query.credential_sets.map((set): CredentialSetMatch => {
    const options = set.options.map((ids) => ({ credentials: [...ids], satisfiable: ids.every(answerable) }));
    return { required: set.required, ...(set.purpose !== undefined ? { purpose: set.purpose } : {}), options, satisfiable: options.some((o) => o.satisfiable) };
  });
  return { credentials, credentialSets, satisfiable: credentialSets.every((set) => !set.required || set.satisfiable) };
}

/**
 * The least a response must carry, as a starting choice: the first candidate
 * of every credential query, or with credential sets the first satisfiable
 * option of each required set (optional sets are left out). Null when the
 * query cannot be met.
 */
export function defaultDcqlSelection(match: DcqlMatch): DcqlSelection | null {
  if (!match.satisfiable) return null;
  const first = (id: string) => match.credentials[id]?.candidates[0]?.credentialId;
  const ids = match.credentialSets
    ? match.credentialSets.filter((set) => set.required).flatMap((set) => set.options.find((o) => o.satisfiable)?.credentials ?? [])
    : Object.keys(match.credentials);
  const selection: Record<string, string[]> = {};
  for (const id of ids) {
    const credentialId = first(id);
    if (credentialId === undefined) return null;
    selection[id] = [credentialId];
  }
  return selection;
}

/**
 * Why a selection is not a valid answer, or null when it is: every chosen
 * credential is a candidate of its query (one per query unless `multiple`),
 * every required credential query or set is answered, and with credential
 * sets no query is answered outside an option that is answered in full (a
 * stray credential would disclose more than any option asks).
 */
export function checkDcqlSelection(match: DcqlMatch, selection: DcqlSelection): string | null {
  for (const [id, chosen] of Object.entries(selection)) {
    const query = match.credentials[id];
    if (!query) return `"${id}" is not a credential query of the request`;
    if (chosen.length === 0) return `no credential is chosen for "${id}"`;
    if (chosen.length > 1 && !query.multiple) return `"${id}" takes one credential`;
    if (new Set(chosen).size !== chosen.length) return `a credential is chosen twice for "${id}"`;
    const unknown = chosen.find((credentialId) => !query.candidates.some((c) => c.credentialId === credentialId));
    if (unknown !== undefined) return `credential "${unknown}" does not answer "${id}"`;
  }
  const answered = (id: string) => Object.hasOwn(selection, id);
  if (!match.credentialSets) {
    const missing = Object.keys(match.credentials).find((id) => !answered(id));
    return missing === undefined ? null : `credential query "${missing}" is not answered`;
  }
  for (const [index, set] of match.credentialSets.entries()) {
    if (set.required && !set.options.some((option) => option.credentials.every(answered))) {
      return `credential set ${index} is required and none of its options is answered`;
    }
  }
  const covered = new Set(
    match.credentialSets.flatMap((set) => set.options.filter((option) => option.credentials.every(answered)).flatMap((option) => option.credentials)),
  );
  const stray = Object.keys(selection).find((id) => !covered.has(id));
  return stray === undefined ? null : `"${stray}" is answered, but no credential set option it belongs to is answered in full`;
}
