import { base64url, calculateJwkThumbprint, decodeProtectedHeader, SignJWT, UnsecuredJWT } from 'jose';
import { verifyJwt, signJwt } from './jwt';
import {
  generateSigningKey,
  importPrivateKey,
  publicPart,
  unwrapPrivateJwk,
  wrapPrivateJwk,
} from './signing-keys';
import { randomBytes } from 'node:crypto';

describe('signing keys and JWTs', () => {
  it.each(['ES256', 'EdDSA'] as const)('generates %s keys whose kid is the JWK thumbprint and that sign verifiable JWTs', async (alg) => {
    const key = await generateSigningKey(alg);
    expect(key.kid).toBe(await calculateJwkThumbprint(publicPart(key.publicJwk), 'sha256'));
    expect(key.publicJwk).not.toHaveProperty('d');
    const token = await signJwt({
      payload: { sub: 'alice', aud: 'wallet' },
      key: await importPrivateKey(key.privateJwk, alg),
      kid: key.kid,
      alg,
      expiresInSeconds: 60,
    });
    expect(decodeProtectedHeader(token)).toMatchObject({ alg, kid: key.kid });
    const { payload } = await verifyJwt(token, { keys: [key.publicJwk] }, { audience: 'wallet' });
    expect(payload.sub).toBe('alice');
  });

  it('refuses alg none, HMAC confusion, expired tokens and the wrong audience', async () => {
    const key = await generateSigningKey('ES256');
    const jwks = { keys: [key.publicJwk] };
    const unsecured = new UnsecuredJWT({ sub: 'mallory' }).encode();
    await expect(verifyJwt(unsecured, jwks)).rejects.toThrow();

    // HMAC "confusion": sign with HS256 using the public key's bytes as the secret.
    const hmac = await new SignJWT({ sub: 'mallory' })
      .setProtectedHeader({ alg: 'HS256', kid: key.kid })
      .sign(new TextEncoder().encode(JSON.stringify(key.publicJwk)));
    await expect(verifyJwt(hmac, jwks)).rejects.toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });

    const privateKey = await importPrivateKey(key.privateJwk, 'ES256');
    const expired = await signJwt({
      payload: { aud: 'wallet' },
      key: privateKey,
      kid: key.kid,
      alg: 'ES256',
      issuedAt: Math.floor(Date.now() / 1000) - 120,
      expiresInSeconds: 60,
    });
    await expect(verifyJwt(expired, jwks)).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });

    const other = await signJwt({ payload: { aud: 'other' }, key: privateKey, kid: key.kid, alg: 'ES256' });
    await expect(verifyJwt(other, jwks, { audience: 'wallet' })).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
    });

    const stranger = await generateSigningKey('ES256');
    const forged = await signJwt({
      payload: {},
      key: await importPrivateKey(stranger.privateJwk, 'ES256'),
      kid: key.kid,
      alg: 'ES256',
    });
    await expect(verifyJwt(forged, jwks)).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });

  it('wraps private keys at rest and refuses the wrong or a missing key encryption key', async () => {
    const key = await generateSigningKey('ES256');
    const kek = randomBytes(32);
    const wrapped = await wrapPrivateJwk(key.privateJwk, kek);
    expect(JSON.stringify(wrapped)).not.toContain(key.privateJwk.d as string);
    expect(await unwrapPrivateJwk(wrapped, kek)).toEqual(key.privateJwk);
    await expect(unwrapPrivateJwk(wrapped, randomBytes(32))).rejects.toThrow();
    await expect(unwrapPrivateJwk(wrapped, null)).rejects.toThrow(/no key encryption key/);
    await expect(wrapPrivateJwk(key.privateJwk, randomBytes(16))).rejects.toThrow(/32 bytes/);
    expect(await unwrapPrivateJwk(await wrapPrivateJwk(key.privateJwk, null), null)).toEqual(key.privateJwk);
    expect(base64url.encode(kek)).toHaveLength(43);
  });
});
