import { ACCEPTED_JWS_ALGS, decodeCompactJws, JwsError, toPublicKeyObject, verifyDecodedJws, verifyDecodedJwsAsync, type DecodedJws } from '@wallet/crypto';
import type { JWK, JWTPayload, KeyLike, ProtectedHeaderParameters } from 'jose';
import type { KeyObject } from 'node:crypto';
import { PresentationError } from '@wallet/presentation-query';
import { discloseClaims, isSupportedSdAlg, sdHash } from './disclose-claims';

/** The issuer-signed JWT, decoded but not yet verified. */
export interface UnverifiedIssuerJwt {
  header: ProtectedHeaderParameters;
  payload: JWTPayload;
}

/**
 * Finds the key that must have signed the issuer JWT: from its `x5c` chain
 * (validated to trusted roots), the issuer's JWKS at its well-known location,
 * or a DID. Throw when none can be trusted; the caller reports it as
 * `issuer_key_unresolved`.
 */
export type IssuerKeyResolver = (jwt: UnverifiedIssuerJwt) => Promise<KeyLike | Uint8Array>;

export interface VerifySdJwtVcOptions {
  resolveIssuerKey: IssuerKeyResolver;
  /** The nonce of the session the presentation answers. */
  nonce: string;
  /** Our client id: the KB-JWT's `aud` must equal it. */
  audience: string;
  now?: () => Date;
  /** Tolerance for `exp`, `nbf` and `iat`, in seconds (default 60). */
  clockSkewSeconds?: number;
  /** How old a KB-JWT may be, in seconds (default 300). */
  keyBindingMaxAgeSeconds?: number;
  /** Accepted issuer JWT `typ` values (default `dc+sd-jwt` and the older `vc+sd-jwt`). */
  types?: readonly string[];
  /**
   * Where the two signature checks run: on libuv's thread pool (default, for
   * an event loop that serves requests meanwhile) or inline (on a worker
   * thread that does nothing else, where a hop to the pool only costs).
   */
  signatureChecks?: 'thread-pool' | 'inline';
}

export interface VerifiedSdJwtVc {
  issuer: string;
  vct: string;
  /** The issuer JWT's header (its `x5c`, `kid`, `alg`). */
  header: ProtectedHeaderParameters;
  /** Every claim: the always-visible ones plus the disclosed ones, with `_sd` and `_sd_alg` removed. */
  claims: Record<string, unknown>;
  /** The holder key from `cnf.jwk`, which signed the KB-JWT. */
  holderJwk: JWK;
  /** The `status` claim (status list reference), when present. */
  status: unknown;
  /** The issuer key the credential verified with (for trust queries that need the key). */
  issuerKey: KeyLike | Uint8Array;
}

const DEFAULT_TYPES = ['dc+sd-jwt', 'vc+sd-jwt'];
const MAX_LENGTH = 256 * 1024;

/** A signature check with node:crypto (two per presentation: the hot path of a verifier). */
async function verifyJws(
  jws: DecodedJws,
  key: KeyLike | Uint8Array | KeyObject,
  algorithms: readonly string[],
  what: string,
  where: VerifySdJwtVcOptions['signatureChecks'],
): Promise<void> {
  try {
    if (where === 'inline') verifyDecodedJws(jws, toPublicKeyObject(key), algorithms);
    else await verifyDecodedJwsAsync(jws, toPublicKeyObject(key), algorithms);
  } catch (error) {
    if (error instanceof JwsError) {
      const code = error.code === 'invalid_signature' ? 'invalid_signature' : error.code === 'malformed' ? 'malformed' : 'unsupported_algorithm';
      throw new PresentationError(code, code === 'invalid_signature' ? `${what} signature does not verify` : `${what}: ${error.message}`, { cause: error });
    }
    throw new PresentationError('malformed', `${what} could not be verified`, { cause: error });
  }
}

/** `exp` (strictly in the future), `nbf` and `iat` (not in the future), each within the skew. */
function checkDates(payload: JWTPayload, nowSeconds: number, skew: number, what: string): void {
  for (const claim of ['exp', 'nbf', 'iat'] as const) {
    if (payload[claim] !== undefined && typeof payload[claim] !== 'number') throw new PresentationError('malformed', `${what}: ${claim} is not a number`);
  }
  if (typeof payload.exp === 'number' && payload.exp <= nowSeconds - skew) throw new PresentationError('expired', `${what} has expired`);
  if (typeof payload.nbf === 'number' && payload.nbf > nowSeconds + skew) throw new PresentationError('not_yet_valid', `${what} is not yet valid`);
  if (typeof payload.iat === 'number' && payload.iat > nowSeconds + skew) throw new PresentationError('not_yet_valid', `${what} was issued in the future`);
}

