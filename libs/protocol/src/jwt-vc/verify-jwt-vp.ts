import { ACCEPTED_JWS_ALGS, resolveSelfDescribingDid } from '@wallet/crypto';
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify, type JWTPayload, type KeyLike } from 'jose';
import { PresentationError } from '@wallet/presentation-query';
import type { IssuerKeyResolver } from '../sd-jwt/verify-sd-jwt-vc';

/**
 * W3C Verifiable Presentations in JWT form (`jwt_vc_json`): a VP JWT signed by
 * the holder (a `did:key` / `did:jwk` named by `iss` and `kid`) that carries VC
 * JWTs signed by their issuers. Holder binding: every credential's subject is
 * the presenting holder.
 */
export interface VerifyJwtVpOptions {
  resolveIssuerKey: IssuerKeyResolver;
  nonce: string;
  audience: string;
  now?: () => Date;
  clockSkewSeconds?: number;
  /** How old the VP may be (its `iat`), in seconds (default 300). */
  maxAgeSeconds?: number;
}

export interface VerifiedJwtVc {
  issuer: string;
  /** The VC `type` values. */
  types: string[];
  /** `credentialSubject` without its `id`. */
  claims: Record<string, unknown>;
  /** The `credentialStatus` entry, when present. */
  status: unknown;
  header: Record<string, unknown>;
  issuerKey: KeyLike | Uint8Array;
}

export interface VerifiedJwtVp {
  holder: string;
  credentials: VerifiedJwtVc[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const MAX_CREDENTIALS = 16;

async function verifyWithKey(jwt: string, key: KeyLike | Uint8Array, what: string, now: Date, skew: number): Promise<JWTPayload> {
  try {
    return (await jwtVerify(jwt, key, { algorithms: [...ACCEPTED_JWS_ALGS], currentDate: now, clockTolerance: skew })).payload;
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new PresentationError('expired', `${what} has expired`, { cause: error });
    if (error instanceof joseErrors.JWTClaimValidationFailed) throw new PresentationError('not_yet_valid', `${what}: ${error.message}`, { cause: error });
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) throw new PresentationError('invalid_signature', `${what} signature does not verify`, { cause: error });
    throw new PresentationError('malformed', `${what} could not be verified`, { cause: error });
  }
}

function decode(jwt: string, what: string): { header: ReturnType<typeof decodeProtectedHeader>; payload: JWTPayload } {
  try {
    return { header: decodeProtectedHeader(jwt), payload: decodeJwt(jwt) };
  } catch (cause) {
    throw new PresentationError('malformed', `${what} is not a JWT`, { cause });
  }
}

export async function verifyJwtVp(vpJwt: string, options: VerifyJwtVpOptions): Promise<VerifiedJwtVp> {
  if (typeof vpJwt !== 'string' || vpJwt.length === 0 || vpJwt.length > 512 * 1024) throw new PresentationError('malformed', 'the presentation must be a VP JWT');
  const now = options.now?.() ?? new Date();
  const skew = options.clockSkewSeconds ?? 60;
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const vp = decode(vpJwt, 'the presentation');
  if (!vp.header.alg || !ACCEPTED_JWS_ALGS.includes(vp.header.alg)) throw new PresentationError('unsupported_algorithm', 'the presentation uses an algorithm we do not accept');
  const holder = typeof vp.payload.iss === 'string' ? vp.payload.iss : '';
  if (!holder.startsWith('did:')) throw new PresentationError('key_binding_invalid', 'the presentation iss must be the holder DID');
  const kid = typeof vp.header.kid === 'string' ? vp.header.kid : holder;
  if ((kid.startsWith('#') ? holder : kid.split('#')[0]) !== holder) throw new PresentationError('key_binding_invalid', 'the presentation kid is not a key of the holder');
  let holderKey: KeyLike | Uint8Array;
  try {
    holderKey = await importJWK(resolveSelfDescribingDid(kid.startsWith('#') ? holder : kid), vp.header.alg);
  } catch (cause) {
    throw new PresentationError('key_binding_invalid', 'the holder DID does not resolve to a key (did:key and did:jwk only)', { cause });
  }
  let payload: JWTPayload;
  try {
    payload = await verifyWithKey(vpJwt, holderKey, 'the presentation', now, skew);
  } catch (error) {
    if (error instanceof PresentationError && error.code === 'invalid_signature') {
      throw new PresentationError('key_binding_invalid', 'the presentation is not signed by the holder key', { cause: error });
    }
    throw error;
  }
  if (payload['nonce'] !== options.nonce) throw new PresentationError('nonce_mismatch', 'the presentation nonce does not match the request');
  const aud = payload.aud;
  if (aud !== options.audience && !(Array.isArray(aud) && aud.length === 1 && aud[0] === options.audience)) {
    throw new PresentationError('audience_mismatch', 'the presentation audience is not this verifier');
  }
  const maxAge = options.maxAgeSeconds ?? 300;
  if (typeof payload.iat === 'number' && (payload.iat > nowSeconds + skew || payload.iat < nowSeconds - maxAge - skew)) {
    throw new PresentationError('key_binding_stale', 'the presentation iat is outside the accepted window');
  }
  const vpClaim = payload['vp'];
  const list = isObject(vpClaim) ? vpClaim['verifiableCredential'] : undefined;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_CREDENTIALS || !list.every((c) => typeof c === 'string')) {
    throw new PresentationError('malformed', `vp.verifiableCredential must hold 1 to ${MAX_CREDENTIALS} VC JWTs`);
  }

  const credentials: VerifiedJwtVc[] = [];
  for (const vcJwt of list as string[]) {
    const vc = decode(vcJwt, 'a credential');
    if (!vc.header.alg || !ACCEPTED_JWS_ALGS.includes(vc.header.alg)) throw new PresentationError('unsupported_algorithm', 'a credential uses an algorithm we do not accept');
    let issuerKey: KeyLike | Uint8Array;
    try {
      issuerKey = await options.resolveIssuerKey(vc);
    } catch (cause) {
      if (cause instanceof PresentationError) throw cause;
      throw new PresentationError('issuer_key_unresolved', 'no trusted key of the issuer was found', { cause });
    }
    const vcPayload = await verifyWithKey(vcJwt, issuerKey, 'a credential', now, skew);
    const body = vcPayload['vc'];
    if (!isObject(body)) throw new PresentationError('malformed', 'a credential has no vc claim');
    const subject = body['credentialSubject'];
    if (!isObject(subject)) throw new PresentationError('malformed', 'a credential has no credentialSubject object');
    const subjectId = typeof vcPayload.sub === 'string' ? vcPayload.sub : subject['id'];
    if (subjectId !== holder) throw new PresentationError('key_binding_invalid', 'a credential was issued to another holder');
    const types = Array.isArray(body['type']) ? body['type'].filter((t): t is string => typeof t === 'string') : [];
    if (!types.includes('VerifiableCredential')) throw new PresentationError('invalid_type', 'a credential is not a VerifiableCredential');
    if (typeof vcPayload.iss !== 'string') throw new PresentationError('malformed', 'a credential has no iss');
    const { id: _id, ...claims } = subject;
    credentials.push({ issuer: vcPayload.iss, types, claims, status: body['credentialStatus'], header: vc.header as Record<string, unknown>, issuerKey });
  }
  return { holder, credentials };
}
