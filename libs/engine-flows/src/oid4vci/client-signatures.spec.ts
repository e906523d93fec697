import type { SignItem } from '@wallet/engine-protocol';
import { jwkThumbprint } from '@wallet/crypto';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { checkSignatures } from './client-signatures';

const proof = (id: string): SignItem => ({
  id,
  purpose: 'proof',
  header: { typ: 'openid4vci-proof+jwt' },
  payload: { aud: 'https://issuer.example', iat: 1_700_000_000, nonce: 'n-1' },
  algs: ['ES256'],
});

async function key() {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, jwk: await exportJWK(publicKey), privateJwk: await exportJWK(privateKey) };
}

const sign = (item: SignItem, privateKey: KeyLike, header: Record<string, unknown>, payload: Record<string, unknown> = item.payload) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'ES256', ...item.header, ...header } as { alg: string }).sign(privateKey);

const answer = (signatures: Array<{ id: string; jws: string }>) => ({
  type: 'sign_response' as const,
  flow_id: 'f'.repeat(24),
  message_id: 'q1',
  signatures,
});

describe('checkSignatures', () => {
  it('accepts exactly what was asked, one key per proof, and names the keys', async () => {
    const [a, b] = [await key(), await key()];
    const items = [proof('p1'), proof('p2')];
    const checked = checkSignatures(items, answer([{ id: 'p1', jws: await sign(items[0]!, a.privateKey, { jwk: a.jwk }) }, { id: 'p2', jws: await sign(items[1]!, b.privateKey, { jwk: b.jwk }) }]));
    expect(checked.map((c) => c.jkt)).toEqual([jwkThumbprint(a.jwk), jwkThumbprint(b.jwk)]);
  });

  it.each([
    ['a wrong nonce', async (item: SignItem, k: Awaited<ReturnType<typeof key>>) => sign(item, k.privateKey, { jwk: k.jwk }, { ...item.payload, nonce: 'other' }), 'claim "nonce"'],
    ['a wrong aud', async (item: SignItem, k: Awaited<ReturnType<typeof key>>) => sign(item, k.privateKey, { jwk: k.jwk }, { ...item.payload, aud: 'https://x' }), 'claim "aud"'],
    ['an extra claim', async (item: SignItem, k: Awaited<ReturnType<typeof key>>) => sign(item, k.privateKey, { jwk: k.jwk }, { ...item.payload, extra: 1 }), 'not exactly'],
    ['another typ', async (item: SignItem, k: Awaited<ReturnType<typeof key>>) => sign(item, k.privateKey, { jwk: k.jwk, typ: 'JWT' }), 'header "typ"'],
    ['an extra header', async (item: SignItem, k: Awaited<ReturnType<typeof key>>) => sign(item, k.privateKey, { jwk: k.jwk, x5u: 'https://x' }), 'not asked for'],
    ['no key', async (item: SignItem, k: Awaited<ReturnType<typeof key>>) => sign(item, k.privateKey, {}), 'names no public key'],
    ['a private key in the header', async (item: SignItem, k: Awaited<ReturnType<typeof key>>) => sign(item, k.privateKey, { jwk: k.privateJwk }), 'private key'],
    ['a signature by another key', async (item: SignItem, k: Awaited<ReturnType<typeof key>>) => sign(item, (await key()).privateKey, { jwk: k.jwk }), 'does not verify'],
  ])('refuses a proof with %s', async (_what, make, message) => {
    const k = await key();
    const item = proof('p1');
    const jws = await make(item, k);
    expect(() => checkSignatures([item], answer([{ id: 'p1', jws }]))).toThrow(expect.objectContaining({ code: 'invalid_proof', message: expect.stringContaining(message) }));
  });

  it('refuses two proofs with one key, a missing answer, and a DPoP proof by another key than the flow\'s', async () => {
    const k = await key();
    const items = [proof('p1'), proof('p2')];
    const same = await sign(items[0]!, k.privateKey, { jwk: k.jwk });
    expect(() => checkSignatures(items, answer([{ id: 'p1', jws: same }, { id: 'p2', jws: same }]))).toThrow(/same key/);
    expect(() => checkSignatures(items, answer([{ id: 'p1', jws: same }]))).toThrow(/1 signatures for 2 items/);
    const dpop: SignItem = { id: 'd', purpose: 'dpop', header: { typ: 'dpop+jwt' }, payload: { htm: 'POST', htu: 'https://as/token', iat: 1, jti: 'j' }, algs: ['ES256'], jkt: 'A'.repeat(43) };
    const byOther = await sign(dpop, k.privateKey, { jwk: k.jwk });
    expect(() => checkSignatures([dpop], answer([{ id: 'd', jws: byOther }]))).toThrow(/another key than the flow's DPoP key/);
    expect(checkSignatures([{ ...dpop, jkt: jwkThumbprint(k.jwk) }], answer([{ id: 'd', jws: byOther }]))[0]!.jkt).toBe(jwkThumbprint(k.jwk));
  });

  it('maps a declined answer to declined', () => {
    expect(() => checkSignatures([proof('p1')], { ...answer([]), signatures: undefined, error: { code: 'declined' } })).toThrow(expect.objectContaining({ code: 'declined' }));
  });
});
