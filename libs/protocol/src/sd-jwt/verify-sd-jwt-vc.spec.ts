import { createTestSdJwtHolder, createTestSdJwtIssuer, type TestSdJwtHolder, type TestSdJwtIssuer } from '@wallet/testing';
import { generateKeyPair, importJWK, SignJWT, type KeyLike } from 'jose';
import { sdHash } from './disclose-claims';
import { verifySdJwtVc, type VerifySdJwtVcOptions } from './verify-sd-jwt-vc';

const NONCE = 'n-0S6_WzA2Mj';
const AUD = 'x509_san_dns:verifier.example';
const VCT = 'https://credentials.example.com/identity_credential';

describe('verifySdJwtVc (issuer and holder from @sd-jwt/sd-jwt-vc)', () => {
  let issuer: TestSdJwtIssuer;
  let holder: TestSdJwtHolder;
  let credential: string;
  let options: VerifySdJwtVcOptions;

  const claims = {
    given_name: 'Erika',
    family_name: 'Mustermann',
    birthdate: '1963-08-12',
    address: { street_address: 'Heidestraße 17', locality: 'Köln', country: 'DE' },
    nationalities: ['DE', 'FR'],
  };
  const frame = {
    _sd: ['given_name', 'family_name', 'birthdate', 'address', 'nationalities'],
    address: { _sd: ['street_address', 'locality'] },
    nationalities: { _sd: [0, 1] },
  };

  beforeAll(async () => {
    issuer = await createTestSdJwtIssuer('https://issuer.example');
    holder = await createTestSdJwtHolder();
    credential = await issuer.issue(claims, frame, { vct: VCT, holderJwk: holder.publicJwk });
    const issuerKey = await importJWK(issuer.publicJwk, 'ES256');
    options = { resolveIssuerKey: async () => issuerKey, nonce: NONCE, audience: AUD };
  });

  const present = (presentFrame: Record<string, unknown>, kb: { nonce?: string; aud?: string; iat?: number } = {}) =>
    holder.present(credential, presentFrame, { nonce: kb.nonce ?? NONCE, aud: kb.aud ?? AUD, ...(kb.iat ? { iat: kb.iat } : {}) });

  it('returns exactly the disclosed claims, nested objects and array elements included', async () => {
    const presentation = await present({ given_name: true, address: { locality: true }, nationalities: { 1: true } });
    const verified = await verifySdJwtVc(presentation, options);
    expect(verified.issuer).toBe('https://issuer.example');
    expect(verified.vct).toBe(VCT);
    expect(verified.claims['given_name']).toBe('Erika');
    expect(verified.claims['family_name']).toBeUndefined();
    expect(verified.claims['birthdate']).toBeUndefined();
    expect(verified.claims['address']).toEqual({ locality: 'Köln', country: 'DE' });
    expect(verified.claims['nationalities']).toEqual(['FR']);
    expect(verified.claims['_sd']).toBeUndefined();
    expect(verified.claims['_sd_alg']).toBeUndefined();
    expect(verified.holderJwk).toMatchObject({ kty: 'EC', x: holder.publicJwk.x });
  });

  it('refuses a wrong nonce, a wrong audience and a missing key-binding JWT', async () => {
    await expect(verifySdJwtVc(await present({ given_name: true }, { nonce: 'other' }), options)).rejects.toMatchObject({
      code: 'nonce_mismatch',
    });
    await expect(verifySdJwtVc(await present({ given_name: true }, { aud: 'https://evil.example' }), options)).rejects.toMatchObject({
      code: 'audience_mismatch',
    });
    const withoutKb = (await present({ given_name: true })).replace(/~[^~]+$/, '~');
    await expect(verifySdJwtVc(withoutKb, options)).rejects.toMatchObject({ code: 'key_binding_missing' });
  });

  it('refuses a tampered, repeated or foreign disclosure', async () => {
    const presentation = await present({ given_name: true, family_name: true });
    const parts = presentation.split('~');
    const forged = Buffer.from(JSON.stringify(['salt', 'given_name', 'Eve'])).toString('base64url');
    const swapped = [parts[0], forged, ...parts.slice(2)].join('~');
    await expect(verifySdJwtVc(swapped, options)).rejects.toMatchObject({ code: 'unused_disclosure' });
    const flipped = parts[1]!.slice(0, -2) + (parts[1]!.at(-2) === 'A' ? 'B' : 'A') + parts[1]!.at(-1);
    await expect(verifySdJwtVc([parts[0], flipped, ...parts.slice(2)].join('~'), options)).rejects.toMatchObject({
      code: expect.stringMatching(/^(unused_disclosure|invalid_disclosure)$/),
    });
    const repeated = [parts[0], parts[1], parts[1], ...parts.slice(2)].join('~');
    await expect(verifySdJwtVc(repeated, options)).rejects.toMatchObject({ code: 'duplicate_disclosure' });
  });

  it('refuses a presentation whose disclosures changed after the holder signed (sd_hash)', async () => {
    const presentation = await present({ given_name: true, family_name: true });
    const parts = presentation.split('~');
    const dropped = [parts[0], parts[1], parts.at(-1)].join('~');
    await expect(verifySdJwtVc(dropped, options)).rejects.toMatchObject({ code: 'sd_hash_mismatch' });
  });

  it('refuses a key-binding JWT signed by another key, or one that is stale', async () => {
    const presentation = await present({ given_name: true });
    const prefix = presentation.slice(0, presentation.lastIndexOf('~') + 1);
    const { privateKey } = await generateKeyPair('ES256');
    const foreignKb = await new SignJWT({ nonce: NONCE, aud: AUD, sd_hash: sdHash('sha-256', prefix) })
      .setProtectedHeader({ alg: 'ES256', typ: 'kb+jwt' })
      .setIssuedAt()
      .sign(privateKey);
    await expect(verifySdJwtVc(prefix + foreignKb, options)).rejects.toMatchObject({ code: 'key_binding_invalid' });
    const stale = await present({ given_name: true }, { iat: Math.floor(Date.now() / 1000) - 3600 });
    await expect(verifySdJwtVc(stale, options)).rejects.toMatchObject({ code: 'key_binding_stale' });
  });

  it('refuses an expired credential, a wrong issuer key and an unresolvable issuer', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await issuer.issue(claims, frame, { vct: VCT, holderJwk: holder.publicJwk, iat: now - 7200, exp: now - 3600 });
    const expiredPresentation = await holder.present(expired, { given_name: true }, { nonce: NONCE, aud: AUD });
    await expect(verifySdJwtVc(expiredPresentation, options)).rejects.toMatchObject({ code: 'expired' });

    const other = await generateKeyPair('ES256');
    const presentation = await present({ given_name: true });
    await expect(
      verifySdJwtVc(presentation, { ...options, resolveIssuerKey: async () => other.publicKey as KeyLike }),
    ).rejects.toMatchObject({ code: 'invalid_signature' });
    await expect(
      verifySdJwtVc(presentation, {
        ...options,
        resolveIssuerKey: async () => {
          throw new Error('no x5c');
        },
      }),
    ).rejects.toMatchObject({ code: 'issuer_key_unresolved' });
  });

  it('refuses the wrong typ, alg none and garbage', async () => {
    const wrongTyp = await issuer.issue(claims, frame, { vct: VCT, holderJwk: holder.publicJwk, typ: 'JWT' });
    const p = await holder.present(wrongTyp, { given_name: true }, { nonce: NONCE, aud: AUD });
    await expect(verifySdJwtVc(p, options)).rejects.toMatchObject({ code: 'invalid_type' });

    const presentation = await present({ given_name: true });
    const [jwt, ...rest] = presentation.split('~');
    const [, body] = jwt!.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'dc+sd-jwt' })).toString('base64url')}.${body}.`;
    await expect(verifySdJwtVc([none, ...rest].join('~'), options)).rejects.toMatchObject({ code: 'unsupported_algorithm' });
    const hs = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'dc+sd-jwt' })).toString('base64url')}.${body}.AAAA`;
    await expect(verifySdJwtVc([hs, ...rest].join('~'), options)).rejects.toMatchObject({ code: 'unsupported_algorithm' });

    for (const garbage of ['', 'abc', 'a.b.c~', '~~~']) {
      await expect(verifySdJwtVc(garbage, options)).rejects.toMatchObject({ code: 'malformed' });
    }
  });
});
