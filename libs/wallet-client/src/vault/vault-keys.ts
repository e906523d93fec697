import { chacha20poly1305 } from '@noble/ciphers/chacha';
import { argon2id } from '@noble/hashes/argon2';
import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha2';
import { ValidationError, WalletError } from '@wallet/domain';
import { base64urlDecode, base64urlEncode } from '../base64url';

/**
 * The vault key set, in the spirit of the Aries/Indy wallet design: one
 * 256-bit key per record field plus two HMAC keys that derive the
 * deterministic nonces of searchable fields. The key set is created once per
 * vault, stored only wrapped by a master key (a random key or one derived
 * from a passphrase with Argon2id), and never leaves the client unwrapped.
 * Rotating the master key re-wraps these 224 bytes; records are not touched.
 */
export interface VaultKeySet {
  /** Encrypts record categories (deterministic). */
  readonly categoryKey: Uint8Array;
  /** Encrypts record ids (deterministic). */
  readonly nameKey: Uint8Array;
  /** Wraps the fresh per-value key of every record value. */
  readonly valueKey: Uint8Array;
  /** Encrypts tag names (deterministic). */
  readonly tagNameKey: Uint8Array;
  /** Encrypts tag values (deterministic, bound to the tag name). */
  readonly tagValueKey: Uint8Array;
  /** Derives the nonces of category and id ciphertexts. */
  readonly itemHmacKey: Uint8Array;
  /** Derives the nonces of tag name and value ciphertexts. */
  readonly tagHmacKey: Uint8Array;
}

/** The key set's members, in the order they are serialized when wrapped. */
export const VAULT_KEY_NAMES = [
  'categoryKey',
  'nameKey',
  'valueKey',
  'tagNameKey',
  'tagValueKey',
  'itemHmacKey',
  'tagHmacKey',
] as const satisfies ReadonlyArray<keyof VaultKeySet>;

/** Source of randomness; tests inject a seeded one for known-answer tests. */
export type RandomBytes = (length: number) => Uint8Array;

/** WebCrypto's `getRandomValues` (browsers and Node 20), which fills at most 64 KiB per call. */
export const defaultRandomBytes: RandomBytes = (length) => {
  const source = globalThis.crypto;
  if (!source?.getRandomValues) throw new Error('WebCrypto (crypto.getRandomValues) is not available');
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65_536) source.getRandomValues(bytes.subarray(offset, Math.min(length, offset + 65_536)));
  return bytes;
};

/** Raised when a wrapped key set, record or blinded field fails to authenticate or parse. */
export class VaultCryptoError extends WalletError {
  constructor(what: string, options: { cause?: unknown } = {}) {
    super('validation_failed', `${what} failed to decrypt or is malformed`, options);
  }
}

/** A fresh key set: seven independent random 256-bit keys. Create it once per vault. */
export function generateVaultKeySet(random: RandomBytes = defaultRandomBytes): VaultKeySet {
  return Object.fromEntries(VAULT_KEY_NAMES.map((name) => [name, random(32)])) as unknown as VaultKeySet;
}

/** Argon2id parameters (RFC 9106); the defaults follow the OWASP minimum (19 MiB, 2 passes). */
export interface Argon2Params {
  /** Passes. */
  t: number;
  /** Memory in KiB. */
  m: number;
  /** Lanes. */
  p: number;
}

/** The Argon2id parameters a new passphrase master key uses unless told otherwise. */
export const DEFAULT_ARGON2_PARAMS: Readonly<Argon2Params> = Object.freeze({ t: 2, m: 19_456, p: 1 });

/** Bounds on parameters read back from a stored key set, so a tampered blob cannot make us burn gigabytes. */
const ARGON2_BOUNDS = { t: [1, 10], m: [64, 1_048_576], p: [1, 8] } as const;

/**
 * A master key: 32 random bytes, or a passphrase with the salt and Argon2id
 * parameters needed to derive it again. The derivation record is stored next
 * to the wrapped key set (it is not secret).
 */
export type MasterKey =
  | { readonly kind: 'raw'; readonly key: Uint8Array }
  | { readonly kind: 'argon2id'; readonly key: Uint8Array; readonly salt: Uint8Array; readonly params: Argon2Params };

/** A master key from 32 secret bytes the caller already has (a platform secret, a derived key). */
export function rawMasterKey(key: Uint8Array): MasterKey {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new ValidationError('a master key is 32 bytes', [{ path: '/key', message: 'must be 32 bytes' }]);
  return { kind: 'raw', key };
}

