import { createHash } from 'node:crypto';

/** Hashes of one document, so a cached copy can be checked against any integrity string. */
export interface Digests {
  sha256: string;
  sha384: string;
  sha512: string;
}

type Algorithm = 'sha256' | 'sha384' | 'sha512';
const STRENGTH: Record<Algorithm, number> = { sha256: 1, sha384: 2, sha512: 3 };

export function digestsOf(bytes: Uint8Array): Digests {
  return {
    sha256: createHash('sha256').update(bytes).digest('base64'),
    sha384: createHash('sha384').update(bytes).digest('base64'),
    sha512: createHash('sha512').update(bytes).digest('base64'),
  };
}

/** True when `value` is a well-formed W3C SRI metadata string with at least one supported hash. */
export function isIntegrityString(value: string): boolean {
  return parseIntegrity(value).length > 0;
}

function parseIntegrity(value: string): Array<{ alg: Algorithm; hash: string }> {
  const out: Array<{ alg: Algorithm; hash: string }> = [];
  for (const token of value.trim().split(/\s+/)) {
    // `sha256-<base64>` with optional `?options` (ignored, as the spec says).
    const match = /^(sha256|sha384|sha512)-([A-Za-z0-9+/_-]+={0,2})(\?.*)?$/.exec(token);
    if (match?.[2]) out.push({ alg: match[1] as Algorithm, hash: match[2] });
  }
  return out;
}

/** base64url and padding-free hashes are accepted as their base64 equivalents. */
function normalize(hash: string): string {
  const b64 = hash.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  return b64 + '='.repeat((4 - (b64.length % 4)) % 4);
}

/**
 * W3C Subresource Integrity: only the strongest algorithm present counts, and
 * the document matches when any hash of that algorithm equals its digest.
 * A string with no supported hash never matches.
 */
export function matchesIntegrity(integrity: string, digests: Digests): boolean {
  const entries = parseIntegrity(integrity);
  if (entries.length === 0) return false;
  const strongest = Math.max(...entries.map((e) => STRENGTH[e.alg]));
  return entries.filter((e) => STRENGTH[e.alg] === strongest).some((e) => normalize(e.hash) === digests[e.alg]);
}
