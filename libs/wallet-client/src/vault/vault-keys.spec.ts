import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha2';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VaultRecordCipher } from './record-cipher';
import {
  constantTimeEqual,
  decodeWrappedVaultKeySet,
  defaultRandomBytes,
  encodeWrappedVaultKeySet,
  generateVaultKeySet,
  masterKeyFor,
  passphraseMasterKey,
  prfMasterKey,
  unb64,
  unwrapVaultKeySet,
  VaultCryptoError,
  wrapVaultKeySet,
} from './vault-keys';

describe('browser-safe vault primitives', () => {
  it('compares byte strings without node:crypto', () => {
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });

  it('draws randomness from WebCrypto, also beyond its 64 KiB per call', () => {
    const big = defaultRandomBytes(200_000);
    expect(big).toHaveLength(200_000);
    // Every 64 KiB chunk was filled (a zero run of 1 KiB in random bytes does not happen).
    for (const offset of [0, 65_536, 131_072, 199_000]) expect(big.subarray(offset, offset + 1000).some((b) => b !== 0)).toBe(true);
    expect(constantTimeEqual(defaultRandomBytes(32), defaultRandomBytes(32))).toBe(false);
  });

  it('accepts only the canonical base64url of some bytes, as Buffer-based decoding did', () => {
    expect(unb64('AQID', 'x')).toEqual(new Uint8Array([1, 2, 3]));
    expect(unb64('', 'x')).toEqual(new Uint8Array(0));
    for (const bad of ['AQID=', 'AQ+D', 'A', 'AB', 'AQJ', ' AQID']) expect(() => unb64(bad, 'x')).toThrow(VaultCryptoError);
    // The same encodings node's Buffer produces.
    const bytes = defaultRandomBytes(301);
    const text = Buffer.from(bytes).toString('base64url');
    expect(unb64(text, 'x')).toEqual(bytes);
  });

  it('derives a master key from a passkey PRF output with HKDF and a purpose label', () => {
    const prf = new Uint8Array(32).fill(5);
    const master = prfMasterKey(prf);
    expect(master.kind).toBe('raw');
    expect(master.key).toEqual(hkdf(sha256, prf, undefined, new TextEncoder().encode('wallet-vault-master-key-v1'), 32));
    expect(master.key).not.toEqual(prf);
    const keys = generateVaultKeySet();
    const wrapped = wrapVaultKeySet(keys, master);
    expect(unwrapVaultKeySet(wrapped, prfMasterKey(new Uint8Array(32).fill(5)))).toEqual(keys);
    expect(() => unwrapVaultKeySet(wrapped, prfMasterKey(new Uint8Array(32).fill(6)))).toThrow(VaultCryptoError);
    expect(() => prfMasterKey(new Uint8Array(16))).toThrow(/at least 32 bytes/);
  });

  it('carries a wrapped key set in the keystore blob as bytes and reads it back', () => {
    const keys = generateVaultKeySet();
    const wrapped = wrapVaultKeySet(keys, passphraseMasterKey('pw', { params: { t: 1, m: 64, p: 1 } }));
    const blob = encodeWrappedVaultKeySet(wrapped);
    expect(blob).toBeInstanceOf(Uint8Array);
    const back = decodeWrappedVaultKeySet(blob);
    expect(back).toEqual(wrapped);
    expect(unwrapVaultKeySet(back, masterKeyFor(back, { passphrase: 'pw' }))).toEqual(keys);
    for (const bad of [new Uint8Array([0xff, 0xfe]), new TextEncoder().encode('{"v":2}'), new TextEncoder().encode('not json')]) {
      expect(() => decodeWrappedVaultKeySet(bad)).toThrow(VaultCryptoError);
    }
  });

  it('decrypts a stored id and category on their own (sync tombstones carry nothing else)', () => {
    const cipher = new VaultRecordCipher(generateVaultKeySet());
    expect(cipher.decryptId(cipher.encryptId('cred-é'))).toBe('cred-é');
    expect(cipher.decryptCategory(cipher.encryptCategory('credential'))).toBe('credential');
    // Id and category ciphertexts are domain-separated: one does not open as the other.
    expect(() => cipher.decryptCategory(cipher.encryptId('x'))).toThrow(VaultCryptoError);
    expect(() => new VaultRecordCipher(generateVaultKeySet()).decryptId(cipher.encryptId('x'))).toThrow(VaultCryptoError);
  });
});

describe('browser safety of the auth and vault code', () => {
  // The client library runs in browsers: no Node built-ins, no Buffer, no process.
  const sources = ['auth', 'vault'].flatMap((dir) =>
    readdirSync(join(__dirname, '..', dir))
      .filter((name) => name.endsWith('.ts') && !name.endsWith('.spec.ts'))
      .map((name) => join(__dirname, '..', dir, name)),
  );

  it.each(sources)('%s uses no Node-only API', (file) => {
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    expect(code).not.toMatch(/from ['"]node:|\brequire\(\s*['"]|\bBuffer\b|\bprocess\./);
  });
});
