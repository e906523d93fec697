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
    object = createPublicKey({ key: jwk, format: 'jwk' });
  } else throw new JwsError('unsupported_algorithm', 'the key is not an asymmetric public key');
  if (object.type === 'secret') throw new JwsError('unsupported_algorithm', 'symmetric keys are not accepted');
  return object.type === 'private' ? createPublicKey(object) : object;
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
  const parts = compact.split('.');
  if (parts.length !== 3) throw new JwsError('malformed', 'not a compact JWS');
  const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
  const header = decodeJson(headerPart, 'JWS header');
  const alg = header['alg'];
  const spec = typeof alg === 'string' && algorithms.includes(alg) ? ALGS[alg] : undefined;
  if (!spec) throw new JwsError('unsupported_algorithm', 'the JWS algorithm is not accepted');
  if (Array.isArray(header['crit'])) throw new JwsError('unsupported_algorithm', 'critical header parameters are not supported');
  const keyType = key.asymmetricKeyType;
  const keyOk =
    spec.keyType === 'rsa'
      ? keyType === 'rsa' || (spec.pss === true && keyType === 'rsa-pss')
      : keyType === spec.keyType && (!spec.curve || key.asymmetricKeyDetails?.namedCurve === spec.curve);
  if (!keyOk) throw new JwsError('unsupported_algorithm', 'the JWS algorithm does not fit the key');
  if (!/^[A-Za-z0-9_-]+$/.test(signaturePart)) throw new JwsError('malformed', 'the JWS signature is not base64url');
  const data = Buffer.from(`${headerPart}.${payloadPart}`, 'ascii');
  const signature = Buffer.from(signaturePart, 'base64url');
  let ok: boolean;
  try {
    ok = verify(
      spec.hash,
      data,
      spec.ecdsa
        ? { key, dsaEncoding: 'ieee-p1363' }
        : spec.pss
          ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
          : key,
      signature,
    );
  } catch {
    ok = false; // OpenSSL throws on some malformed signatures
  }
  if (!ok) throw new JwsError('invalid_signature', 'the JWS signature does not verify');
  return { header, payload: decodeJson(payloadPart, 'JWS payload') };
}
