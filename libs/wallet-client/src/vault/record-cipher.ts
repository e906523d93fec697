import { chacha20poly1305 } from '@noble/ciphers/chacha';
import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha2';
import { ValidationError } from '@wallet/domain';
import { isPlaintextTag, mapWql, parseWql, toWqlJson, type WqlLimits } from '@wallet/wql';
import { b64, constantTimeEqual, defaultRandomBytes, unb64, VaultCryptoError, type RandomBytes, type VaultKeySet } from './vault-keys';

/** A record as the wallet sees it. */
export interface PlainVaultRecord {
  /** At most 100 bytes of UTF-8 (its ciphertext must fit a store id). */
  id: string;
  /** What kind of record (`credential`, `keys`, ...); encrypted, but equal categories give equal ciphertexts. */
  category: string;
  /** The content; only this is encrypted with a fresh key each time. */
  value: Uint8Array;
  /** Names starting with `~` stay plain text (range and `$like` queries); the rest is blinded. */
  tags: Record<string, string>;
}

/** The same record as the server stores it: every field base64url ciphertext except `~` tags. */
export interface EncryptedVaultRecord {
  id: string;
  category: string;
  blob: string;
  tags: Record<string, string>;
}

const MAX_ID_BYTES = 100;
const MAX_FIELD_BYTES = 4096;
const BLOB_VERSION = 1;
const NONCE = 12;
const TAG = 16;
const WRAPPED_KEY = 32 + TAG;

/** Domain separation of the nonce derivation. */
const Domain = { Category: 1, Id: 2, TagName: 3, TagValue: 4 } as const;
type Domain = (typeof Domain)[keyof typeof Domain];

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Client-side record encryption (Aries/Indy style), ChaCha20-Poly1305 with
 * HMAC-SHA256:
 *
 * - searchable fields (id, category, tag names, tag values) are encrypted
 *   deterministically: the nonce is the first 12 bytes of
 *   `HMAC(hmacKey, domain || len(aad) || aad || plaintext)`, so equal inputs give
 *   equal ciphertexts (the server can match them) and the nonce is checked
 *   again on decryption. A tag value's AAD is its tag name, so a value cannot
 *   be moved to another tag and equal values under different names differ;
 * - the value gets a fresh random 256-bit key and nonce; that key is wrapped
 *   by `valueKey` with its own random nonce. Both AEADs take the encrypted id
 *   and category as AAD, so a blob cannot be swapped into another record.
 *
 * What the server learns: which records share a category, a tag name or a tag
 * value (that is what makes search work), sizes, and `~` tags in full.
 */
export class VaultRecordCipher {
  /** `random` is for known-answer tests; the default is WebCrypto's `getRandomValues`. */
  constructor(
    private readonly keys: VaultKeySet,
    private readonly random: RandomBytes = defaultRandomBytes,
  ) {}

  /** The id as the server stores it (deterministic: the same id always gives the same ciphertext). */
  encryptId(id: string): string {
    const bytes = field(id, '/id');
    if (bytes.length > MAX_ID_BYTES) {
      throw new ValidationError('invalid vault record', [{ path: '/id', message: `at most ${MAX_ID_BYTES} bytes of UTF-8` }]);
    }
    return this.seal(this.keys.nameKey, this.keys.itemHmacKey, Domain.Id, bytes, EMPTY);
  }

  /** The category as the server stores it (deterministic). */
  encryptCategory(category: string): string {
    return this.seal(this.keys.categoryKey, this.keys.itemHmacKey, Domain.Category, field(category, '/category'), EMPTY);
  }

  /** `~` names are returned as they are. */
  encryptTagName(name: string): string {
    if (isPlaintextTag(name)) return name;
    return this.seal(this.keys.tagNameKey, this.keys.tagHmacKey, Domain.TagName, field(name, '/tags'), EMPTY);
  }

  /** Values of `~` tags are returned as they are. */
  encryptTagValue(name: string, value: string): string {
    if (isPlaintextTag(name)) return value;
    return this.seal(this.keys.tagValueKey, this.keys.tagHmacKey, Domain.TagValue, field(value, '/tags'), field(name, '/tags'));
  }

  /** The record as the server stores it; ValidationError on an empty or oversized field. */
  encryptRecord(record: PlainVaultRecord): EncryptedVaultRecord {
    if (!(record.value instanceof Uint8Array)) {
      throw new ValidationError('invalid vault record', [{ path: '/value', message: 'must be bytes' }]);
    }
    const id = this.encryptId(record.id);
    const category = this.encryptCategory(record.category);
    const aad = encoder.encode(`${id}|${category}`);
    const valueKey = this.random(32);
    const wrapNonce = this.random(NONCE);
    const valueNonce = this.random(NONCE);
    const wrappedKey = chacha20poly1305(this.keys.valueKey, wrapNonce, aad).encrypt(valueKey);
    const ciphertext = chacha20poly1305(valueKey, valueNonce, aad).encrypt(record.value);
    valueKey.fill(0);
    const blob = new Uint8Array(1 + NONCE + WRAPPED_KEY + NONCE + ciphertext.length);
    blob[0] = BLOB_VERSION;
    blob.set(wrapNonce, 1);
    blob.set(wrappedKey, 1 + NONCE);
    blob.set(valueNonce, 1 + NONCE + WRAPPED_KEY);
    blob.set(ciphertext, 1 + 2 * NONCE + WRAPPED_KEY);
    const tags: Record<string, string> = {};
    for (const [name, value] of Object.entries(record.tags ?? {})) {
      if (typeof value !== 'string') throw new ValidationError('invalid vault record', [{ path: '/tags', message: 'tag values are strings' }]);
      tags[this.encryptTagName(name)] = this.encryptTagValue(name, value);
    }
    return { id, category, blob: b64(blob), tags };
  }

