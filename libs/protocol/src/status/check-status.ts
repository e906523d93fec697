import { ACCEPTED_JWS_ALGS } from '@wallet/crypto';
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { gunzipSync, inflateSync } from 'node:zlib';
import { PresentationError } from '@wallet/presentation-query';
import type { IssuerKeyResolver } from '../sd-jwt/verify-sd-jwt-vc';

/**
 * Credential status: IETF Token Status List (a `statuslist+jwt` that the
 * credential's `status.status_list` points to) and W3C Bitstring Status List
 * (a credential whose `encodedList` the `credentialStatus` entry points to).
 * Fetching is the caller's: pass a function that goes through the guarded
 * outbound client and caches.
 */
export interface StatusCheckOptions {
  /** Fetches the status list at `uri` (a JWT, or a JSON/JWT credential for Bitstring lists). */
  fetchStatusList: (uri: string) => Promise<string>;
  /** Resolves the key that signed the status list JWT (the same trust rules as for credentials). */
  resolveKey: IssuerKeyResolver;
  now?: () => Date;
  clockSkewSeconds?: number;
}

/** 0 valid, 1 invalid (revoked), 2 suspended; other values are application-specific and refused. */
export type TokenStatus = 'valid' | 'revoked' | 'suspended';

const MAX_DECOMPRESSED = 16 * 1024 * 1024;

