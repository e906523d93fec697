import { verifyJwtVp, verifySdJwtVc, type VerifySdJwtVcOptions } from '@wallet/protocol';
import { createDidJwkKey, createTestSdJwtIssuer, type TestSdJwtIssuer } from '@wallet/testing';
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT, type JWK } from 'jose';
import { createHash } from 'node:crypto';
import { ClientFailureError } from './errors';
import { presentJwtVc } from './jwt-vc';
import { createKeyring, jwkThumbprint, type Keyring } from './keyring';
import { decodeSdJwt, presentSdJwt, selectSdJwtDisclosures, transactionDataHashes } from './sd-jwt';

const NONCE = 'n-0S6_WzA2Mj';
const AUD = 'x509_san_dns:verifier.example';
const VCT = 'urn:eu.europa.ec.eudi:pid:1';

const claims = {
  given_name: 'Erika',
  family_name: 'Mustermann',
  address: { street_address: 'Heidestraße 17', locality: 'Köln', country: 'DE' },
  nationalities: ['DE', 'FR'],
  degrees: [
    { type: 'Bachelor', year: 2000 },
    { type: 'Master', year: 2002 },
  ],
};
// `country` and the degrees' `year` stay always visible; everything else is selectively disclosable, nested.
const frame = {
  _sd: ['given_name', 'family_name', 'address', 'nationalities', 'degrees'],
  address: { _sd: ['street_address', 'locality'] },
  nationalities: { _sd: [0, 1] },
  degrees: { _sd: [0, 1], 0: { _sd: ['type'] }, 1: { _sd: ['type'] } },
};

/** A holder key made the way an issuance makes it: a proof the keyring signs with a new key. */
export async function newHolderKey(keyring: Keyring): Promise<JWK> {
  const proof = await keyring.sign({ id: 'p1', purpose: 'proof', header: { typ: 'openid4vci-proof+jwt' }, payload: { nonce: 'c' }, algs: ['ES256'] }, { flowId: 'issuance' });
  return decodeProtectedHeader(proof).jwk as JWK;
}

describe('SD-JWT presentation', () => {
  let issuer: TestSdJwtIssuer;
  let keyring: Keyring;
  let credential: string;
  let verify: (presentation: string, nonce?: string) => ReturnType<typeof verifySdJwtVc>;

  beforeAll(async () => {
    issuer = await createTestSdJwtIssuer('https://issuer.example');
    keyring = createKeyring();
    credential = await issuer.issue(claims, frame, { vct: VCT, holderJwk: await newHolderKey(keyring) });
    const issuerKey = await importJWK(issuer.publicJwk, 'ES256');
    const options: VerifySdJwtVcOptions = { resolveIssuerKey: async () => issuerKey, nonce: NONCE, audience: AUD };
    verify = (presentation, nonce = NONCE) => verifySdJwtVc(presentation, { ...options, nonce });
  });

  it('decodes every disclosure with the path of its claim, and the full claim set', async () => {
    const decoded = await decodeSdJwt(credential);
    expect(decoded.claims).toMatchObject({ iss: 'https://issuer.example', vct: VCT, ...claims });
    expect(decoded.claims).not.toHaveProperty('_sd');
    expect(decoded.claims).not.toHaveProperty('_sd_alg');
    expect(decoded.sdAlg).toBe('sha-256');
    expect(decoded.header['typ']).toBe('dc+sd-jwt');
    expect(await jwkThumbprint(decoded.holderJwk!)).toBe(keyring.keys()[0]!.jkt);
    expect(decoded.disclosures.map((d) => d.path).sort()).toEqual(
      [
        ['given_name'],
        ['family_name'],
        ['address'],
        ['address', 'street_address'],
        ['address', 'locality'],
        ['nationalities'],
        ['nationalities', 0],
        ['nationalities', 1],
        ['degrees'],
        ['degrees', 0],
        ['degrees', 1],
        ['degrees', 0, 'type'],
        ['degrees', 1, 'type'],
      ].sort(),
    );
  });

  it('discloses exactly the asked claims with their parents; the verifier accepts it', async () => {
    const presentation = await presentSdJwt(credential, [['given_name'], ['address', 'locality'], ['nationalities', 1], ['degrees', 1, 'type']], { nonce: NONCE, aud: AUD }, keyring.signWith);
    const verified = await verify(presentation);
    const { iss: _iss, vct: _vct, cnf: _cnf, iat: _iat, ...disclosed } = verified.claims;
    expect(disclosed).toEqual({
      given_name: 'Erika',
      address: { country: 'DE', locality: 'Köln' },
      nationalities: ['FR'],
      degrees: [{ year: 2002, type: 'Master' }],
    });
    // The KB-JWT is the holder's, over this presentation.
    const kb = decodeJwt(presentation.split('~').pop()!);
    expect(decodeProtectedHeader(presentation.split('~').pop()!)).toEqual({ typ: 'kb+jwt', alg: 'ES256' });
    expect(kb).toMatchObject({ nonce: NONCE, aud: AUD, iat: expect.any(Number), sd_hash: expect.any(String) });
    expect(kb).not.toHaveProperty('transaction_data_hashes');
  });

  it('discloses a whole claim with everything nested in it, and wildcards every element', async () => {
    const whole = await verify(await presentSdJwt(credential, [['address'], ['nationalities', null]], { nonce: NONCE, aud: AUD }, keyring.signWith));
    expect(whole.claims['address']).toEqual(claims.address);
    expect(whole.claims['nationalities']).toEqual(['DE', 'FR']);
    expect(whole.claims).not.toHaveProperty('given_name');
    expect(whole.claims).not.toHaveProperty('degrees');
  });

  it('discloses nothing selectively disclosable for no paths', async () => {
    const presentation = await presentSdJwt(credential, [], { nonce: NONCE, aud: AUD }, keyring.signWith);
    expect(presentation.split('~')).toHaveLength(2);
    const verified = await verify(presentation);
    expect(Object.keys(verified.claims).sort()).toEqual(['cnf', 'iat', 'iss', 'vct']);
  });

  it('previews what the verifier will see', async () => {
    const decoded = await decodeSdJwt(credential);
    const { disclosures, claims: visible } = selectSdJwtDisclosures(decoded, [['degrees', 0, 'type']]);
    // In the order the issuer listed them.
    expect(disclosures.map((d) => d.path).sort()).toEqual([['degrees'], ['degrees', 0], ['degrees', 0, 'type']]);
    expect(visible).toMatchObject({ degrees: [{ year: 2000, type: 'Bachelor' }] });
    expect(() => selectSdJwtDisclosures(decoded, [['nope']])).toThrow(/no claim at \["nope"\]/);
  });

  it('puts the transaction data hashes into the key-binding JWT', async () => {
    const encoded = ['eyJ0eXBlIjoicGF5bWVudCIsImNyZWRlbnRpYWxfaWRzIjpbInBpZCJdfQ', 'eyJ0eXBlIjoic2lnbiJ9'];
    const hashes = await transactionDataHashes(encoded);
    expect(hashes).toEqual(encoded.map((text) => createHash('sha256').update(text).digest('base64url')));
    const presentation = await presentSdJwt(credential, [['family_name']], { nonce: NONCE, aud: AUD, transactionDataHashes: hashes }, keyring.signWith);
    await expect(verify(presentation)).resolves.toBeDefined();
    expect(decodeJwt(presentation.split('~').pop()!)).toMatchObject({ transaction_data_hashes: hashes, transaction_data_hashes_alg: 'sha-256' });
  });

  it('fails without the holder key, and the verifier refuses a replay for another nonce', async () => {
    await expect(presentSdJwt(credential, [['given_name']], { nonce: NONCE, aud: AUD }, createKeyring().signWith)).rejects.toBeInstanceOf(ClientFailureError);
    const presentation = await presentSdJwt(credential, [['given_name']], { nonce: NONCE, aud: AUD }, keyring.signWith);
    await expect(verify(presentation, 'other-nonce')).rejects.toMatchObject({ code: 'nonce_mismatch' });
  });

  it('signWith refuses DPoP keys', async () => {
    const jkt = await keyring.dpopJkt('flow-x');
    await expect(keyring.signWith(jkt, { typ: 'kb+jwt' }, {})).rejects.toThrow(/no holder key/);
  });
});

