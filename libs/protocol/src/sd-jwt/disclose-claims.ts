import { hash } from 'node:crypto';
import { PresentationError } from '@wallet/presentation-query';

/** `_sd_alg` values we accept (IANA names), with their Node hash names. */
const HASH_ALGS: Readonly<Record<string, string>> = { 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' };

/** The hash an SD-JWT uses for disclosure digests and `sd_hash`. */
export function sdHash(alg: string, input: string): string {
  const nodeAlg = HASH_ALGS[alg];
  if (!nodeAlg) throw new PresentationError('unsupported_algorithm', `_sd_alg "${alg}" is not supported`);
  // One-shot hashing (three times faster than createHash for short inputs); inputs are ASCII (base64url and `~`).
  return hash(nodeAlg, input, 'base64url');
}

export function isSupportedSdAlg(alg: string): boolean {
  return Object.hasOwn(HASH_ALGS, alg);
}

interface Disclosure {
  encoded: string;
  salt: string;
  /** Absent for an array-element disclosure. */
  name?: string;
  value: unknown;
}

const RESERVED_NAMES = new Set(['_sd', '...', '_sd_alg']);
const MAX_DEPTH = 32;

function decodeDisclosure(encoded: string, index: number): Disclosure {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(encoded)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch (cause) {
    throw new PresentationError('invalid_disclosure', `disclosure ${index} is not base64url-encoded JSON`, { cause });
  }
  if (!Array.isArray(parsed) || (parsed.length !== 2 && parsed.length !== 3) || typeof parsed[0] !== 'string') {
    throw new PresentationError('invalid_disclosure', `disclosure ${index} must be [salt, name, value] or [salt, value]`);
  }
  if (parsed.length === 2) return { encoded, salt: parsed[0], value: parsed[1] };
  if (typeof parsed[1] !== 'string') {
    throw new PresentationError('invalid_disclosure', `disclosure ${index} has a claim name that is not a string`);
  }
  if (RESERVED_NAMES.has(parsed[1])) {
    throw new PresentationError('invalid_disclosure', `disclosure ${index} uses the reserved claim name "${parsed[1]}"`);
  }
  return { encoded, salt: parsed[0], name: parsed[1], value: parsed[2] };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Rebuilds the disclosed claims of an SD-JWT payload (RFC 9901, section 7.1):
 * every disclosure must match exactly one digest (`_sd` in objects, `{"...": d}`
 * in arrays, also inside disclosed values), no digest may appear twice, no
 * disclosure may be repeated or left unused, and a disclosed name may not
 * overwrite a claim that is already there. Digests without a disclosure are
 * decoys or withheld claims and are dropped.
 */
export function discloseClaims(
  payload: Record<string, unknown>,
  encodedDisclosures: readonly string[],
  sdAlg: string,
): Record<string, unknown> {
  const byDigest = new Map<string, Disclosure>();
  const seenEncoded = new Set<string>();
  encodedDisclosures.forEach((encoded, index) => {
    if (seenEncoded.has(encoded)) {
      throw new PresentationError('duplicate_disclosure', `disclosure ${index} appears more than once`);
    }
    seenEncoded.add(encoded);
    byDigest.set(sdHash(sdAlg, encoded), decodeDisclosure(encoded, index));
  });
  const seenDigests = new Set<string>();
  const used = new Set<string>();

  const claimDigest = (digest: unknown, where: string): string => {
    if (typeof digest !== 'string') throw new PresentationError('malformed', `a digest at ${where} is not a string`);
    if (seenDigests.has(digest)) {
      throw new PresentationError('duplicate_disclosure', `the digest at ${where} appears more than once`);
    }
    seenDigests.add(digest);
    return digest;
  };

  const visit = (value: unknown, where: string, depth: number): unknown => {
    if (depth > MAX_DEPTH) throw new PresentationError('malformed', `claims nest deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      value.forEach((element, i) => {
        const at = `${where}/${i}`;
        if (isPlainObject(element) && Object.hasOwn(element, '...')) {
          if (Object.keys(element).length !== 1) {
            throw new PresentationError('malformed', `the array digest object at ${at} has other members`);
          }
          const disclosure = byDigest.get(claimDigest(element['...'], at));
          if (!disclosure) return; // a decoy, or an element the holder withheld
          if (disclosure.name !== undefined) {
            throw new PresentationError('invalid_disclosure', `an object-property disclosure is referenced from array ${at}`);
          }
          used.add(disclosure.encoded);
          out.push(visit(disclosure.value, at, depth + 1));
          return;
        }
        out.push(visit(element, at, depth + 1));
      });
      return out;
    }
    if (!isPlainObject(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (key === '_sd' || (depth === 0 && key === '_sd_alg')) continue;
      out[key] = visit(inner, `${where}/${key}`, depth + 1);
    }
    const digests = value['_sd'];
    if (digests !== undefined) {
      if (!Array.isArray(digests)) throw new PresentationError('malformed', `_sd at ${where || '/'} is not an array`);
      for (const digest of digests) {
        const disclosure = byDigest.get(claimDigest(digest, `${where}/_sd`));
        if (!disclosure) continue;
        if (disclosure.name === undefined) {
          throw new PresentationError('invalid_disclosure', `an array-element disclosure is referenced from _sd at ${where || '/'}`);
        }
        if (Object.hasOwn(out, disclosure.name)) {
          throw new PresentationError('invalid_disclosure', `disclosed claim "${disclosure.name}" already exists at ${where || '/'}`);
        }
        used.add(disclosure.encoded);
        out[disclosure.name] = visit(disclosure.value, `${where}/${disclosure.name}`, depth + 1);
      }
    }
    return out;
  };

  const claims = visit(payload, '', 0) as Record<string, unknown>;
  if (used.size !== byDigest.size) {
    throw new PresentationError('unused_disclosure', `${byDigest.size - used.size} disclosure(s) match no digest in the credential`);
  }
  return claims;
}
