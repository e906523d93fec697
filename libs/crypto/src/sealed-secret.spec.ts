import { randomBytes } from 'node:crypto';
import { openSealedSecret, sealSecret } from './sealed-secret';

describe('sealed secrets', () => {
  const kek = randomBytes(32);
  const secret = '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----';

  it('seals under the key encryption key and opens only with the same key and context', async () => {
    const sealed = await sealSecret(secret, 'issuer:acme/pid', kek);
    expect(sealed).toMatch(/^jwe:[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain('abc');
    expect(await openSealedSecret(sealed, 'issuer:acme/pid', kek)).toBe(secret);
    await expect(openSealedSecret(sealed, 'issuer:other/pid', kek)).rejects.toThrow('another record');
    await expect(openSealedSecret(sealed, 'issuer:acme/pid', randomBytes(32))).rejects.toThrow();
    await expect(openSealedSecret(sealed, 'issuer:acme/pid', null)).rejects.toThrow('no key encryption key');
  });

  it('stores the value as given without a key encryption key (development)', async () => {
    expect(await sealSecret(secret, 'issuer:acme/pid', null)).toBe(secret);
    expect(await openSealedSecret(secret, 'issuer:acme/pid', null)).toBe(secret);
  });
});