  /**
   * The plain id of a stored id: what a sync tombstone (which has no blob)
   * needs. Throws `VaultCryptoError` when it was not made under these keys.
   */
  decryptId(encryptedId: string): string {
    return decoder.decode(this.open(this.keys.nameKey, this.keys.itemHmacKey, Domain.Id, encryptedId, EMPTY, 'the record id'));
  }

  /** The plain category of a stored category; `VaultCryptoError` when it was not made under these keys. */
  decryptCategory(encryptedCategory: string): string {
    return decoder.decode(
      this.open(this.keys.categoryKey, this.keys.itemHmacKey, Domain.Category, encryptedCategory, EMPTY, 'the record category'),
    );
  }

  /** Throws `VaultCryptoError` when any field was changed (or was encrypted under other keys). */
  decryptRecord(record: EncryptedVaultRecord): PlainVaultRecord {
    const id = this.decryptId(record.id);
    const category = this.decryptCategory(record.category);
    const blob = unb64(record.blob, 'the record value');
    if (blob.length < 1 + 2 * NONCE + WRAPPED_KEY + TAG || blob[0] !== BLOB_VERSION) throw new VaultCryptoError('the record value');
    const aad = encoder.encode(`${record.id}|${record.category}`);
    let value: Uint8Array;
    try {
      const valueKey = chacha20poly1305(this.keys.valueKey, blob.subarray(1, 1 + NONCE), aad).decrypt(
        blob.subarray(1 + NONCE, 1 + NONCE + WRAPPED_KEY),
      );
      value = chacha20poly1305(valueKey, blob.subarray(1 + NONCE + WRAPPED_KEY, 1 + 2 * NONCE + WRAPPED_KEY), aad).decrypt(
        blob.subarray(1 + 2 * NONCE + WRAPPED_KEY),
      );
      valueKey.fill(0);
    } catch (error) {
      throw new VaultCryptoError('the record value', { cause: error });
    }
    const tags: Record<string, string> = {};
    for (const [encName, encValue] of Object.entries(record.tags ?? {})) {
      if (isPlaintextTag(encName)) {
        tags[encName] = encValue;
        continue;
      }
      const nameBytes = this.open(this.keys.tagNameKey, this.keys.tagHmacKey, Domain.TagName, encName, EMPTY, 'a tag name');
      const name = decoder.decode(nameBytes);
      const tagValue = this.open(this.keys.tagValueKey, this.keys.tagHmacKey, Domain.TagValue, encValue, nameBytes, 'a tag value');
      tags[name] = decoder.decode(tagValue);
    }
    return { id, category, value, tags };
  }

  /**
   * Turns a plain WQL query into the blinded one the server evaluates: tag
   * names and values are encrypted exactly as `encryptRecord` encrypts them,
   * `~` tags are left alone. Validates the query first (`ValidationError`).
   */
  blindQuery(query: unknown, limits: Partial<WqlLimits> = {}): Record<string, unknown> {
    const ast = parseWql(query, limits);
    return toWqlJson(
      mapWql(
        ast,
        (name) => this.encryptTagName(name),
        (name, value) => this.encryptTagValue(name, value),
      ),
    );
  }

  private nonce(hmacKey: Uint8Array, domain: Domain, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    const header = new Uint8Array(5);
    header[0] = domain;
    new DataView(header.buffer).setUint32(1, aad.length);
    const mac = hmac.create(sha256, hmacKey).update(header).update(aad).update(plaintext).digest();
    return mac.subarray(0, NONCE);
  }

  private seal(key: Uint8Array, hmacKey: Uint8Array, domain: Domain, plaintext: Uint8Array, aad: Uint8Array): string {
    const nonce = this.nonce(hmacKey, domain, plaintext, aad);
    const ciphertext = chacha20poly1305(key, nonce, aad).encrypt(plaintext);
    const out = new Uint8Array(NONCE + ciphertext.length);
    out.set(nonce);
    out.set(ciphertext, NONCE);
    return b64(out);
  }

  private open(
    key: Uint8Array,
    hmacKey: Uint8Array,
    domain: Domain,
    text: string,
    aad: Uint8Array,
    what: string,
  ): Uint8Array {
    const bytes = unb64(text, what);
    if (bytes.length < NONCE + TAG) throw new VaultCryptoError(what);
    const nonce = bytes.subarray(0, NONCE);
    let plaintext: Uint8Array;
    try {
      plaintext = chacha20poly1305(key, nonce, aad).decrypt(bytes.subarray(NONCE));
    } catch (error) {
      throw new VaultCryptoError(what, { cause: error });
    }
    // A searchable field's nonce is a function of its plaintext: anything else was not made by us.
    if (!constantTimeEqual(this.nonce(hmacKey, domain, plaintext, aad), nonce)) throw new VaultCryptoError(what);
    return plaintext;
  }
}

const EMPTY = new Uint8Array(0);

function field(text: string, path: string): Uint8Array {
  if (typeof text !== 'string' || text.length === 0) {
    throw new ValidationError('invalid vault record', [{ path, message: 'must be a non-empty string' }]);
  }
  const bytes = encoder.encode(text);
  if (bytes.length > MAX_FIELD_BYTES) {
    throw new ValidationError('invalid vault record', [{ path, message: `at most ${MAX_FIELD_BYTES} bytes` }]);
  }
  return bytes;
}
