import type { JsonObject } from '@wallet/engine-protocol';
import {
  checkDcqlSelection,
  checkPresentationDefinitionSelection,
  defaultDcqlSelection,
  defaultPresentationDefinitionSelection,
  matchDcqlQuery,
  matchPresentationDefinition,
  parseDcqlQuery,
  parsePresentationDefinition,
  type CandidateCredential,
  type DcqlMatch,
  type HeldCredential,
  type PresentationDefinition,
  type PresentationDefinitionMatch,
} from '@wallet/presentation-query';
import { base64urlDecode, base64urlEncode } from './base64url';
import { ClientFailureError } from './errors';
import { decodeJwtVc, presentJwtVc } from './jwt-vc';
import type { JwtSigner } from './keyring';
import { decodeSdJwt, presentSdJwt, selectSdJwtDisclosures, transactionDataHashes, type DecodedSdJwt } from './sd-jwt';
import type {
  HeldStoredCredential,
  PresentationCandidate,
  PresentationChoice,
  PresentationConsentRequest,
  PresentationQuery,
  PresentationRequest,
  TransactionDataItem,
  WalletHandlers,
} from './types';

/**
 * The built-in answer to `presentation_request`: the wallet's credentials
 * matched locally against the query, the user's consent on exactly what
 * would be disclosed, then the presentations. The engine sees only what the
 * user agreed to present.
 */

/** The body of a `presentation_response` (without type and ids). */
export type PresentationResponseBody =
  | { vp_token: Record<string, string[]> }
  | { presentations: string[]; presentation_submission: JsonObject }
  | { error: { code: 'declined' | 'unsupported' | 'failed'; message?: string } };

type Log = (event: string, detail?: Record<string, unknown>) => void;

/** A held credential the client can present, decoded once. */
type Presentable =
  | { kind: 'sd-jwt'; held: HeldCredential; stored: HeldStoredCredential; decoded: DecodedSdJwt }
  | { kind: 'jwt-vc'; held: HeldCredential; stored: HeldStoredCredential };

const SD_JWT_FORMATS = ['dc+sd-jwt', 'vc+sd-jwt'];
const decoder = new TextDecoder();

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Decodes the wallet's credentials into what the matcher reads; ones that cannot be read or presented are left out. */
async function readCredentials(stored: readonly HeldStoredCredential[], log: Log): Promise<Map<string, Presentable>> {
  const out = new Map<string, Presentable>();
  for (const credential of stored) {
    if (out.has(credential.id)) {
      log('credential_skipped', { reason: 'duplicate id' });
      continue;
    }
    try {
      if (typeof credential.credential !== 'string') throw new TypeError('not a compact credential');
      if (SD_JWT_FORMATS.includes(credential.format)) {
        const decoded = await decodeSdJwt(credential.credential);
        const vct = decoded.claims['vct'];
        const held: HeldCredential = {
          id: credential.id,
          format: credential.format,
          ...(typeof vct === 'string' ? { vct } : {}),
          claims: decoded.claims,
          holderBound: decoded.holderJwk !== undefined,
        };
        out.set(credential.id, { kind: 'sd-jwt', held, stored: credential, decoded });
      } else if (credential.format === 'jwt_vc_json') {
        const decoded = decodeJwtVc(credential.credential);
        const held: HeldCredential = { id: credential.id, format: credential.format, types: decoded.types, claims: decoded.claims, holderBound: decoded.holderJwk !== undefined };
        out.set(credential.id, { kind: 'jwt-vc', held, stored: credential });
      } else {
        log('credential_skipped', { format: credential.format.slice(0, 64), reason: 'format not presentable' });
      }
    } catch (error) {
      // Never the credential itself in a log line: only that it could not be read.
      log('credential_skipped', { format: credential.format.slice(0, 64), reason: error instanceof Error ? error.message.slice(0, 128) : 'unreadable' });
    }
  }
  return out;
}

/**
 * The transaction data items, decoded, with the query ids each applies to:
 * those its `credential_ids` names (credential query ids, or input
 * descriptor ids for Presentation Exchange), as the engine checks them. An
 * item that names none applies to no presentation.
 */
function readTransactionData(request: PresentationRequest, queryIds: readonly string[]): TransactionDataItem[] {
  const encoded = request.transaction_data_encoded ?? [];
  const decoded = request.transaction_data ?? [];
  if (decoded.length > 0 && encoded.length !== decoded.length) {
    // The hashes are over the verifier's strings: without them the presentation cannot bind the transaction.
    throw new ClientFailureError('unsupported', 'the request carries transaction data without its encoded form');
  }
  return encoded.map((text, i) => {
    let data = decoded[i];
    if (!data) {
      const parsed: unknown = JSON.parse(decoder.decode(base64urlDecode(text)));
      if (!isObject(parsed)) throw new ClientFailureError('failed', 'a transaction data item is not a JSON object');
      data = parsed;
    }
    const named = data['credential_ids'];
    const appliesTo = Array.isArray(named) ? queryIds.filter((id) => named.includes(id)) : [];
    return { data, encoded: text, appliesTo };
  });
}

