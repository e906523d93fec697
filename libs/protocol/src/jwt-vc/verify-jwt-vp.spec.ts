import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type KeyLike } from 'jose';
import { verifyJwtVp, type VerifyJwtVpOptions } from './verify-jwt-vp';

async function didJwkParty() {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  const did = `did:jwk:${Buffer.from(JSON.stringify(jwk)).toString('base64url')}`;
  return { did, publicKey, privateKey, jwk: jwk as JWK };
}

describe('verifyJwtVp (W3C VC/VP in JWT form)', () => {
  let issuer: Awaited<ReturnType<typeof didJwkParty>>;
  let holder: Awaited<ReturnType<typeof didJwkParty>>;
  let options: VerifyJwtVpOptions;
  const now = () => Math.floor(Date.now() / 1000);

  const vc = (overrides: { sub?: string; exp?: number; key?: KeyLike } = {}) =>
    new SignJWT({
      vc: {
        '@context': ['https://www.w3.org/2018/credentials/v1'],
        type: ['VerifiableCredential', 'EmployeeCredential'],
        credentialSubject: { id: overrides.sub ?? holder.did, name: 'Erika', role: 'admin' },
      },
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: `${issuer.did}#0` })
      .setIssuer(issuer.did)
      .setSubject(overrides.sub ?? holder.did)
      .setIssuedAt(now() - 10)
      .setExpirationTime(overrides.exp ?? now() + 3600)
      .sign(overrides.key ?? issuer.privateKey);
  const vp = async (credentials: string[], overrides: { nonce?: string; aud?: string; key?: KeyLike; iat?: number } = {}) =>
    new SignJWT({ nonce: overrides.nonce ?? 'n-1', vp: { type: ['VerifiablePresentation'], verifiableCredential: credentials } })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: `${holder.did}#0` })
      .setIssuer(holder.did)
      .setAudience(overrides.aud ?? 'x509_san_dns:verifier.example')
      .setIssuedAt(overrides.iat ?? now())
      .sign(overrides.key ?? holder.privateKey);

  beforeAll(async () => {
    issuer = await didJwkParty();
    holder = await didJwkParty();
    options = { resolveIssuerKey: async () => importJWK(issuer.jwk, 'ES256'), nonce: 'n-1', audience: 'x509_san_dns:verifier.example' };
  });

  it('returns the holder and each credential’s issuer, types and subject claims', async () => {
    const verified = await verifyJwtVp(await vp([await vc()]), options);
    expect(verified.holder).toBe(holder.did);
    expect(verified.credentials).toEqual([
      expect.objectContaining({ issuer: issuer.did, types: ['VerifiableCredential', 'EmployeeCredential'], claims: { name: 'Erika', role: 'admin' } }),
    ]);
  });

  it.each<[string, () => Promise<string>, string]>([
    ['a wrong nonce', async () => vp([await vc()], { nonce: 'other' }), 'nonce_mismatch'],
    ['a wrong audience', async () => vp([await vc()], { aud: 'https://evil.example' }), 'audience_mismatch'],
    ['a stale presentation', async () => vp([await vc()], { iat: now() - 3600 }), 'key_binding_stale'],
    ['a presentation not signed by the holder', async () => vp([await vc()], { key: (await generateKeyPair('ES256')).privateKey }), 'key_binding_invalid'],
    ['a credential of another holder', async () => vp([await vc({ sub: 'did:example:someone-else' })]), 'key_binding_invalid'],
    ['an expired credential', async () => vp([await vc({ exp: now() - 3600 })]), 'expired'],
    ['a credential not signed by the issuer', async () => vp([await vc({ key: (await generateKeyPair('ES256')).privateKey })]), 'invalid_signature'],
    ['a presentation without credentials', async () => vp([]), 'malformed'],
  ])('refuses %s', async (_name, make, code) => {
    await expect(verifyJwtVp(await make(), options)).rejects.toMatchObject({ code });
  });
});
