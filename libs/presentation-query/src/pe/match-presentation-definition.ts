import { asPresented } from '../dcql/match-dcql-query';
import {
  isSelectivelyDisclosable,
  uniqueClaims,
  type CandidateCredential,
  type DisclosedClaim,
  type HeldCredential,
  type RejectedCredential,
} from '../held-credential';
import { fieldDocument, matchField, type InputDescriptor, type PresentationDefinition } from './presentation-exchange';

/**
 * The wallet's side of Presentation Exchange: which held credentials can
 * answer each input descriptor, with the exact claims each would disclose.
 * Built on the verifier's own field matching ({@link matchField}).
 */

/** The held credentials for one input descriptor. */
export interface InputDescriptorMatch {
  id: string;
  name?: string;
  purpose?: string;
  limitDisclosure?: 'required' | 'preferred';
  candidates: CandidateCredential[];
  rejected: RejectedCredential[];
}

/** What the wallet can answer of a presentation definition. */
export interface PresentationDefinitionMatch {
  definitionId: string;
  /** Per input descriptor id, in the definition's order. */
  descriptors: Record<string, InputDescriptorMatch>;
  /** Every input descriptor has a candidate (all are required: `submission_requirements` are not supported). */
  satisfiable: boolean;
}

/** The chosen held credential per input descriptor id. */
export type PresentationDefinitionSelection = Readonly<Record<string, string>>;

/** Format names that denote the same kind of credential in `format` designations. */
const FORMAT_FAMILIES: readonly (readonly string[])[] = [
  ['dc+sd-jwt', 'vc+sd-jwt'],
  ['jwt_vc_json', 'jwt_vp_json', 'jwt_vc', 'jwt_vp'],
  ['mso_mdoc'],
];

function formatAccepted(designation: Record<string, unknown> | undefined, format: string): boolean {
  if (!designation) return true;
  const family = FORMAT_FAMILIES.find((names) => names.includes(format)) ?? [format];
  return Object.keys(designation).some((name) => family.includes(name));
}

function explain(definition: PresentationDefinition, descriptor: InputDescriptor, credential: HeldCredential): string | DisclosedClaim[] {
  if (!formatAccepted(descriptor.format ?? definition.format, credential.format)) return `format ${credential.format} is not asked for`;
  if (credential.holderBound === false) return 'holder binding is required';
  if (descriptor.constraints.limit_disclosure === 'required' && !isSelectivelyDisclosable(credential.format)) {
    return `limit_disclosure is required and format ${credential.format} cannot disclose selectively`;
  }
  const document = fieldDocument(asPresented(credential));
  const claims: DisclosedClaim[] = [];
  for (const field of descriptor.constraints.fields) {
    const matching = matchField(document, field);
    if (matching.length === 0) {
      if (field.optional) continue;
      return `field ${field.path[0] ?? ''} is missing or does not match its filter`;
    }
    claims.push(...matching.map(({ path, value }) => ({ path, value, ...(field.id !== undefined ? { claimId: field.id } : {}) })));
  }
  return uniqueClaims(claims);
}

/**
 * Matches a (parsed) presentation definition against the holder's
 * credentials: per input descriptor, the candidates with the claims each
 * would disclose: the values of every field (of its first path that selects
 * a value passing the filter: `const`, `enum`, `pattern`, `type`, `minimum`,
 * `maximum`), and of optional fields when the credential has them. The
 * `format` designation and `limit_disclosure: required` (only selectively
 * disclosable formats) are honoured.
 */
export function matchPresentationDefinition(definition: PresentationDefinition, held: readonly HeldCredential[]): PresentationDefinitionMatch {
  const descriptors: Record<string, InputDescriptorMatch> = {};
  for (const descriptor of definition.input_descriptors) {
    const candidates: CandidateCredential[] = [];
    const rejected: RejectedCredential[] = [];
    for (const credential of held) {
      const result = explain(definition, descriptor, credential);
      if (typeof result === 'string') rejected.push({ credentialId: credential.id, reason: result });
      else candidates.push({ credentialId: credential.id, format: credential.format, claims: result, disclosesEverything: !isSelectivelyDisclosable(credential.format) });
    }
    descriptors[descriptor.id] = {
      id: descriptor.id,
      ...(descriptor.name !== undefined ? { name: descriptor.name } : {}),
      ...(descriptor.purpose !== undefined ? { purpose: descriptor.purpose } : {}),
      ...(descriptor.constraints.limit_disclosure !== undefined ? { limitDisclosure: descriptor.constraints.limit_disclosure } : {}),
      candidates,
      rejected,
    };
  }
  return { definitionId: definition.id, descriptors, satisfiable: Object.values(descriptors).every((d) => d.candidates.length > 0) };
}

/** The first candidate of every input descriptor; null when one has none. */
export function defaultPresentationDefinitionSelection(match: PresentationDefinitionMatch): PresentationDefinitionSelection | null {
  const selection: Record<string, string> = {};
  for (const descriptor of Object.values(match.descriptors)) {
    const first = descriptor.candidates[0];
    if (!first) return null;
    selection[descriptor.id] = first.credentialId;
  }
  return selection;
}

/** Why a selection is not a valid answer (every input descriptor answered by one of its candidates), or null. */
export function checkPresentationDefinitionSelection(match: PresentationDefinitionMatch, selection: PresentationDefinitionSelection): string | null {
  for (const id of Object.keys(selection)) if (!match.descriptors[id]) return `"${id}" is not an input descriptor of the request`;
  for (const descriptor of Object.values(match.descriptors)) {
    const chosen = selection[descriptor.id];
    if (chosen === undefined) return `input descriptor "${descriptor.id}" is not answered`;
    if (!descriptor.candidates.some((c) => c.credentialId === chosen)) return `credential "${chosen}" does not answer "${descriptor.id}"`;
  }
  return null;
}
