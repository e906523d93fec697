import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { decodeCompactJws, JwsError, toPublicKeyObject, verifyCompactJws, verifyCompactJwsAsync, verifyDecodedJws, verifyDecodedJwsAsync } from './jws-verify';
import { randomToken } from './random-token';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function compact(alg: string, privateKey: KeyObject, payload: Record<string, unknown> = { sub: 'a' }): string {
  const input = `${b64({ alg, typ: 'JWT' })}.${b64(payload)}`;
  const hash = alg === 'EdDSA' ? null : `sha${alg.slice(2)}`;
  const options =
    alg.startsWith('ES') ? { key: privateKey, dsaEncoding: 'ieee-p1363' as const } : alg.startsWith('PS') ? { key: privateKey, padding: 6, saltLength: 32 } : privateKey;
  return `${input}.${sign(hash, Buffer.from(input), options).toString('base64url')}`;
}

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

describe.each([
  ['sync', async (...args: Parameters<typeof verifyDecodedJws>) => verifyDecodedJws(...args)],
  ['async (thread pool)', verifyDecodedJwsAsync],
])('decodeCompactJws, then verifyDecodedJws %s', (_name, check) => {
  it.each([
    ['ES256', ec],
    ['EdDSA', ed],
    ['RS256', rsa],
    ['PS256', rsa],
  ] as const)('decodes before the check and accepts a valid %s signature', async (alg, pair) => {
    const decoded = decodeCompactJws(compact(alg, pair.privateKey, { iss: 'x', n: 1 }));
    expect(decoded.header).toEqual({ alg, typ: 'JWT' });
    expect(decoded.payload).toEqual({ iss: 'x', n: 1 });
    await expect(check(decoded, pair.publicKey, [alg])).resolves.toBeUndefined();
  });

  it('refuses a changed payload, an unlisted or unfitting algorithm, and a payload that is not JSON', async () => {
    const jws = compact('ES256', ec.privateKey);
    const [h, , s] = jws.split('.');
    await expect(check(decodeCompactJws(`${h}.${b64({ sub: 'b' })}.${s}`), ec.publicKey, ['ES256'])).rejects.toMatchObject({ code: 'invalid_signature' });
    await expect(check(decodeCompactJws(jws), ec.publicKey, ['EdDSA'])).rejects.toMatchObject({ code: 'unsupported_algorithm' });
    await expect(check(decodeCompactJws(jws), ed.publicKey, ['ES256'])).rejects.toMatchObject({ code: 'unsupported_algorithm' });
    expect(() => decodeCompactJws(`${h}.%%%.${s}`)).toThrow(expect.objectContaining({ code: 'malformed' }));
    expect(() => decodeCompactJws(`${h}.${b64([1])}.${s}`)).toThrow(expect.objectContaining({ code: 'malformed' }));
    expect(() => decodeCompactJws('a.b')).toThrow(expect.objectContaining({ code: 'malformed' }));
  });
});

describe.each([
  ['sync', async (jws: string, key: KeyObject, algs: string[]) => verifyCompactJws(jws, key, algs)],
  ['async (thread pool)', (jws: string, key: KeyObject, algs: string[]) => verifyCompactJwsAsync(jws, key, algs)],
])('verifyCompactJws %s', (_name, check) => {
  it.each([
    ['ES256', ec],
    ['EdDSA', ed],
    ['RS256', rsa],
    ['PS256', rsa],
  ] as const)('accepts a valid %s signature and returns header and payload', async (alg, pair) => {
    const result = await check(compact(alg, pair.privateKey, { sub: 'x', n: 1 }), pair.publicKey, [alg]);
    expect(result).toEqual({ header: { alg, typ: 'JWT' }, payload: { sub: 'x', n: 1 } });
  });

  it('refuses a changed payload, an unlisted algorithm, an algorithm that does not fit the key, and garbage', async () => {
    const jws = compact('ES256', ec.privateKey);
    const [h, , s] = jws.split('.');
    const changed = `${h}.${b64({ sub: 'b' })}.${s}`;
    await expect(check(changed, ec.publicKey, ['ES256'])).rejects.toMatchObject({ code: 'invalid_signature' });
    await expect(check(jws, ec.publicKey, ['EdDSA'])).rejects.toMatchObject({ code: 'unsupported_algorithm' });
    await expect(check(jws, ed.publicKey, ['ES256'])).rejects.toMatchObject({ code: 'unsupported_algorithm' });
    await expect(check(`${h}.${b64({ sub: 'a' })}.AAAA`, ec.publicKey, ['ES256'])).rejects.toMatchObject({ code: 'invalid_signature' });
    await expect(check('a.b', ec.publicKey, ['ES256'])).rejects.toBeInstanceOf(JwsError);
    await expect(check(`${h}.%%%.${s}`, ec.publicKey, ['ES256'])).rejects.toMatchObject({ code: 'invalid_signature' });
  });
});

describe('toPublicKeyObject', () => {
  it('imports a JWK once per key material, whatever its other members', () => {
    const jwk = ec.publicKey.export({ format: 'jwk' });
    const first = toPublicKeyObject({ ...jwk, kid: 'one' });
    expect(toPublicKeyObject({ ...jwk, kid: 'two', use: 'sig' })).toBe(first);
    expect(first.export({ format: 'jwk' })).toEqual(jwk);
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    expect(toPublicKeyObject(other)).not.toBe(first);
  });

  it('refuses private and symmetric keys and malformed JWKs', () => {
    expect(() => toPublicKeyObject(ec.privateKey.export({ format: 'jwk' }))).toThrow(JwsError);
    expect(() => toPublicKeyObject({ kty: 'oct', k: 'AAAA' })).toThrow(JwsError);
    expect(() => toPublicKeyObject({ kty: 'EC', crv: 'P-256', x: 5, y: [] })).toThrow(JwsError);
    expect(toPublicKeyObject(createPrivateKey(ec.privateKey.export({ format: 'pem', type: 'pkcs8' })))).toMatchObject({ type: 'public' });
  });
});

describe('randomToken', () => {
  it('gives base64url tokens of the asked length that never repeat, across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const token = randomToken(32);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      seen.add(token);
    }
    expect(seen.size).toBe(2000);
    expect(Buffer.from(randomToken(18), 'base64url')).toHaveLength(18);
    expect(() => randomToken(0)).toThrow(RangeError);
    expect(() => randomToken(257)).toThrow(RangeError);
  });
});
