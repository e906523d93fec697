import { createHeaderAndPayload, StatusList } from '@sd-jwt/jwt-status-list';
import { generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { gzipSync } from 'node:zlib';
import { checkBitstringStatus, checkTokenStatus, readBitstringStatusList, readTokenStatusList } from './check-status';

const URI = 'https://status.example/lists/1';

describe('IETF Token Status List (lists built by @sd-jwt/jwt-status-list)', () => {
  let key: { publicKey: KeyLike; privateKey: KeyLike };
  const statuses = Array.from({ length: 300 }, (_, i) => (i === 7 ? 1 : i === 42 ? 2 : 0));

  beforeAll(async () => {
    key = await generateKeyPair('ES256');
  });

  const listJwt = async (bits: 1 | 2 | 4 | 8, overrides: { sub?: string; exp?: number; typ?: string; signWith?: KeyLike } = {}) => {
    const list = new StatusList(statuses, bits);
    const { header, payload } = createHeaderAndPayload(list, { iss: 'https://issuer.example', sub: overrides.sub ?? URI, iat: Math.floor(Date.now() / 1000) }, { alg: 'ES256', typ: 'statuslist+jwt' });
    let jwt = new SignJWT(payload as never).setProtectedHeader({ ...header, typ: overrides.typ ?? header.typ } as never);
    if (overrides.exp) jwt = jwt.setExpirationTime(overrides.exp);
    return jwt.sign(overrides.signWith ?? key.privateKey);
  };
  const options = (jwt: string) => ({ fetchStatusList: async () => jwt, resolveKey: async () => key.publicKey });
  const status = (idx: number) => ({ status_list: { idx, uri: URI } });

  it.each([1, 2, 4, 8] as const)('reads every entry of a %i-bit list like the reference library', async (bits) => {
    const list = new StatusList(statuses.map((s) => Math.min(s, (1 << bits) - 1)), bits);
    const lst = list.compressStatusList();
    for (const idx of [0, 7, 42, 299]) expect(readTokenStatusList({ bits, lst }, idx)).toBe(list.getStatus(idx));
  });

  it('passes a valid entry and refuses revoked and suspended ones', async () => {
    const jwt = await listJwt(2);
    await expect(checkTokenStatus(status(0), options(jwt))).resolves.toBe('valid');
    await expect(checkTokenStatus(status(7), options(jwt))).rejects.toMatchObject({ code: 'revoked' });
    await expect(checkTokenStatus(status(42), options(jwt))).rejects.toMatchObject({ code: 'suspended' });
    await expect(checkTokenStatus(undefined, options(jwt))).resolves.toBe('valid');
  });

  it('refuses a list with a bad signature, another sub, the wrong typ, expiry, an index out of range or a fetch failure', async () => {
    const other = await generateKeyPair('ES256');
    await expect(checkTokenStatus(status(0), options(await listJwt(1, { signWith: other.privateKey })))).rejects.toMatchObject({ code: 'status_unavailable' });
    await expect(checkTokenStatus(status(0), options(await listJwt(1, { sub: 'https://status.example/other' })))).rejects.toMatchObject({
      code: 'status_unavailable',
      message: expect.stringMatching(/sub/),
    });
    await expect(checkTokenStatus(status(0), options(await listJwt(1, { typ: 'JWT' })))).rejects.toMatchObject({ code: 'status_unavailable' });
    await expect(checkTokenStatus(status(0), options(await listJwt(1, { exp: Math.floor(Date.now() / 1000) - 3600 })))).rejects.toMatchObject({
      message: expect.stringMatching(/expired/),
    });
    await expect(checkTokenStatus(status(100_000), options(await listJwt(1)))).rejects.toMatchObject({ message: expect.stringMatching(/outside/) });
    await expect(
      checkTokenStatus(status(0), { fetchStatusList: async () => Promise.reject(new Error('ECONNREFUSED')), resolveKey: async () => key.publicKey }),
    ).rejects.toMatchObject({ code: 'status_unavailable' });
    await expect(checkTokenStatus({ status_list: { idx: -1, uri: URI } }, options(''))).rejects.toMatchObject({ code: 'malformed' });
  });
});

describe('W3C Bitstring Status List', () => {
  // Bits 3 and 12 set; most significant bit first.
  const bitstring = Buffer.alloc(16 * 1024);
  bitstring[0] = 0b0001_0000;
  bitstring[1] = 0b0000_1000;
  const encodedList = `u${gzipSync(bitstring).toString('base64url')}`;

  it('reads bits most significant first', () => {
    expect([0, 3, 4, 11, 12, 13].map((i) => readBitstringStatusList(encodedList, i))).toEqual([0, 1, 0, 0, 1, 0]);
    expect(() => readBitstringStatusList('zabc', 0)).toThrow(/multibase/);
  });

  it('checks a signed status list credential per purpose', async () => {
    const key = await generateKeyPair('ES256');
    const listCredential = (purpose: string) =>
      new SignJWT({ vc: { type: ['VerifiableCredential', 'BitstringStatusListCredential'], credentialSubject: { type: 'BitstringStatusList', statusPurpose: purpose, encodedList } } })
        .setProtectedHeader({ alg: 'ES256', typ: 'vc+jwt' })
        .sign(key.privateKey);
    const revocationList = await listCredential('revocation');
    const opts = (jwt: string) => ({ fetchStatusList: async () => jwt, resolveKey: async () => key.publicKey });
    const entry = (index: number, purpose = 'revocation') => ({
      type: 'BitstringStatusListEntry',
      statusPurpose: purpose,
      statusListIndex: String(index),
      statusListCredential: URI,
    });
    await expect(checkBitstringStatus(entry(4), opts(revocationList))).resolves.toBe('valid');
    await expect(checkBitstringStatus(entry(3), opts(revocationList))).rejects.toMatchObject({ code: 'revoked' });
    await expect(checkBitstringStatus(entry(12, 'suspension'), opts(await listCredential('suspension')))).rejects.toMatchObject({ code: 'suspended' });
    await expect(checkBitstringStatus(entry(3, 'suspension'), opts(revocationList))).rejects.toMatchObject({ message: expect.stringMatching(/purpose/) });
    await expect(checkBitstringStatus({ type: 'StatusList2021Entry' }, opts(revocationList))).rejects.toMatchObject({ code: 'malformed' });
  });
});
