import { ValidationError } from '@wallet/domain';
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { VaultRecordCipher, type EncryptedVaultRecord } from './record-cipher';
import {
  generateVaultKeySet,
  masterKeyFor,
  passphraseMasterKey,
  rawMasterKey,
  rewrapVaultKeySet,
  unwrapVaultKeySet,
  VaultCryptoError,
  wrapVaultKeySet,
  type RandomBytes,
} from './vault-keys';

/** A predictable byte stream, so the scheme's outputs can be pinned. */
function counterRandom(): RandomBytes {
  let counter = 0;
  return (n) => {
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i++) bytes[i] = (counter++ * 7 + 3) & 0xff;
    return bytes;
  };
}

const utf8 = (text: string) => new TextEncoder().encode(text);
const plain = {
  id: 'cred-1',
  category: 'credential',
  value: utf8('{"vc":"x"}'),
  tags: { type: 'pid', '~added': '2026-01-01' },
};

describe('VaultRecordCipher known answers', () => {
  it('encrypts a record to fixed bytes for fixed keys and randomness', () => {
    const random = counterRandom();
    const keys = generateVaultKeySet(random);
    const encrypted = new VaultRecordCipher(keys, random).encryptRecord(plain);
    expect(encrypted).toEqual({
      id: 'tYMIpqKjX6uTIKT7WHyE2mV1KI0sWen4lHbseM0ys7nq8A',
      category: 'L8uKLJX2u3KX0ECB14MjtIzXLwT8p7ELXmVy47JqKzPS4DQthOI',
      blob:
        'AQMKERgfJi00O0JJUJZmgMmlc9m-RVntBHcgEUFO4S3rh4t6NO-RtRLe9_-yaj2d5QiJKXju1JoZGUGymFdeZWxzeoGIj5adpC592TLjHdZchmoIqzmVD2GzG-AZgqkJDqRN',
      tags: {
        '3SdImDv6hZDC80j-B_8jngiKhhhwPdtH7n7mt4shWEw': '2UqUu0XW5j_tRo-u4ueJdUBpMfOC5S8zRXA6jm50oQ',
        '~added': '2026-01-01',
      },
    });
    // Wrapping the key set is pinned too (raw and passphrase master keys).
    expect(wrapVaultKeySet(keys, rawMasterKey(new Uint8Array(32).fill(9)), random).nonce).toBe('q7K5wMfO1dzj6vH4');
    const wrapped = wrapVaultKeySet(
      keys,
      passphraseMasterKey('correct horse', { salt: new Uint8Array(16).fill(1), params: { t: 1, m: 64, p: 1 } }),
      random,
    );
    expect(wrapped.ciphertext.slice(0, 43)).toBe('uXMpEJ9ULeZsc4SJdX1T33BHBZvpr4NOSsWgm-VfIOb');
  });

  it('matches an independent computation with node:crypto (HMAC-SHA256 nonce, ChaCha20-Poly1305)', () => {
    const random = counterRandom();
    const keys = generateVaultKeySet(random);
    const cipher = new VaultRecordCipher(keys, random);
    // id: nonce = HMAC(itemHmacKey, 0x02 || u32be(0) || "cred-1")[0..12]
    const nonce = createHmac('sha256', keys.itemHmacKey)
      .update(Buffer.from([2, 0, 0, 0, 0]))
      .update('cred-1')
      .digest()
      .subarray(0, 12);
    const node = createCipheriv('chacha20-poly1305', keys.nameKey, nonce, { authTagLength: 16 });
    const expected = Buffer.concat([nonce, node.update('cred-1'), node.final(), node.getAuthTag()]).toString('base64url');
    expect(cipher.encryptId('cred-1')).toBe(expected);

    // The value decrypts with node:crypto from the blob layout: v | wrapNonce | wrappedKey | nonce | ct.
    const encrypted = cipher.encryptRecord(plain);
    const blob = Buffer.from(encrypted.blob, 'base64url');
    const aad = Buffer.from(`${encrypted.id}|${encrypted.category}`);
    const open = (key: Uint8Array, iv: Buffer, data: Buffer) => {
      const d = createDecipheriv('chacha20-poly1305', key, iv, { authTagLength: 16 });
      d.setAAD(aad, { plaintextLength: data.length - 16 });
      d.setAuthTag(data.subarray(data.length - 16));
      return Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()]);
    };
    const valueKey = open(keys.valueKey, blob.subarray(1, 13), blob.subarray(13, 61));
    expect(open(valueKey, blob.subarray(61, 73), blob.subarray(73)).toString()).toBe('{"vc":"x"}');
  });
});

