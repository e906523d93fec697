import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { jwkThumbprint } from './jwk-thumbprint';

describe('jwkThumbprint', () => {
  it('gives the RFC 7638 example thumbprint (section 3.1)', () => {
    const jwk = {
      kty: 'RSA',
      n:
        '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    expect(jwkThumbprint(jwk)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it.each(['ES256', 'ES384', 'EdDSA', 'RS256'] as const)('agrees with jose for a fresh %s key, whatever other members the JWK has', async (alg) => {
    const { publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'some-kid', use: 'sig' } as JWK;
    expect(jwkThumbprint(jwk)).toBe(await calculateJwkThumbprint(jwk, 'sha256'));
  });

  it('refuses an unknown key type and a missing or non-string member', () => {
    expect(() => jwkThumbprint({ kty: 'XYZ', x: 'a' })).toThrow('kty');
    expect(() => jwkThumbprint({ x: 'a' })).toThrow('kty');
    expect(() => jwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'abc' })).toThrow('"y"');
    expect(() => jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: 42 })).toThrow('"x"');
  });
});
