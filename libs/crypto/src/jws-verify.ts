import { constants, createPublicKey, KeyObject, verify, type JsonWebKey, type webcrypto } from 'node:crypto';

/** WebCrypto's key class (jose's importJWK returns these): a global in Node 20, not a member of node:crypto.webcrypto. */
const WebCryptoKey = (globalThis as { CryptoKey?: abstract new () => unknown }).CryptoKey;

/**
 * Compact JWS signature checks with node:crypto directly. jose's `jwtVerify`
 * goes through WebCrypto and costs several times the raw verification on hot
 * paths (every presentation a verifier receives carries two signatures).
 * Claims (`exp`, `nbf`, ...) are the caller's to check.
 */
export class JwsError extends Error {
  constructor(
    readonly code: 'malformed' | 'unsupported_algorithm' | 'invalid_signature',
    message: string,
  ) {
    super(message);
    this.name = 'JwsError';
  }
}

interface AlgSpec {
  hash: string | null;
  keyType: string;
  curve?: string;
  pss?: boolean;
  ecdsa?: boolean;
}

const ALGS: Readonly<Record<string, AlgSpec>> = {
  ES256: { hash: 'sha256', keyType: 'ec', curve: 'prime256v1', ecdsa: true },
  ES384: { hash: 'sha384', keyType: 'ec', curve: 'secp384r1', ecdsa: true },
  ES512: { hash: 'sha512', keyType: 'ec', curve: 'secp521r1', ecdsa: true },
  RS256: { hash: 'sha256', keyType: 'rsa' },
  RS384: { hash: 'sha384', keyType: 'rsa' },
  RS512: { hash: 'sha512', keyType: 'rsa' },
  PS256: { hash: 'sha256', keyType: 'rsa', pss: true },
  PS384: { hash: 'sha384', keyType: 'rsa', pss: true },
  PS512: { hash: 'sha512', keyType: 'rsa', pss: true },
  EdDSA: { hash: null, keyType: 'ed25519' },
  Ed25519: { hash: null, keyType: 'ed25519' },
};

/** A public KeyObject from a KeyObject, a WebCrypto key or a public JWK; symmetric and private material is refused. */
export function toPublicKeyObject(key: unknown): KeyObject {
  let object: KeyObject;
  if (key instanceof KeyObject) object = key;
  else if (WebCryptoKey && key instanceof WebCryptoKey) object = KeyObject.from(key as webcrypto.CryptoKey);
  else if (key && typeof key === 'object' && typeof (key as JsonWebKey).kty === 'string') {
    const jwk = key as JsonWebKey;
    if (jwk.d !== undefined || jwk.k !== undefined) throw new JwsError('unsupported_algorithm', 'only public keys verify signatures');
    object = publicKeyFromJwk(jwk);
  } else throw new JwsError('unsupported_algorithm', 'the key is not an asymmetric public key');
  if (object.type === 'secret') throw new JwsError('unsupported_algorithm', 'symmetric keys are not accepted');
  return object.type === 'private' ? createPublicKey(object) : object;
}

/** Public keys made from JWKs, by their key material: holders present again and again with the same key. */
const jwkKeys = new Map<string, KeyObject>();
const JWK_KEY_CACHE_SIZE = 1000;

/**
 * A public KeyObject for a JWK. Importing costs about as much as a signature
 * check, so keys are remembered by their public material (members other
 * than the key material, such as `kid` or `use`, do not change the key).
 */
function publicKeyFromJwk(jwk: JsonWebKey): KeyObject {
  const material = [jwk.kty, jwk.crv, jwk.x, jwk.y, jwk.n, jwk.e];
  if (!material.every((part) => part === undefined || typeof part === 'string')) {
    throw new JwsError('unsupported_algorithm', 'the JWK is malformed');
  }
  const id = material.map((part) => part ?? '').join('.');
  const known = jwkKeys.get(id);
  if (known) {
    // Most recently used last: the oldest entry is the first to go.
    jwkKeys.delete(id);
    jwkKeys.set(id, known);
    return known;
  }
  const created = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, n: jwk.n, e: jwk.e } as JsonWebKey, format: 'jwk' });
  if (jwkKeys.size >= JWK_KEY_CACHE_SIZE) jwkKeys.delete(jwkKeys.keys().next().value as string);
  jwkKeys.set(id, created);
  return created;
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  try {
    if (!/^[A-Za-z0-9_-]*$/.test(part)) throw new Error('not base64url');
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch {
    throw new JwsError('malformed', `the ${what} is not base64url JSON`);
  }
}

/** A compact JWS split and its header and payload decoded, before any signature check. */
export interface DecodedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** `<header>.<payload>` as sent: what the signature covers. */
  signingInput: string;
  signaturePart: string;
}

/**
 * Splits a compact JWS and decodes its header and payload (both must be
 * base64url JSON objects), without checking anything else: for callers that
 * need the claims to find the key (an issuer's `iss`, a header's `kid`), then
 * verify the same decoded value with `verifyDecodedJws*`, decoding it once.
 */
