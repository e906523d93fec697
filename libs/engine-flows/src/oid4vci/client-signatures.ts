import type { ClientMessageOf, JsonObject, SignItem } from '@wallet/engine-protocol';
import { decodeCompactJws, jwkThumbprint, JwsError, toPublicKeyObject, verifyDecodedJws, type DecodedJws } from '@wallet/crypto';
import { FlowFailure } from '../errors';

/** A JWT the client signed, checked against what was asked. */
export interface ClientSignature {
  id: string;
  jws: string;
  /** The public key that signed it (from the `jwk` header). */
  jwk: JsonObject;
  /** Its RFC 7638 thumbprint. */
  jkt: string;
  alg: string;
}

/** JSON with sorted object keys, so two values compare by content. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
/** Header members a client may add besides `alg` and `jwk`. */
const ALLOWED_EXTRA_HEADER = new Set(['alg', 'jwk', 'kid']);

function refuse(item: SignItem, what: string): FlowFailure {
  const name = item.purpose === 'proof' ? 'key proof' : 'DPoP proof';
  return new FlowFailure('invalid_proof', `the ${name} "${item.id}" ${what}`);
}

function checkOne(item: SignItem, jws: string): ClientSignature {
  let decoded: DecodedJws;
  try {
    decoded = decodeCompactJws(jws);
  } catch {
    throw refuse(item, 'is not a compact JWS');
  }
  const { header, payload } = decoded as { header: Record<string, unknown>; payload: Record<string, unknown> };
  const alg = header['alg'];
  if (typeof alg !== 'string' || !item.algs.includes(alg)) throw refuse(item, `uses an algorithm the server does not accept (${item.algs.join(', ')})`);
  for (const [name, value] of Object.entries(item.header)) {
    if (canonicalJson(header[name]) !== canonicalJson(value)) throw refuse(item, `header "${name}" is not the one asked for`);
  }
  const extra = Object.keys(header).filter((name) => !(name in item.header) && !ALLOWED_EXTRA_HEADER.has(name));
  if (extra.length > 0) throw refuse(item, `header has members that were not asked for (${extra.slice(0, 3).join(', ')})`);
  const jwk = header['jwk'];
  if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk) || typeof (jwk as JsonObject)['kty'] !== 'string') {
    throw refuse(item, 'names no public key (jwk header)');
  }
  if (PRIVATE_MEMBERS.some((m) => m in (jwk as JsonObject))) throw refuse(item, 'jwk header carries private key material');
  let jkt: string;
  try {
    jkt = jwkThumbprint(jwk);
    verifyDecodedJws(decoded, toPublicKeyObject(jwk), [alg]);
  } catch (error) {
    if (error instanceof JwsError && error.code === 'invalid_signature') throw refuse(item, 'signature does not verify with its jwk');
    throw refuse(item, 'key cannot verify it');
  }
  if (item.jkt !== undefined && jkt !== item.jkt) throw refuse(item, 'is signed by another key than the flow\'s DPoP key');
  // Named checks first, for messages that say which claim is wrong; then the whole payload must be the one asked for.
  for (const claim of ['aud', 'nonce', 'htu', 'htm', 'ath', 'iss']) {
    if (canonicalJson(payload[claim]) !== canonicalJson(item.payload[claim])) throw refuse(item, `claim "${claim}" is not the one asked for`);
  }
  if (canonicalJson(payload) !== canonicalJson(item.payload)) throw refuse(item, 'payload is not exactly the one asked for');
  return { id: item.id, jws, jwk: jwk as JsonObject, jkt, alg };
}

/**
 * Checks the client's answer to a signing question before anything is sent
 * on: one signature per item; each with an accepted algorithm, the header and
 * payload exactly as asked (so `aud`, `nonce`, `typ`, `htu`, `ath` are ours),
 * a public `jwk` that verifies the signature, the DPoP key the flow uses, and
 * a different key for each key proof. Throws `FlowFailure` (`invalid_proof`,
 * or `declined` when the client declined).
 */
export function checkSignatures(items: readonly SignItem[], answer: ClientMessageOf<'sign_response'>): ClientSignature[] {
  if (answer.error) {
    const code = answer.error.code === 'declined' ? 'declined' : 'invalid_proof';
    throw new FlowFailure(code, answer.error.code === 'declined' ? 'the user declined to sign' : `the client could not sign (${answer.error.code})`);
  }
  const signatures = answer.signatures ?? [];
  const byId = new Map(signatures.map((s) => [s.id, s.jws]));
  if (signatures.length !== items.length || byId.size !== items.length) {
    throw new FlowFailure('invalid_proof', `the client answered ${signatures.length} signatures for ${items.length} items`);
  }
  const checked = items.map((item) => {
    const jws = byId.get(item.id);
    if (jws === undefined) throw refuse(item, 'is missing from the answer');
    return checkOne(item, jws);
  });
  const proofKeys = checked.filter((_, i) => items[i]?.purpose === 'proof').map((s) => s.jkt);
  if (new Set(proofKeys).size !== proofKeys.length) throw new FlowFailure('invalid_proof', 'two key proofs use the same key; each credential needs its own');
  return checked;
}