const PRF_INFO = new TextEncoder().encode('wallet-vault-master-key-v1');

/**
 * A master key from a passkey's WebAuthn PRF output (`prf.results.first`,
 * 32 bytes for a given salt): HKDF-SHA256 with a purpose label, so the same
 * PRF output used elsewhere does not give this key. The result is a `raw`
 * master key: unwrap with `unwrapVaultKeySet(wrapped, prfMasterKey(output))`.
 */
export function prfMasterKey(prfOutput: Uint8Array): MasterKey {
  if (!(prfOutput instanceof Uint8Array) || prfOutput.length < 32) {
    throw new ValidationError('a PRF output is at least 32 bytes', [{ path: '/prfOutput', message: 'must be at least 32 bytes' }]);
  }
  return rawMasterKey(hkdf(sha256, prfOutput, undefined, PRF_INFO, 32));
}

/** Derives a master key from a passphrase: a fresh salt unless one is given (to derive an existing one again). */
export function passphraseMasterKey(
  passphrase: string,
  options: { salt?: Uint8Array; params?: Argon2Params; random?: RandomBytes } = {},
): MasterKey {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new ValidationError('a passphrase is required', [{ path: '/passphrase', message: 'must be a non-empty string' }]);
  }
  const params = options.params ?? DEFAULT_ARGON2_PARAMS;
  checkArgon2Params(params);
  const salt = options.salt ?? (options.random ?? defaultRandomBytes)(16);
  const key = argon2id(new TextEncoder().encode(passphrase.normalize('NFC')), salt, { ...params, dkLen: 32 });
  return { kind: 'argon2id', key, salt, params: { ...params } };
}

function checkArgon2Params(params: Argon2Params): void {
  for (const name of ['t', 'm', 'p'] as const) {
    const [min, max] = ARGON2_BOUNDS[name];
    const value = params[name];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new VaultCryptoError('the key set (argon2id parameters out of range)');
    }
  }
}

/** What is stored (server side, in the keystore blob): JSON, every byte string base64url. */
export interface WrappedVaultKeySet {
  v: 1;
  kdf: { alg: 'raw' } | { alg: 'argon2id'; salt: string; t: number; m: number; p: number };
  nonce: string;
  ciphertext: string;
}

const KEYSET_AAD = new TextEncoder().encode('wallet-vault-keyset-v1');

/** Encrypts the key set under a master key (ChaCha20-Poly1305, the KDF record as AAD) for storage. */
export function wrapVaultKeySet(keys: VaultKeySet, master: MasterKey, random: RandomBytes = defaultRandomBytes): WrappedVaultKeySet {
  const plain = new Uint8Array(32 * VAULT_KEY_NAMES.length);
  VAULT_KEY_NAMES.forEach((name, i) => plain.set(keys[name], i * 32));
  const nonce = random(12);
  const ciphertext = chacha20poly1305(master.key, nonce, kdfAad(master)).encrypt(plain);
  plain.fill(0);
  return {
    v: 1,
    kdf:
      master.kind === 'raw'
        ? { alg: 'raw' }
        : { alg: 'argon2id', salt: b64(master.salt), t: master.params.t, m: master.params.m, p: master.params.p },
    nonce: b64(nonce),
    ciphertext: b64(ciphertext),
  };
}

/** The KDF record is authenticated too: changing the salt or parameters is detected, not silently used. */
function kdfAad(master: MasterKey): Uint8Array {
  const kdf = master.kind === 'raw' ? 'raw' : `argon2id:${b64(master.salt)}:${master.params.t}:${master.params.m}:${master.params.p}`;
  const suffix = new TextEncoder().encode(`|${kdf}`);
  const aad = new Uint8Array(KEYSET_AAD.length + suffix.length);
  aad.set(KEYSET_AAD);
  aad.set(suffix, KEYSET_AAD.length);
  return aad;
}

/**
 * The master key a wrapped key set needs: for a passphrase-derived one, the
 * stored salt and parameters are used (and bounded).
 */