describe('JWT VP presentation', () => {
  it('wraps the VC in a VP signed by the holder key of a did:jwk subject; the verifier accepts it', async () => {
    const keyring = createKeyring();
    const holderJwk = await newHolderKey(keyring);
    const holderDid = `did:jwk:${Buffer.from(JSON.stringify(holderJwk)).toString('base64url')}`;
    const issuer = createDidJwkKey();
    const vc = await new SignJWT({
      vc: { '@context': ['https://www.w3.org/2018/credentials/v1'], type: ['VerifiableCredential', 'UniversityDegreeCredential'], credentialSubject: { id: holderDid, degree: 'BSc' } },
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: issuer.kid })
      .setIssuer(issuer.did)
      .setSubject(holderDid)
      .setIssuedAt()
      .sign(await importJWK(issuer.privateJwk, 'ES256'));

    const vp = await presentJwtVc(vc, { nonce: NONCE, aud: AUD }, keyring.signWith);
    expect(decodeProtectedHeader(vp)).toEqual({ typ: 'JWT', kid: `${holderDid}#0`, alg: 'ES256' });
    expect(decodeJwt(vp)).toMatchObject({ iss: holderDid, aud: AUD, nonce: NONCE, vp: { type: ['VerifiablePresentation'], verifiableCredential: [vc] } });
    const issuerKey = await importJWK(issuer.publicJwk, 'ES256');
    const verified = await verifyJwtVp(vp, { resolveIssuerKey: async () => issuerKey, nonce: NONCE, audience: AUD });
    expect(verified).toMatchObject({ holder: holderDid, credentials: [{ types: ['VerifiableCredential', 'UniversityDegreeCredential'], claims: { degree: 'BSc' } }] });
  });

  it('refuses a VC bound to no key', async () => {
    const issuer = createDidJwkKey();
    const vc = await new SignJWT({ vc: { type: ['VerifiableCredential'], credentialSubject: { degree: 'BSc' } } })
      .setProtectedHeader({ alg: 'ES256', kid: issuer.kid })
      .setIssuer(issuer.did)
      .sign(await importJWK(issuer.privateJwk, 'ES256'));
    await expect(presentJwtVc(vc, { nonce: NONCE, aud: AUD }, createKeyring().signWith)).rejects.toThrow(/not bound to a holder key/);
  });
});
