import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';

/** Prefix of a sealed value; anything else is stored in the clear (development without a key encryption key). */
const PREFIX = 'jwe:';
const CONTEXT_HEADER = 'wctx';

/**
 * Seals a secret field (an issuer's client private key) for storage: a compact
 * JWE (`dir`, A256GCM) under `crypto.keyEncryptionKey`, bound to `context`
 * (e.g. `issuer:acme/pid`), so a sealed value copied into another record does
 * not open there. Without a key encryption key (development only; production
 * requires one) the value is stored as given.
 */
export async function sealSecret(value: string, context: string, keyEncryptionKey: Uint8Array | null): Promise<string> {
  if (!keyEncryptionKey) return value;
  const jwe = await new CompactEncrypt(new TextEncoder().encode(value))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', [CONTEXT_HEADER]: context })
    .encrypt(keyEncryptionKey);
  return `${PREFIX}${jwe}`;
}

/**
 * Reverses `sealSecret` for the code that uses the secret (never for an API
 * answer). Throws when the value is sealed but no key, the wrong key or the
 * wrong context is given; the message never contains the value.
 */
export async function openSealedSecret(stored: string, context: string, keyEncryptionKey: Uint8Array | null): Promise<string> {
  if (!stored.startsWith(PREFIX)) return stored;
  if (!keyEncryptionKey) throw new Error('the stored secret is sealed, but no key encryption key is configured');
  const jwe = stored.slice(PREFIX.length);
  if (decodeProtectedHeader(jwe)[CONTEXT_HEADER] !== context) throw new Error('the stored secret belongs to another record');
  const { plaintext } = await compactDecrypt(jwe, keyEncryptionKey);
  return new TextDecoder().decode(plaintext);
}
