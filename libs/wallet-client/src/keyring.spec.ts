import type { SignItem } from '@wallet/engine-protocol';
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { ClientFailureError } from './errors';
import { createKeyring, jwkThumbprint } from './keyring';

const dpop = (extra: Partial<SignItem> = {}): SignItem => ({
  id: 'd1',
  purpose: 'dpop',
  header: { typ: 'dpop+jwt' },
  payload: { htm: 'POST', htu: 'https://as.example/token', iat: 1_700_000_000, jti: 'j1' },
  algs: ['ES256'],
  ...extra,
});
const proof = (id: string): SignItem => ({
  id,
  purpose: 'proof',
  header: { typ: 'openid4vci-proof+jwt' },
  payload: { aud: 'https://issuer.example', iat: 1_700_000_000, nonce: 'n-1' },
  algs: ['ES256', 'EdDSA'],
});

/** Verifies a JWS against the `jwk` in its own header; returns the header, payload text and key thumbprint. */
async function open(jws: string) {
  const header = decodeProtectedHeader(jws);
  const jwk = header.jwk as JWK;
  const { payload } = await compactVerify(jws, await importJWK(jwk, 'ES256'));
  return { header, payload: new TextDecoder().decode(payload), jkt: await calculateJwkThumbprint(jwk) };
}

describe('jwkThumbprint', () => {
  it('gives the RFC 7638 example thumbprint (section 3.1)', async () => {
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    expect(await jwkThumbprint(jwk)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('refuses unknown key types and missing members', async () => {
    await expect(jwkThumbprint({ kty: 'XYZ' })).rejects.toThrow('kty');
    await expect(jwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'abc' })).rejects.toThrow('"y"');
  });
});

describe('createKeyring', () => {
  it('signs the payload exactly as given, with the given header plus alg and a public-only jwk', async () => {
    const keyring = createKeyring();
    const item = dpop({ header: { typ: 'dpop+jwt', extra: 'kept' }, payload: { z: 1, a: 'ü', nested: { b: [1, 2] } } });
    const { header, payload, jkt } = await open(await keyring.sign(item, { flowId: 'f1' }));
    expect(payload).toBe(JSON.stringify(item.payload));
    expect(header).toEqual({ typ: 'dpop+jwt', extra: 'kept', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String) } });
    expect(jkt).toBe(await keyring.dpopJkt('f1'));
  });

  it('uses a new key per proof item and one DPoP key per flow', async () => {
    const keyring = createKeyring();
    const proofs = await Promise.all(['p1', 'p2', 'p3'].map(async (id) => (await open(await keyring.sign(proof(id), { flowId: 'f1' }))).jkt));
    expect(new Set(proofs).size).toBe(3);
    const [d1, d2] = await Promise.all([keyring.sign(dpop(), { flowId: 'f1' }), keyring.sign(dpop(), { flowId: 'f1' })]);
    const other = await keyring.sign(dpop(), { flowId: 'f2' });
    expect((await open(d1!)).jkt).toBe((await open(d2!)).jkt);
    expect((await open(other)).jkt).not.toBe((await open(d1!)).jkt);
    expect(proofs).not.toContain((await open(d1!)).jkt);
    expect(keyring.keys().map((k) => k.purpose).sort()).toEqual(['dpop', 'dpop', 'proof', 'proof', 'proof']);
  });

  it('signs a DPoP item with the key its jkt names, and refuses a jkt it does not hold', async () => {
    const keyring = createKeyring();
    const jkt = await keyring.dpopJkt('f1');
    // Another flow (a re-issuance) told to use the first flow's key.
    expect((await open(await keyring.sign(dpop({ jkt }), { flowId: 'f2' }))).jkt).toBe(jkt);
    expect(await keyring.dpopJkt('f2')).toBe(jkt);
    await expect(keyring.sign(dpop({ jkt: 'A'.repeat(43) }), { flowId: 'f1' })).rejects.toMatchObject({ code: 'failed' });
  });

  it('refuses items whose algorithms exclude ES256 as unsupported', async () => {
    const error = await createKeyring()
      .sign(dpop({ algs: ['EdDSA'] }), { flowId: 'f1' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClientFailureError);
    expect(error).toMatchObject({ code: 'unsupported' });
  });

  it('exports and imports keys, DPoP keys back to their flows', async () => {
    const created: string[] = [];
    const first = createKeyring({ onKeyCreated: (key) => void created.push(key.jkt) });
    await first.sign(proof('p1'), { flowId: 'f1' });
    const dpopJkt = await first.dpopJkt('f1');
    const exported = await first.exportKeys();
    expect(exported.map((k) => k.jkt).sort()).toEqual([...created].sort());
    expect(exported.every((k) => typeof k.privateJwk.d === 'string')).toBe(true);

    const second = createKeyring();
    await second.importKeys(exported);
    expect(await second.dpopJkt('f1')).toBe(dpopJkt);
    expect((await open(await second.sign(dpop({ jkt: dpopJkt }), { flowId: 'f9' }))).jkt).toBe(dpopJkt);
  });

  it('uses a persistent DPoP key for every flow when given one', async () => {
    const exported = await (async () => {
      const source = createKeyring();
      await source.dpopJkt('x');
      return (await source.exportKeys())[0]!;
    })();
    const keyring = createKeyring({ dpopKey: exported.privateJwk });
    expect(await keyring.dpopJkt('f1')).toBe(exported.jkt);
    expect((await open(await keyring.sign(dpop(), { flowId: 'f2' }))).jkt).toBe(exported.jkt);
  });

  it('cannot export keys of a non-extractable keyring', async () => {
    const keyring = createKeyring({ extractable: false });
    await keyring.dpopJkt('f1');
    await expect(keyring.exportKeys()).rejects.toThrow('extractable');
  });
});