export function masterKeyFor(wrapped: WrappedVaultKeySet, secret: { passphrase: string } | { key: Uint8Array }): MasterKey {
  const kdf = parseWrapped(wrapped).kdf;
  if (kdf.alg === 'raw') {
    if (!('key' in secret)) throw new VaultCryptoError('the key set (it needs a raw master key)');
    return rawMasterKey(secret.key);
  }
  if (!('passphrase' in secret)) throw new VaultCryptoError('the key set (it needs a passphrase)');
  const params = { t: kdf.t, m: kdf.m, p: kdf.p };
  checkArgon2Params(params);
  return passphraseMasterKey(secret.passphrase, { salt: unb64(kdf.salt, 'the key set'), params });
}

/** Decrypts a wrapped key set; `VaultCryptoError` on a wrong master key or any tampering. */
export function unwrapVaultKeySet(wrapped: WrappedVaultKeySet, master: MasterKey): VaultKeySet {
  const parsed = parseWrapped(wrapped);
  const expectedAlg = master.kind === 'raw' ? 'raw' : 'argon2id';
  if (parsed.kdf.alg !== expectedAlg) throw new VaultCryptoError('the key set');
  let plain: Uint8Array;
  try {
    plain = chacha20poly1305(master.key, unb64(parsed.nonce, 'the key set'), kdfAad(master)).decrypt(
      unb64(parsed.ciphertext, 'the key set'),
    );
  } catch (error) {
    throw new VaultCryptoError('the key set', { cause: error });
  }
  if (plain.length !== 32 * VAULT_KEY_NAMES.length) throw new VaultCryptoError('the key set');
  return Object.fromEntries(VAULT_KEY_NAMES.map((name, i) => [name, plain.slice(i * 32, i * 32 + 32)])) as unknown as VaultKeySet;
}

/** Rotates the master key: unwraps with the old one, wraps with the new one. Records are not re-encrypted. */
export function rewrapVaultKeySet(
  wrapped: WrappedVaultKeySet,
  oldMaster: MasterKey,
  newMaster: MasterKey,
  random: RandomBytes = defaultRandomBytes,
): WrappedVaultKeySet {
  return wrapVaultKeySet(unwrapVaultKeySet(wrapped, oldMaster), newMaster, random);
}

function parseWrapped(wrapped: WrappedVaultKeySet): WrappedVaultKeySet {
  const ok =
    wrapped !== null &&
    typeof wrapped === 'object' &&
    wrapped.v === 1 &&
    typeof wrapped.nonce === 'string' &&
    typeof wrapped.ciphertext === 'string' &&
    wrapped.kdf !== null &&
    typeof wrapped.kdf === 'object' &&
    (wrapped.kdf.alg === 'raw' ||
      (wrapped.kdf.alg === 'argon2id' &&
        typeof wrapped.kdf.salt === 'string' &&
        [wrapped.kdf.t, wrapped.kdf.m, wrapped.kdf.p].every(Number.isInteger)));
  if (!ok) throw new VaultCryptoError('the key set');
  return wrapped;
}

/**
 * The wrapped key set as bytes (UTF-8 JSON), for the auth keystore blob
 * (`privateData`) when the vault key set is all a front end keeps there.
 */
export function encodeWrappedVaultKeySet(wrapped: WrappedVaultKeySet): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(parseWrapped(wrapped)));
}

/** Reads back {@link encodeWrappedVaultKeySet}'s bytes; `VaultCryptoError` when they are not a wrapped key set. */
export function decodeWrappedVaultKeySet(bytes: Uint8Array): WrappedVaultKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new VaultCryptoError('the key set', { cause: error });
  }
  return parseWrapped(parsed as WrappedVaultKeySet);
}

/** base64url without padding. Internal to the vault code (not exported by the package). */
export function b64(bytes: Uint8Array): string {
  return base64urlEncode(bytes);
}

/** Strict base64url: only the canonical encoding of some bytes is accepted, so a ciphertext has exactly one spelling. */
export function unb64(text: string, what: string): Uint8Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) throw new VaultCryptoError(what);
  let bytes: Uint8Array;
  try {
    bytes = base64urlDecode(text);
  } catch (error) {
    // atob refuses a length of 4n+1: no bytes encode to that.
    throw new VaultCryptoError(what, { cause: error });
  }
  if (base64urlEncode(bytes) !== text) throw new VaultCryptoError(what);
  return bytes;
}

/**
 * Compares two byte strings in time that depends only on their lengths, so a
 * forger learns nothing from how long a check took (node's `timingSafeEqual`
 * is not available in browsers).
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return difference === 0;
}