function candidateView(candidate: CandidateCredential & { claimSet?: number }, presentable: Presentable): PresentationCandidate {
  const disclosed =
    presentable.kind === 'sd-jwt'
      ? selectSdJwtDisclosures(presentable.decoded, candidate.claims.map((c) => c.path)).claims
      : presentable.held.claims;
  return {
    credential: presentable.held,
    claims: candidate.claims,
    disclosed,
    disclosesEverything: candidate.disclosesEverything,
    ...(candidate.claimSet !== undefined ? { claimSet: candidate.claimSet } : {}),
  };
}

/** The choice as lists of credential ids per query. */
function normalizeChoice(choice: PresentationChoice): Record<string, string[]> {
  if (!isObject(choice) || !isObject(choice.credentials)) throw new ClientFailureError('failed', 'the consent handler returned no credentials choice');
  const out: Record<string, string[]> = {};
  for (const [id, chosen] of Object.entries(choice.credentials)) out[id] = typeof chosen === 'string' ? [chosen] : [...chosen];
  return out;
}

/** Presentation Exchange takes one credential per input descriptor. */
function checkPeChoice(match: PresentationDefinitionMatch, chosen: Record<string, string[]>): string | null {
  const selection: Record<string, string> = {};
  for (const [id, ids] of Object.entries(chosen)) {
    const [first, ...more] = ids;
    if (first === undefined || more.length > 0) return `"${id}" takes exactly one credential`;
    selection[id] = first;
  }
  return checkPresentationDefinitionSelection(match, selection);
}

interface Query {
  language: 'dcql' | 'presentation_exchange';
  match: DcqlMatch | PresentationDefinitionMatch;
  definition?: PresentationDefinition;
  queries: { id: string; multiple: boolean; name?: string; purpose?: string; candidates: (CandidateCredential & { claimSet?: number })[] }[];
}

function readQuery(request: PresentationRequest, held: readonly HeldCredential[]): Query {
  const { dcql_query: dcql, presentation_definition: pd } = request.query;
  if (dcql && !pd) {
    const match = matchDcqlQuery(parseDcqlQuery(dcql), held);
    return { language: 'dcql', match, queries: Object.values(match.credentials) };
  }
  if (pd && !dcql) {
    const definition = parsePresentationDefinition(pd);
    const match = matchPresentationDefinition(definition, held);
    const queries = Object.values(match.descriptors).map((d) => ({
      id: d.id,
      multiple: false,
      ...(d.name !== undefined ? { name: d.name } : {}),
      ...(d.purpose !== undefined ? { purpose: d.purpose } : {}),
      candidates: d.candidates,
    }));
    return { language: 'presentation_exchange', match, definition, queries };
  }
  throw new ClientFailureError('unsupported', 'the request carries neither or both of dcql_query and presentation_definition');
}

/**
 * Answers a `presentation_request` with the built-in path: match, consent,
 * build. Declines when no consent handler is set. Throws on failures (the
 * caller turns them into the reply's `error`).
 */