describe('VaultRecordCipher', () => {
  const keys = generateVaultKeySet();
  const cipher = new VaultRecordCipher(keys);

  it('round-trips a record; searchable fields are deterministic, values are not', () => {
    const a = cipher.encryptRecord(plain);
    const b = cipher.encryptRecord(plain);
    expect(cipher.decryptRecord(a)).toEqual(plain);
    expect(a.id).toBe(b.id);
    expect(a.category).toBe(b.category);
    expect(a.tags).toEqual(b.tags);
    expect(a.blob).not.toBe(b.blob);
    // The same value under two tag names gives two ciphertexts.
    expect(cipher.encryptTagValue('a', 'same')).not.toBe(cipher.encryptTagValue('b', 'same'));
    // Another key set cannot read it.
    expect(() => new VaultRecordCipher(generateVaultKeySet()).decryptRecord(a)).toThrow(VaultCryptoError);
  });

  it('detects a flipped bit in every field', () => {
    const encrypted = cipher.encryptRecord({ ...plain, tags: { type: 'pid', issuer: 'gov' } });
    const flip = (text: string, index: number) => {
      const bytes = Buffer.from(text, 'base64url');
      bytes[index % bytes.length]! ^= 0x01;
      return bytes.toString('base64url');
    };
    const variants: EncryptedVaultRecord[] = [];
    for (const index of [0, 5, 12, 20, 1000]) {
      variants.push({ ...encrypted, id: flip(encrypted.id, index) });
      variants.push({ ...encrypted, category: flip(encrypted.category, index) });
    }
    // Every byte of the blob: version, wrap nonce, wrapped key, value nonce, ciphertext, tag.
    const blobLength = Buffer.from(encrypted.blob, 'base64url').length;
    for (let index = 0; index < blobLength; index++) variants.push({ ...encrypted, blob: flip(encrypted.blob, index) });
    for (const [name, value] of Object.entries(encrypted.tags)) {
      for (const index of [0, 11, 12, 30]) {
        const others = Object.fromEntries(Object.entries(encrypted.tags).filter(([n]) => n !== name));
        variants.push({ ...encrypted, tags: { ...others, [flip(name, index)]: value } });
        variants.push({ ...encrypted, tags: { ...others, [name]: flip(value, index) } });
      }
    }
    // Swapping two tag values between names is caught as well.
    const [[n1, v1], [n2, v2]] = Object.entries(encrypted.tags) as [[string, string], [string, string]];
    variants.push({ ...encrypted, tags: { [n1]: v2, [n2]: v1 } });
    // A blob moved to another record.
    variants.push({ ...encrypted, blob: cipher.encryptRecord({ ...plain, id: 'other' }).blob });
    for (const variant of variants) expect(() => cipher.decryptRecord(variant)).toThrow(VaultCryptoError);
    expect(variants.length).toBeGreaterThan(blobLength + 20);
  });

  it('refuses ids over 100 bytes and empty fields', () => {
    expect(() => cipher.encryptRecord({ ...plain, id: 'x'.repeat(101) })).toThrow(ValidationError);
    expect(cipher.encryptId('x'.repeat(100)).length).toBeLessThanOrEqual(200);
    expect(() => cipher.encryptRecord({ ...plain, category: '' })).toThrow(ValidationError);
  });

  it('blinds a WQL query exactly as records are encrypted and keeps ~ tags plain', () => {
    const encrypted = cipher.encryptRecord(plain);
    const blinded = cipher.blindQuery({ type: 'pid', '~added': { $gte: '2026' }, $not: { $exist: ['revoked'] } });
    expect(blinded).toEqual({
      $and: [
        { [cipher.encryptTagName('type')]: encrypted.tags[cipher.encryptTagName('type')] },
        { '~added': { $gte: '2026' } },
        { $not: { $exist: [cipher.encryptTagName('revoked')] } },
      ],
    });
    expect(() => cipher.blindQuery({ type: { $like: 'p%' } })).toThrow(/only allowed on plaintext tags/);
  });
});

