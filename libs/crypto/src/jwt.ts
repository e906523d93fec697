import {
  createLocalJWKSet,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyOptions,
} from 'jose';
import type { CryptoKey, SigningAlg } from './signing-keys';

/** Asymmetric algorithms we accept. `none` and every HMAC algorithm are refused by construction. */
export const ACCEPTED_JWS_ALGS: readonly string[] = ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'RS256', 'PS256'];

export interface SignJwtInput {
  payload: JWTPayload;
  key: CryptoKey;
  kid: string;
  alg: SigningAlg;
  typ?: string;
  /** Seconds since the epoch; defaults to now. */
  issuedAt?: number;
  /** Lifetime in seconds, sets `exp`. */
  expiresInSeconds?: number;
  /** Extra protected header parameters (`x5c`, `jwk`); `alg`, `kid` and `typ` come from the fields above. */
  header?: Record<string, unknown>;
}

export async function signJwt(input: SignJwtInput): Promise<string> {
  const iat = input.issuedAt ?? Math.floor(Date.now() / 1000);
  let jwt = new SignJWT(input.payload)
    .setProtectedHeader({ ...input.header, alg: input.alg, kid: input.kid, ...(input.typ ? { typ: input.typ } : {}) })
    .setIssuedAt(iat);
  if (input.expiresInSeconds !== undefined) jwt = jwt.setExpirationTime(iat + input.expiresInSeconds);
  return jwt.sign(input.key);
}

export interface VerifyJwtOptions extends Omit<JWTVerifyOptions, 'algorithms'> {
  /** Narrow the accepted algorithms further; never widened beyond ACCEPTED_JWS_ALGS. */
  algorithms?: string[];
}

/**
 * Verifies a JWT against a JWKS (matched by `kid`). Rejects `alg: none`, HMAC
 * algorithms, bad signatures, and the time and claim checks jose performs
 * (`exp`, `nbf`, `aud`, `iss` when given). Throws jose's typed errors.
 */
export async function verifyJwt(token: string, jwks: JSONWebKeySet, options: VerifyJwtOptions = {}) {
  const algorithms = (options.algorithms ?? [...ACCEPTED_JWS_ALGS]).filter((a) => ACCEPTED_JWS_ALGS.includes(a));
  return jwtVerify(token, createLocalJWKSet(jwks), { ...options, algorithms });
}