/** Decoded once: the header and claims pick the key, then the same value is verified. */
function decode(jwt: string, what: string): DecodedJws & UnverifiedIssuerJwt {
  try {
    return decodeCompactJws(jwt) as DecodedJws & UnverifiedIssuerJwt;
  } catch (cause) {
    throw new PresentationError('malformed', `${what} is not a JWT`, { cause });
  }
}

/** A presentation split into its parts, its issuer JWT decoded and its `typ` and `alg` checked; nothing verified yet. */
export interface SdJwtVcParts {
  issuer: DecodedJws & UnverifiedIssuerJwt;
  disclosures: string[];
  kbJwt: string;
  /** Everything before the KB-JWT, with its trailing `~`: what `sd_hash` covers. */
  presented: string;
}

/**
 * The first stage of `verifySdJwtVc`: shape checks and the issuer JWT decoded,
 * which is what the issuer key is resolved from. Throws `PresentationError`.
 */
export function readSdJwtVc(presentation: string, types: readonly string[] = DEFAULT_TYPES): SdJwtVcParts {
  if (typeof presentation !== 'string' || presentation.length === 0 || presentation.length > MAX_LENGTH) {
    throw new PresentationError('malformed', 'the presentation must be a non-empty SD-JWT string');
  }
  const parts = presentation.split('~');
  if (parts.length < 2) throw new PresentationError('malformed', 'the presentation is not an SD-JWT (no "~" separator)');
  const [issuerJwt = '', ...rest] = parts;
  const kbJwt = rest.pop() ?? '';
  const disclosures = rest;
  if (disclosures.some((d) => d.length === 0)) throw new PresentationError('malformed', 'the presentation has an empty disclosure');

  const issuer = decode(issuerJwt, 'the issuer JWT');
  if (typeof issuer.header.typ !== 'string' || !types.includes(issuer.header.typ)) {
    throw new PresentationError('invalid_type', `the issuer JWT typ must be one of ${types.join(', ')}`);
  }
  if (!issuer.header.alg || !ACCEPTED_JWS_ALGS.includes(issuer.header.alg)) {
    throw new PresentationError('unsupported_algorithm', 'the issuer JWT uses an algorithm we do not accept');
  }
  return { issuer, disclosures, kbJwt, presented: presentation.slice(0, presentation.length - kbJwt.length) };
}

/** The second stage: the issuer key from the resolver, with its failures reported as `issuer_key_unresolved`. */
export async function resolveSdJwtVcIssuerKey(parts: SdJwtVcParts, resolveIssuerKey: IssuerKeyResolver): Promise<KeyLike | Uint8Array> {
  try {
    return await resolveIssuerKey(parts.issuer);
  } catch (cause) {
    if (cause instanceof PresentationError) throw cause;
    throw new PresentationError('issuer_key_unresolved', 'no trusted key of the issuer was found', { cause });
  }
}

/**
 * Verifies an SD-JWT VC presentation (`<issuer-jwt>~<disclosure>~...~<kb-jwt>`)
 * as a verifier must: issuer signature and dates, every disclosure bound to a
 * digest, and a key-binding JWT signed by the `cnf` key over this exact
 * presentation, for this nonce and audience, issued just now. The key-binding
 * JWT is always required: a verifier that cannot tell who presents a credential
 * cannot stop replay.
 */
export async function verifySdJwtVc(presentation: string, options: VerifySdJwtVcOptions): Promise<VerifiedSdJwtVc> {
  const parts = readSdJwtVc(presentation, options.types);
  return verifySdJwtVcWithKey(parts, await resolveSdJwtVcIssuerKey(parts, options.resolveIssuerKey), options);
}

/**
 * The last stage of `verifySdJwtVc`, with the issuer key already resolved
 * (`readSdJwtVc`, then `resolveSdJwtVcIssuerKey`): for a verifier that
 * resolves keys where its caches and network are, and verifies elsewhere.
 */
