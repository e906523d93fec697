import { jwkThumbprint } from './jwk-thumbprint';
import {
  compactDecrypt,
  CompactEncrypt,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from 'jose';

/** ES256 and EdDSA for our own tokens; RS256 where relying parties need it (verifier tokens, optional). */
export type SigningAlg = 'ES256' | 'EdDSA' | 'RS256';

export interface SigningKeyMaterial {
  /** RFC 7638 thumbprint of the public key. */
  kid: string;
  alg: SigningAlg;
  publicJwk: JWK;
  privateJwk: JWK;
}

/** Generates a signing key pair; the `kid` is the public key's JWK thumbprint. */
export async function generateSigningKey(alg: SigningAlg): Promise<SigningKeyMaterial> {
  const { publicKey, privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
    ...(alg === 'RS256' ? { modulusLength: 3072 } : {}),
  });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  const kid = jwkThumbprint(publicJwk);
  return {
    kid,
    alg,
    publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
    privateJwk: { ...privateJwk, kid, alg },
  };
}

/** Strips everything but the public members of a JWK (defence against leaking `d`). */
export function publicPart(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, k: _k, ...rest } = jwk as JWK & { oth?: unknown };
  delete (rest as { oth?: unknown }).oth;
  return rest;
}

const WRAPPED = 'wrapped';

/**
 * Encrypts a private JWK for storage (JWE, `dir` + A256GCM) with a 32-byte key.
 * Without a key the JWK is stored as is, which is only acceptable in development.
 */
export async function wrapPrivateJwk(jwk: JWK, keyEncryptionKey: Uint8Array | null): Promise<Record<string, unknown>> {
  if (!keyEncryptionKey) return { ...jwk };
  assertKek(keyEncryptionKey);
  const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(jwk)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty: 'jwk+json' })
    .encrypt(keyEncryptionKey);
  return { [WRAPPED]: jwe };
}

/** Reverses `wrapPrivateJwk`. Throws when the key encryption key is missing or wrong. */
export async function unwrapPrivateJwk(stored: Record<string, unknown>, keyEncryptionKey: Uint8Array | null): Promise<JWK> {
  const wrapped = stored[WRAPPED];
  if (typeof wrapped !== 'string') return stored as unknown as JWK;
  if (!keyEncryptionKey) throw new Error('a stored private key is encrypted, but no key encryption key is configured');
  assertKek(keyEncryptionKey);
  const { plaintext } = await compactDecrypt(wrapped, keyEncryptionKey);
  return JSON.parse(new TextDecoder().decode(plaintext)) as JWK;
}

function assertKek(key: Uint8Array): void {
  if (key.byteLength !== 32) throw new Error('the key encryption key must be 32 bytes');
}

export async function importPrivateKey(jwk: JWK, alg: SigningAlg): Promise<CryptoKey> {
  return (await importJWK(jwk, alg)) as CryptoKey;
}

/** The WebCrypto key type jose works with. */
export type CryptoKey = import('node:crypto').webcrypto.CryptoKey;