function statusFromValue(value: number): TokenStatus {
  if (value === 0) return 'valid';
  if (value === 2) return 'suspended';
  return 'revoked';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function verifyListJwt(jwt: string, typ: string, options: StatusCheckOptions): Promise<JWTPayload> {
  let header;
  try {
    header = decodeProtectedHeader(jwt);
    decodeJwt(jwt);
  } catch (cause) {
    throw new PresentationError('status_unavailable', 'the status list is not a JWT', { cause });
  }
  if (header.typ !== typ) throw new PresentationError('status_unavailable', `the status list JWT typ must be ${typ}`);
  try {
    const key = await options.resolveKey({ header, payload: decodeJwt(jwt) });
    const { payload } = await jwtVerify(jwt, key, {
      algorithms: [...ACCEPTED_JWS_ALGS],
      currentDate: options.now?.() ?? new Date(),
      clockTolerance: options.clockSkewSeconds ?? 60,
    });
    return payload;
  } catch (cause) {
    const reason = cause instanceof joseErrors.JWTExpired ? 'has expired' : 'could not be verified';
    throw new PresentationError('status_unavailable', `the status list ${reason}`, { cause });
  }
}

/** Reads entry `idx` of an IETF status list (`bits` per entry, least significant bits first). */
export function readTokenStatusList(list: { bits: unknown; lst: unknown }, idx: number): number {
  const { bits, lst } = list;
  if (bits !== 1 && bits !== 2 && bits !== 4 && bits !== 8) throw new PresentationError('status_unavailable', 'status_list.bits must be 1, 2, 4 or 8');
  if (typeof lst !== 'string' || !/^[A-Za-z0-9_-]+$/.test(lst)) throw new PresentationError('status_unavailable', 'status_list.lst is not base64url');
  let bytes: Buffer;
  try {
    bytes = inflateSync(Buffer.from(lst, 'base64url'), { maxOutputLength: MAX_DECOMPRESSED });
  } catch (cause) {
    throw new PresentationError('status_unavailable', 'status_list.lst does not decompress', { cause });
  }
  const bitOffset = idx * bits;
  const byte = bytes[Math.floor(bitOffset / 8)];
  if (byte === undefined) throw new PresentationError('status_unavailable', 'the status index is outside the status list');
  return (byte >> bitOffset % 8) & ((1 << bits) - 1);
}

/** Reads bit `index` of a W3C Bitstring Status List `encodedList` (multibase base64url of GZIP, most significant bit first). */
export function readBitstringStatusList(encodedList: unknown, index: number): number {
  if (typeof encodedList !== 'string' || !/^u[A-Za-z0-9_-]+$/.test(encodedList)) {
    throw new PresentationError('status_unavailable', 'encodedList must be multibase base64url (u...)');
  }
  let bytes: Buffer;
  try {
    bytes = gunzipSync(Buffer.from(encodedList.slice(1), 'base64url'), { maxOutputLength: MAX_DECOMPRESSED });
  } catch (cause) {
    throw new PresentationError('status_unavailable', 'encodedList does not decompress', { cause });
  }
  const byte = bytes[Math.floor(index / 8)];
  if (byte === undefined) throw new PresentationError('status_unavailable', 'the status index is outside the status list');
  return (byte >> (7 - (index % 8))) & 1;
}

/**
 * Checks an SD-JWT VC `status` claim (`{status_list: {idx, uri}}`): fetches the
 * list, verifies its signature, `sub` and expiry, and refuses a revoked or
 * suspended credential. A credential without a status claim passes.
 */
export async function checkTokenStatus(status: unknown, options: StatusCheckOptions): Promise<TokenStatus> {
  if (status === undefined) return 'valid';
  const ref = isObject(status) ? status['status_list'] : undefined;
  if (!isObject(ref) || typeof ref['uri'] !== 'string' || !Number.isInteger(ref['idx']) || (ref['idx'] as number) < 0) {
    throw new PresentationError('malformed', 'the status claim must be {status_list: {idx, uri}}');
  }
  const uri = ref['uri'];
  let jwt: string;
  try {
    jwt = (await options.fetchStatusList(uri)).trim();
  } catch (cause) {
    throw new PresentationError('status_unavailable', 'the status list could not be fetched', { cause });
  }
  const payload = await verifyListJwt(jwt, 'statuslist+jwt', options);
  if (payload.sub !== uri) throw new PresentationError('status_unavailable', 'the status list sub does not match its URI');
  const list = payload['status_list'];
  if (!isObject(list)) throw new PresentationError('status_unavailable', 'the status list JWT has no status_list');
  const result = statusFromValue(readTokenStatusList({ bits: list['bits'], lst: list['lst'] }, ref['idx'] as number));
  if (result !== 'valid') throw new PresentationError(result, `the credential is ${result}`);
  return result;
}

/**
 * Checks a W3C `credentialStatus` entry of type `BitstringStatusListEntry`
 * (purpose `revocation` or `suspension`) against a status list credential in
 * JWT form (`vc+jwt`/`JWT`), whose signature is verified.
 */
export async function checkBitstringStatus(entry: unknown, options: StatusCheckOptions): Promise<TokenStatus> {
  if (entry === undefined) return 'valid';
  const entries = Array.isArray(entry) ? entry : [entry];
  for (const item of entries) {
    if (!isObject(item) || item['type'] !== 'BitstringStatusListEntry') {
      throw new PresentationError('malformed', 'credentialStatus must be a BitstringStatusListEntry');
    }
    const purpose = item['statusPurpose'];
    const uri = item['statusListCredential'];
    const index = Number(item['statusListIndex']);
    if ((purpose !== 'revocation' && purpose !== 'suspension') || typeof uri !== 'string' || !Number.isInteger(index) || index < 0) {
      throw new PresentationError('malformed', 'credentialStatus needs statusPurpose, statusListIndex and statusListCredential');
    }
    let jwt: string;
    try {
      jwt = (await options.fetchStatusList(uri)).trim();
    } catch (cause) {
      throw new PresentationError('status_unavailable', 'the status list could not be fetched', { cause });
    }
    const typ = decodeSafeTyp(jwt);
    const payload = await verifyListJwt(jwt, typ, options);
    const vc = isObject(payload['vc']) ? payload['vc'] : payload;
    const subject = isObject(vc['credentialSubject']) ? vc['credentialSubject'] : undefined;
    if (!subject || subject['statusPurpose'] !== purpose) {
      throw new PresentationError('status_unavailable', 'the status list credential is for another purpose');
    }
    if (readBitstringStatusList(subject['encodedList'], index) === 1) {
      const result = purpose === 'revocation' ? 'revoked' : 'suspended';
      throw new PresentationError(result, `the credential is ${result}`);
    }
  }
  return 'valid';
}

/** Bitstring status list credentials come as `vc+jwt` or plain `JWT`; anything else is refused by verifyListJwt. */
function decodeSafeTyp(jwt: string): string {
  try {
    const typ = decodeProtectedHeader(jwt).typ;
    return typ === 'JWT' ? 'JWT' : 'vc+jwt';
  } catch {
    return 'vc+jwt';
  }
}