export async function verifySdJwtVcWithKey(
  parts: SdJwtVcParts,
  issuerKey: KeyLike | Uint8Array,
  options: Omit<VerifySdJwtVcOptions, 'resolveIssuerKey' | 'types'>,
): Promise<VerifiedSdJwtVc> {
  const { issuer: unverified, disclosures, kbJwt } = parts;
  const now = options.now?.() ?? new Date();
  const skew = options.clockSkewSeconds ?? 60;
  const nowSeconds = Math.floor(now.getTime() / 1000);
  await verifyJws(unverified, issuerKey, ACCEPTED_JWS_ALGS, 'the credential', options.signatureChecks);
  const payload = unverified.payload;
  checkDates(payload, nowSeconds, skew, 'the credential');
  if (typeof payload.iss !== 'string' || payload.iss.length === 0) {
    throw new PresentationError('malformed', 'the credential has no iss');
  }
  if (typeof payload['vct'] !== 'string' || payload['vct'].length === 0) {
    throw new PresentationError('malformed', 'the credential has no vct');
  }
  const sdAlg = payload['_sd_alg'] ?? 'sha-256';
  if (typeof sdAlg !== 'string' || !isSupportedSdAlg(sdAlg)) {
    throw new PresentationError('unsupported_algorithm', 'the credential uses an _sd_alg we do not accept');
  }
  const claims = discloseClaims(payload as Record<string, unknown>, disclosures, sdAlg);

  if (kbJwt.length === 0) throw new PresentationError('key_binding_missing', 'the presentation has no key-binding JWT');
  const cnf = payload['cnf'];
  const holderJwk = (cnf && typeof cnf === 'object' ? (cnf as { jwk?: unknown }).jwk : undefined) as JWK | undefined;
  if (!holderJwk || typeof holderJwk !== 'object' || typeof holderJwk.kty !== 'string' || 'd' in holderJwk) {
    throw new PresentationError('key_binding_invalid', 'the credential has no usable cnf.jwk holder key');
  }
  const kb = decode(kbJwt, 'the key-binding JWT');
  if (kb.header.typ !== 'kb+jwt') throw new PresentationError('key_binding_invalid', 'the key-binding JWT typ must be kb+jwt');
  if (!kb.header.alg || !ACCEPTED_JWS_ALGS.includes(kb.header.alg)) {
    throw new PresentationError('unsupported_algorithm', 'the key-binding JWT uses an algorithm we do not accept');
  }
  let holderKey: KeyObject;
  try {
    holderKey = toPublicKeyObject(holderJwk);
  } catch (cause) {
    throw new PresentationError('key_binding_invalid', 'the credential has no usable cnf.jwk holder key', { cause });
  }
  let kbPayload: JWTPayload;
  try {
    await verifyJws(kb, holderKey, [kb.header.alg], 'the key-binding JWT', options.signatureChecks);
    kbPayload = kb.payload;
  } catch (error) {
    if (error instanceof PresentationError && error.code === 'invalid_signature') {
      throw new PresentationError('key_binding_invalid', 'the key-binding JWT is not signed by the holder key', { cause: error });
    }
    throw error;
  }
  checkDates(kbPayload, nowSeconds, skew, 'the key-binding JWT');
  if (kbPayload['nonce'] !== options.nonce) throw new PresentationError('nonce_mismatch', 'the key-binding JWT nonce does not match the request');
  if (kbPayload.aud !== options.audience) {
    throw new PresentationError('audience_mismatch', 'the key-binding JWT audience is not this verifier');
  }
  const expectedSdHash = sdHash(sdAlg, parts.presented);
  if (kbPayload['sd_hash'] !== expectedSdHash) {
    throw new PresentationError('sd_hash_mismatch', 'the key-binding JWT sd_hash does not cover this presentation');
  }
  const maxAge = options.keyBindingMaxAgeSeconds ?? 300;
  if (typeof kbPayload.iat !== 'number' || kbPayload.iat > nowSeconds + skew || kbPayload.iat < nowSeconds - maxAge - skew) {
    throw new PresentationError('key_binding_stale', 'the key-binding JWT iat is outside the accepted window');
  }

  return { issuer: payload.iss, vct: payload['vct'], header: unverified.header, claims, holderJwk, status: claims['status'], issuerKey };
}
