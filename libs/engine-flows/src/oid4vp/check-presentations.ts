import { decodeCompactJws } from '@wallet/crypto';
import {
  evaluateDcqlQuery,
  evaluatePresentationExchange,
  parseJsonPath,
  parsePresentationSubmission,
  PresentationError,
  readSdJwtVc,
  sdHash,
  selectSubmitted,
  verifyJwtVp,
  verifySdJwtVc,
  type ClaimPath,
  type CredentialQuery,
  type DcqlQuery,
  type IssuerKeyResolver,
  type PresentationDefinition,
  type PresentedCredential,
} from '@wallet/protocol';
import { createHash } from 'node:crypto';
import { FlowFailure } from '../errors';

export interface PresentationAnswer {
  vp_token?: Record<string, string[]> | undefined;
  presentations?: string[] | undefined;
  presentation_submission?: Record<string, unknown> | undefined;
}

export interface PresentationCheckOptions {
  query: { dcql?: DcqlQuery; definition?: PresentationDefinition };
  nonce: string;
  /** The key-binding JWT's `aud`: the verifier's effective client id. */
  audience: string;
  /** Transaction data as the verifier sent it (base64url JSON), with the credential ids each names. */
  transactionData: ReadonlyArray<{ encoded: string; credentialIds: readonly string[] }>;
  resolveIssuerKey: IssuerKeyResolver;
  now: () => number;
  clockSkewSeconds: number;
}

/** What the engine sends on: the vp_token (and PE submission) exactly as checked. */
export interface CheckedPresentations {
  vpToken: Record<string, string[]> | string[] | string;
  submission?: Record<string, unknown>;
}

const invalid = (message: string, cause?: unknown) => new FlowFailure('invalid_presentation', message, cause === undefined ? {} : { cause });

/** The claim path of every disclosure of an SD-JWT (in the issuer's structure: array indices are the original ones). */
export function disclosurePaths(payload: Record<string, unknown>, disclosures: readonly string[], sdAlg: string): ClaimPath[] {
  const byDigest = new Map<string, { name?: string; value: unknown }>();
  for (const encoded of disclosures) {
    const decoded = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as unknown[];
    byDigest.set(sdHash(sdAlg, encoded), decoded.length === 3 ? { name: String(decoded[1]), value: decoded[2] } : { value: decoded[1] });
  }
  const out: ClaimPath[] = [];
  const walk = (node: unknown, path: ClaimPath, depth: number): void => {
    if (depth > 32 || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      node.forEach((element, index) => {
        const digest = element && typeof element === 'object' && !Array.isArray(element) ? (element as Record<string, unknown>)['...'] : undefined;
        const disclosed = typeof digest === 'string' ? byDigest.get(digest) : undefined;
        if (disclosed) {
          out.push([...path, index]);
          walk(disclosed.value, [...path, index], depth + 1);
        } else walk(element, [...path, index], depth + 1);
      });
      return;
    }
    const record = node as Record<string, unknown>;
    for (const digest of Array.isArray(record['_sd']) ? record['_sd'] : []) {
      const disclosed = typeof digest === 'string' ? byDigest.get(digest) : undefined;
      if (disclosed?.name === undefined) continue;
      out.push([...path, disclosed.name]);
      walk(disclosed.value, [...path, disclosed.name], depth + 1);
    }
    for (const [key, value] of Object.entries(record)) if (key !== '_sd' && key !== '_sd_alg') walk(value, [...path, key], depth + 1);
  };
  walk(payload, [], 0);
  return out;
}

/** `a` is `b` or lies on its way (an ancestor of it); `null` on either side stands for any array index. */
function onPath(a: ClaimPath, b: ClaimPath): boolean {
  if (a.length > b.length) return false;
  return a.every((component, i) => {
    const other = b[i];
    return other === component || (other === null && typeof component === 'number') || (component === null && typeof other === 'number');
  });
}

/**
 * True when every disclosed path is needed for a requested path: an ancestor
 * of one (to reach it), the path itself, or inside it. Anything else was not
 * asked for.
 */
function withinRequested(disclosed: readonly ClaimPath[], requested: readonly ClaimPath[]): boolean {
  return disclosed.every((path) => requested.some((want) => onPath(path, want) || onPath(want, path)));
}

/** The claim paths a DCQL credential query allows: its claims, or one of its claim sets (null: no claim at all). */
function allowedByQuery(query: CredentialQuery): ClaimPath[][] {
  const claims = query.claims ?? [];
  if (claims.length === 0) return [[]];
  if (!query.claim_sets) return [claims.map((c) => c.path)];
  const byId = new Map(claims.map((c) => [c.id, c.path]));
  return query.claim_sets.map((set) => set.map((id) => byId.get(id)).filter((p): p is ClaimPath => p !== undefined));
}

