import { hash } from 'node:crypto';

/** The members RFC 7638 hashes for each key type, in the lexicographic order it prescribes. */
const REQUIRED_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
  oct: ['k', 'kty'],
};

/**
 * The RFC 7638 JWK thumbprint with SHA-256, base64url: the same value as
 * jose's `calculateJwkThumbprint(jwk, 'sha256')`, computed synchronously with
 * node:crypto (jose hashes through WebCrypto, which costs a verifier more per
 * presentation than the hash itself). Throws on an unknown `kty` or a
 * missing or non-string required member.
 */
export function jwkThumbprint(key: object): string {
  const jwk = key as Readonly<Record<string, unknown>>;
  const kty = jwk['kty'];
  const members = typeof kty === 'string' ? REQUIRED_MEMBERS[kty] : undefined;
  if (!members) throw new TypeError('the JWK "kty" is missing or not supported for a thumbprint');
  const canonical: Record<string, string> = {};
  for (const name of members) {
    const value = jwk[name];
    if (typeof value !== 'string' || value.length === 0) throw new TypeError(`the JWK "${name}" member is missing or not a string`);
    canonical[name] = value;
  }
  return hash('sha256', JSON.stringify(canonical), 'base64url');
}