export async function answerPresentationRequest(request: PresentationRequest, handlers: WalletHandlers, log: Log): Promise<PresentationResponseBody> {
  const consent = handlers.consentToPresentation;
  if (!consent) {
    log('presentation_declined', { flowId: request.flow_id, reason: 'no consent handler' });
    return { error: { code: 'declined', message: 'this wallet asks no consent, so it presents nothing' } };
  }
  if (!handlers.credentials) throw new ClientFailureError('unsupported', 'this wallet cannot list its credentials');
  const presentables = await readCredentials(await handlers.credentials(request), log);
  const held = [...presentables.values()].map((p) => p.held);
  let query: Query;
  try {
    query = readQuery(request, held);
  } catch (error) {
    if (error instanceof ClientFailureError) throw error;
    throw new ClientFailureError('unsupported', error instanceof Error ? error.message : 'the query cannot be read');
  }
  const queryIds = query.queries.map((q) => q.id);
  const transactionData = readTransactionData(request, queryIds);

  const queries: PresentationQuery[] = query.queries.map((q) => ({
    id: q.id,
    multiple: q.multiple,
    ...(q.name !== undefined ? { name: q.name } : {}),
    ...(q.purpose !== undefined ? { purpose: q.purpose } : {}),
    candidates: q.candidates.map((candidate) => {
      const presentable = presentables.get(candidate.credentialId);
      if (!presentable) throw new Error('a candidate that was not held');
      return candidateView(candidate, presentable);
    }),
  }));
  const suggested =
    query.language === 'dcql' ? defaultDcqlSelection(query.match as DcqlMatch) : defaultPresentationDefinitionSelection(query.match as PresentationDefinitionMatch);
  const consentRequest: PresentationConsentRequest = {
    flowId: request.flow_id,
    verifier: request.verifier,
    queryLanguage: query.language,
    queries,
    credentialSets: query.language === 'dcql' ? (query.match as DcqlMatch).credentialSets : null,
    satisfiable: query.match.satisfiable,
    suggestion: suggested ? { credentials: { ...suggested } } : null,
    transactionData,
    request,
  };

  const answer = await consent(consentRequest);
  if (answer === 'decline') return { error: { code: 'declined' } };
  const chosen = normalizeChoice(answer);
  const problem = query.language === 'dcql' ? checkDcqlSelection(query.match as DcqlMatch, chosen) : checkPeChoice(query.match as PresentationDefinitionMatch, chosen);
  if (problem) throw new ClientFailureError('failed', `the consent handler chose an invalid answer: ${problem}`);

  const signWith = handlers.signWith;
  if (!signWith) throw new ClientFailureError('unsupported', 'this wallet cannot sign presentations (set handlers.signWith, e.g. keyring.signWith)');
  const hashes = await transactionDataHashes(transactionData.map((t) => t.encoded));
  const build = async (queryId: string, credentialId: string): Promise<{ presentation: string; presentable: Presentable }> => {
    const candidate = query.queries.find((q) => q.id === queryId)?.candidates.find((c) => c.credentialId === credentialId);
    const presentable = presentables.get(credentialId);
    if (!candidate || !presentable) throw new ClientFailureError('failed', `credential "${credentialId}" does not answer "${queryId}"`);
    const applicable = hashes.filter((_, i) => transactionData[i]?.appliesTo.includes(queryId));
    return { presentation: await buildPresentation(presentable, candidate, { nonce: request.nonce, aud: request.audience, hashes: applicable }, signWith), presentable };
  };

  if (query.language === 'dcql') {
    const vpToken: Record<string, string[]> = {};
    for (const [queryId, ids] of Object.entries(chosen)) {
      const presentations: string[] = [];
      for (const id of ids) presentations.push((await build(queryId, id)).presentation);
      vpToken[queryId] = presentations;
    }
    return { vp_token: vpToken };
  }
  const built: { presentation: string; presentable: Presentable; descriptorId: string }[] = [];
  for (const descriptor of query.queries) {
    const id = chosen[descriptor.id]?.[0];
    if (id === undefined) throw new ClientFailureError('failed', `input descriptor "${descriptor.id}" is not answered`);
    built.push({ ...(await build(descriptor.id, id)), descriptorId: descriptor.id });
  }
  return { presentations: built.map((b) => b.presentation), presentation_submission: presentationSubmission(query.definition?.id ?? '', built) };
}

async function buildPresentation(
  presentable: Presentable,
  candidate: CandidateCredential,
  kb: { nonce: string; aud: string; hashes: readonly string[] },
  sign: JwtSigner,
): Promise<string> {
  if (presentable.kind === 'jwt-vc') {
    // A VP JWT has no place for transaction data hashes: presenting it would leave the transaction unbound.
    if (kb.hashes.length > 0) throw new ClientFailureError('unsupported', 'transaction data cannot be bound to a JWT VC presentation');
    return presentJwtVc(presentable.stored.credential, { nonce: kb.nonce, aud: kb.aud }, sign);
  }
  const binding = presentable.held.holderBound ? { nonce: kb.nonce, aud: kb.aud, ...(kb.hashes.length > 0 ? { transactionDataHashes: kb.hashes } : {}) } : null;
  if (!binding && kb.hashes.length > 0) throw new ClientFailureError('unsupported', 'transaction data needs a key-binding JWT, and the credential has no holder key');
  return presentSdJwt(presentable.decoded, candidate.claims.map((c) => c.path), binding, sign);
}

/** The PE submission: one entry per input descriptor, `$` for a single presentation, `$[i]` otherwise. */
function presentationSubmission(definitionId: string, built: readonly { presentable: Presentable; descriptorId: string }[]): JsonObject {
  const random = new Uint8Array(12);
  globalThis.crypto.getRandomValues(random);
  const single = built.length === 1;
  return {
    id: base64urlEncode(random),
    definition_id: definitionId,
    descriptor_map: built.map(({ presentable, descriptorId }, i) => {
      const path = single ? '$' : `$[${i}]`;
      if (presentable.kind === 'sd-jwt') return { id: descriptorId, format: presentable.held.format, path };
      return { id: descriptorId, format: 'jwt_vp_json', path, path_nested: { id: descriptorId, format: 'jwt_vc_json', path: '$.vp.verifiableCredential[0]' } };
    }),
  };
}