function hashB64(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

async function checkSdJwt(
  presentation: string,
  credentialId: string,
  allowed: ClaimPath[][],
  options: PresentationCheckOptions,
): Promise<PresentedCredential> {
  let parts;
  try {
    parts = readSdJwtVc(presentation);
  } catch (cause) {
    throw invalid(`the presentation for "${credentialId}" is not an SD-JWT VC presentation`, cause);
  }
  let verified;
  try {
    verified = await verifySdJwtVc(presentation, {
      resolveIssuerKey: options.resolveIssuerKey,
      nonce: options.nonce,
      audience: options.audience,
      now: () => new Date(options.now()),
      clockSkewSeconds: options.clockSkewSeconds,
    });
  } catch (cause) {
    const code = cause instanceof PresentationError ? cause.code : 'malformed';
    throw invalid(`the presentation for "${credentialId}" does not verify (${code})`, cause);
  }
  const sdAlg = typeof parts.issuer.payload['_sd_alg'] === 'string' ? parts.issuer.payload['_sd_alg'] : 'sha-256';
  const disclosed = disclosurePaths(parts.issuer.payload as Record<string, unknown>, parts.disclosures, sdAlg);
  if (!allowed.some((set) => withinRequested(disclosed, set))) {
    throw invalid(`the presentation for "${credentialId}" discloses claims the verifier did not ask for`);
  }
  const wanted = options.transactionData.filter((t) => t.credentialIds.includes(credentialId)).map((t) => hashB64(t.encoded));
  const kb = decodeCompactJws(parts.kbJwt).payload;
  const hashes = kb['transaction_data_hashes'];
  if (wanted.length > 0 || hashes !== undefined) {
    const given = Array.isArray(hashes) ? hashes : [];
    if (given.length !== wanted.length || wanted.some((h) => !given.includes(h)) || (kb['transaction_data_hashes_alg'] ?? 'sha-256') !== 'sha-256') {
      throw invalid(`the presentation for "${credentialId}" does not bind the transaction data it was asked to (transaction_data_hashes)`);
    }
  }
  return { format: parts.issuer.header.typ === 'vc+sd-jwt' ? 'vc+sd-jwt' : 'dc+sd-jwt', vct: verified.vct, claims: verified.claims, holderBound: true };
}

async function checkJwtVp(presentation: string, credentialId: string, options: PresentationCheckOptions): Promise<PresentedCredential> {
  try {
    const verified = await verifyJwtVp(presentation, {
      resolveIssuerKey: options.resolveIssuerKey,
      nonce: options.nonce,
      audience: options.audience,
      now: () => new Date(options.now()),
      clockSkewSeconds: options.clockSkewSeconds,
    });
    const [credential] = verified.credentials;
    if (!credential || verified.credentials.length !== 1) throw invalid(`the presentation for "${credentialId}" must carry exactly one credential`);
    return { format: 'jwt_vc_json', types: credential.types, claims: credential.claims, holderBound: true };
  } catch (cause) {
    if (cause instanceof FlowFailure) throw cause;
    const code = cause instanceof PresentationError ? cause.code : 'malformed';
    throw invalid(`the presentation for "${credentialId}" does not verify (${code})`, cause);
  }
}

/**
 * Checks what the client built before it goes to the verifier: every
 * presentation verifies (issuer signature, key binding to this request's
 * nonce and audience, `sd_hash`), binds the transaction data it must,
 * discloses nothing the query did not ask for, and together they answer the
 * query. Throws `FlowFailure` `invalid_presentation` naming the problem.
 */
export async function checkPresentations(answer: PresentationAnswer, options: PresentationCheckOptions): Promise<CheckedPresentations> {
  const { dcql, definition } = options.query;
  if (dcql) {
    const vpToken = answer.vp_token;
    if (!vpToken || Object.keys(vpToken).length === 0) throw invalid('the answer has no vp_token for the DCQL query');
    const queries = new Map(dcql.credentials.map((q) => [q.id, q]));
    const presented = new Map<string, PresentedCredential[]>();
    for (const [id, list] of Object.entries(vpToken)) {
      const query = queries.get(id);
      if (!query) throw invalid(`the answer presents for "${id.slice(0, 64)}", which the query does not ask`);
      const checked: PresentedCredential[] = [];
      for (const presentation of list) {
        checked.push(query.format === 'jwt_vc_json' ? await checkJwtVp(presentation, id, options) : await checkSdJwt(presentation, id, allowedByQuery(query), options));
      }
      presented.set(id, checked);
    }
    try {
      evaluateDcqlQuery(dcql, presented);
    } catch (cause) {
      throw invalid(`the presentations do not answer the query: ${cause instanceof Error ? cause.message.slice(0, 200) : 'mismatch'}`, cause);
    }
    return { vpToken };
  }
  if (!definition) throw invalid('the request has no query');
  const presentations = answer.presentations;
  if (!presentations?.length || !answer.presentation_submission) throw invalid('the answer has no presentations with a presentation_submission');
  let submission;
  try {
    submission = parsePresentationSubmission(answer.presentation_submission);
  } catch (cause) {
    throw invalid('the presentation_submission is malformed', cause);
  }
  const presented = new Map<string, PresentedCredential>();
  for (const entry of submission.descriptor_map) {
    const descriptor = definition.input_descriptors.find((d) => d.id === entry.id);
    if (!descriptor) throw invalid(`the submission answers "${entry.id.slice(0, 64)}", which the definition does not ask`);
    let presentation: string;
    try {
      presentation = selectSubmitted(presentations, presentations.length === 1, entry.path);
    } catch (cause) {
      throw invalid('the presentation_submission names no presentation', cause);
    }
    const paths = descriptor.constraints.fields.flatMap((f) => f.path.map(parseJsonPath)).filter((p): p is ClaimPath => p !== null);
    presented.set(
      entry.id,
      entry.format === 'jwt_vp' || entry.format === 'jwt_vp_json' ? await checkJwtVp(presentation, entry.id, options) : await checkSdJwt(presentation, entry.id, [paths], options),
    );
  }
  try {
    evaluatePresentationExchange(definition, submission, presented);
  } catch (cause) {
    throw invalid(`the presentations do not answer the definition: ${cause instanceof Error ? cause.message.slice(0, 200) : 'mismatch'}`, cause);
  }
  return { vpToken: presentations.length === 1 ? (presentations[0] as string) : presentations, submission: answer.presentation_submission };
}
