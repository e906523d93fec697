import type { ConcreteClaimPath } from './dcql/evaluate-dcql-query';

/**
 * A credential the wallet holds, as the holder sees it: every claim it could
 * disclose. What a query is matched against on the wallet side (the verifier
 * side matches a {@link PresentedCredential}, the claims actually disclosed).
 */
export interface HeldCredential {
  /** The wallet's own id of the credential (never sent to anyone). */
  id: string;
  /** `dc+sd-jwt`, `vc+sd-jwt`, `jwt_vc_json`, `mso_mdoc`, ... */
  format: string;
  /** SD-JWT VC `vct`. */
  vct?: string;
  /** W3C VC `type` values (JWT VC). */
  types?: readonly string[];
  /** mdoc doctype. */
  doctype?: string;
  /**
   * All claims the holder can disclose, selectively disclosable or not (for
   * an SD-JWT VC: the payload with every disclosure resolved, without `_sd`
   * and `_sd_alg`; for a JWT VC: `credentialSubject` without `id`, as the
   * verifier reads it).
   */
  claims: Record<string, unknown>;
  /** Whether the holder can prove possession of a key the credential is bound to (default true). */
  holderBound?: boolean;
}

/** One claim a presentation would disclose: where it is in the held claims, and its value. */
export interface DisclosedClaim {
  /** Concrete path into {@link HeldCredential.claims}: `null` wildcards of the query are resolved to indexes. */
  path: ConcreteClaimPath;
  value: unknown;
  /** The DCQL claims query id, or the PE field id, it answers (when the query names it). */
  claimId?: string;
}

/** A held credential that can answer a credential query or input descriptor, and what it would disclose. */
export interface CandidateCredential {
  /** {@link HeldCredential.id}. */
  credentialId: string;
  format: string;
  /**
   * Exactly the claims the query asks for and this credential would
   * disclose. Claims the issuer made always visible (`iss`, `vct`, dates,
   * `cnf`, non-selectively-disclosable claims) are visible besides.
   */
  claims: DisclosedClaim[];
  /** The format cannot disclose selectively (JWT VC): the verifier sees every claim, not only {@link claims}. */
  disclosesEverything: boolean;
}

/** A held credential that cannot answer a query, and why (never claim values). */
export interface RejectedCredential {
  credentialId: string;
  reason: string;
}

/** Formats whose claims can be disclosed one by one. */
export const SELECTIVE_DISCLOSURE_FORMATS: readonly string[] = ['dc+sd-jwt', 'vc+sd-jwt', 'mso_mdoc'];

/** Whether a format discloses claims selectively (otherwise a presentation shows all of them). */
export function isSelectivelyDisclosable(format: string): boolean {
  return SELECTIVE_DISCLOSURE_FORMATS.includes(format);
}

const pathKey = (path: ConcreteClaimPath) => JSON.stringify(path);

/** The claims once each (two claims queries may select the same position), in order of first appearance. */
export function uniqueClaims(claims: readonly DisclosedClaim[]): DisclosedClaim[] {
  const seen = new Set<string>();
  return claims.filter((claim) => {
    const key = pathKey(claim.path);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