describe('vault key set wrapping', () => {
  const params = { t: 1, m: 256, p: 1 };

  it('rekey re-wraps only the key set: records written before still decrypt', () => {
    const keys = generateVaultKeySet();
    const oldMaster = passphraseMasterKey('old passphrase', { params });
    const wrapped = wrapVaultKeySet(keys, oldMaster);
    const record = new VaultRecordCipher(keys).encryptRecord(plain);

    const newMaster = passphraseMasterKey('new passphrase', { params });
    const rewrapped = rewrapVaultKeySet(wrapped, masterKeyFor(wrapped, { passphrase: 'old passphrase' }), newMaster);
    expect(rewrapped.kdf).toMatchObject({ alg: 'argon2id', t: 1, m: 256, p: 1 });
    expect(rewrapped.ciphertext).not.toBe(wrapped.ciphertext);

    const unwrapped = unwrapVaultKeySet(rewrapped, masterKeyFor(rewrapped, { passphrase: 'new passphrase' }));
    expect(new VaultRecordCipher(unwrapped).decryptRecord(record)).toEqual(plain);
    expect(() => unwrapVaultKeySet(rewrapped, masterKeyFor(rewrapped, { passphrase: 'old passphrase' }))).toThrow(VaultCryptoError);
    // Raw master keys work the same way.
    const raw = rawMasterKey(new Uint8Array(32).fill(7));
    const toRaw = rewrapVaultKeySet(rewrapped, masterKeyFor(rewrapped, { passphrase: 'new passphrase' }), raw);
    expect(unwrapVaultKeySet(toRaw, masterKeyFor(toRaw, { key: new Uint8Array(32).fill(7) }))).toEqual(keys);
  });

  it('detects tampering with the wrapped key set, its salt or its parameters', () => {
    const keys = generateVaultKeySet();
    const wrapped = wrapVaultKeySet(keys, passphraseMasterKey('pw', { params }));
    const kdf = wrapped.kdf;
    if (kdf.alg !== 'argon2id') throw new Error('expected argon2id');
    const salt = Buffer.from(kdf.salt, 'base64url');
    salt[0]! ^= 1;
    const ct = Buffer.from(wrapped.ciphertext, 'base64url');
    ct[5]! ^= 1;
    const bad = [
      { ...wrapped, ciphertext: ct.toString('base64url') },
      { ...wrapped, kdf: { ...kdf, salt: salt.toString('base64url') } },
      { ...wrapped, kdf: { ...kdf, t: 2 } },
      { ...wrapped, nonce: 'AAAAAAAAAAAAAAAA' },
    ];
    for (const variant of bad) {
      expect(() => unwrapVaultKeySet(variant, masterKeyFor(variant, { passphrase: 'pw' }))).toThrow(VaultCryptoError);
    }
    // Parameters from a tampered blob are bounded before any work is done.
    expect(() => masterKeyFor({ ...wrapped, kdf: { ...kdf, m: 1 << 30 } }, { passphrase: 'pw' })).toThrow(VaultCryptoError);
    expect(() => masterKeyFor(wrapped, { key: new Uint8Array(32) })).toThrow(VaultCryptoError);
  });
});