export function decodeCompactJws(compact: string): DecodedJws {
  const split = splitJws(compact);
  return { ...split, payload: decodeJson(split.payloadPart, 'JWS payload') };
}

type SplitJws = Omit<DecodedJws, 'payload'> & { payloadPart: string };

/** The header decoded, the payload still encoded: a signature is checked before its payload is read. */
function splitJws(compact: string): SplitJws {
  const parts = compact.split('.');
  if (parts.length !== 3) throw new JwsError('malformed', 'not a compact JWS');
  const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
  return { header: decodeJson(headerPart, 'JWS header'), payloadPart, signingInput: `${headerPart}.${payloadPart}`, signaturePart };
}

interface PreparedCheck {
  hash: string | null;
  data: Buffer;
  signature: Buffer;
  keyInput: KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' } | { key: KeyObject; padding: number; saltLength: number };
}

/** Everything before the signature check: `alg` allowed and fitting the key, no `crit`, a base64url signature. */
function prepare(jws: Omit<DecodedJws, 'payload'>, key: KeyObject, algorithms: readonly string[]): PreparedCheck {
  const alg = jws.header['alg'];
  const spec = typeof alg === 'string' && algorithms.includes(alg) ? ALGS[alg] : undefined;
  if (!spec) throw new JwsError('unsupported_algorithm', 'the JWS algorithm is not accepted');
  if (Array.isArray(jws.header['crit'])) throw new JwsError('unsupported_algorithm', 'critical header parameters are not supported');
  const keyType = key.asymmetricKeyType;
  const keyOk =
    spec.keyType === 'rsa'
      ? keyType === 'rsa' || (spec.pss === true && keyType === 'rsa-pss')
      : keyType === spec.keyType && (!spec.curve || key.asymmetricKeyDetails?.namedCurve === spec.curve);
  if (!keyOk) throw new JwsError('unsupported_algorithm', 'the JWS algorithm does not fit the key');
  if (!/^[A-Za-z0-9_-]+$/.test(jws.signaturePart)) throw new JwsError('malformed', 'the JWS signature is not base64url');
  return {
    hash: spec.hash,
    data: Buffer.from(jws.signingInput, 'latin1'),
    signature: Buffer.from(jws.signaturePart, 'base64url'),
    keyInput: spec.ecdsa
      ? { key, dsaEncoding: 'ieee-p1363' }
      : spec.pss
        ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
        : key,
  };
}

function checkSync(check: PreparedCheck): boolean {
  try {
    return verify(check.hash, check.data, check.keyInput, check.signature);
  } catch {
    return false; // OpenSSL throws on some malformed signatures
  }
}

function checkOnThreadPool(check: PreparedCheck): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    try {
      verify(check.hash, check.data, check.keyInput, check.signature, (error, valid) => resolve(!error && valid));
    } catch {
      resolve(false); // OpenSSL throws on some malformed signatures
    }
  });
}

const INVALID = () => new JwsError('invalid_signature', 'the JWS signature does not verify');

/** Checks the signature of a decoded JWS (see `decodeCompactJws`) with `key`; throws `JwsError` when it does not verify. */
export function verifyDecodedJws(jws: DecodedJws, key: KeyObject, algorithms: readonly string[]): void {
  if (!checkSync(prepare(jws, key, algorithms))) throw INVALID();
}

/** `verifyDecodedJws` with the signature check on libuv's thread pool. */
export async function verifyDecodedJwsAsync(jws: DecodedJws, key: KeyObject, algorithms: readonly string[]): Promise<void> {
  if (!(await checkOnThreadPool(prepare(jws, key, algorithms)))) throw INVALID();
}

/**
 * Verifies a compact JWS (a JWT) with `key`: the header's `alg` must be in
 * `algorithms` and match the key's type and curve. Returns the decoded header
 * and payload; throws `JwsError` otherwise.
 */
export function verifyCompactJws(
  compact: string,
  key: KeyObject,
  algorithms: readonly string[],
): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const jws = splitJws(compact);
  if (!checkSync(prepare(jws, key, algorithms))) throw INVALID();
  return { header: jws.header, payload: decodeJson(jws.payloadPart, 'JWS payload') };
}

/**
 * `verifyCompactJws` with the signature check on libuv's thread pool: a
 * server that checks several signatures per request keeps its event loop for
 * the requests and uses the other cores for the arithmetic.
 */
export async function verifyCompactJwsAsync(
  compact: string,
  key: KeyObject,
  algorithms: readonly string[],
): Promise<{ header: Record<string, unknown>; payload: Record<string, unknown> }> {
  const jws = splitJws(compact);
  if (!(await checkOnThreadPool(prepare(jws, key, algorithms)))) throw INVALID();
  return { header: jws.header, payload: decodeJson(jws.payloadPart, 'JWS payload') };
}
