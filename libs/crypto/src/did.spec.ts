import { generateKeyPairSync } from 'node:crypto';
import { decodeBase58btc, didWebDocumentUrl, jwkFromDidDocument, resolveSelfDescribingDid } from './did';

describe('DID resolution', () => {
  it('resolves the did:key test vectors (Ed25519 and P-256)', () => {
    // did:key spec test vectors (w3c-ccg/did-method-key).
    expect(resolveSelfDescribingDid('did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp')).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: 'O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik',
    });
    expect(resolveSelfDescribingDid('did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169#zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169')).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: 'fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI',
      y: 'hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU',
    });
  });

  it('resolves did:jwk and refuses private or symmetric keys', () => {
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const did = `did:jwk:${Buffer.from(JSON.stringify(jwk)).toString('base64url')}`;
    expect(resolveSelfDescribingDid(`${did}#0`)).toEqual(jwk);
    const priv = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    expect(() => resolveSelfDescribingDid(`did:jwk:${Buffer.from(JSON.stringify(priv)).toString('base64url')}`)).toThrow(/private/);
    expect(() => resolveSelfDescribingDid(`did:jwk:${Buffer.from('{"kty":"oct","k":"AA"}').toString('base64url')}`)).toThrow(/symmetric/);
    expect(() => resolveSelfDescribingDid('did:jwk:!!')).toThrow(/base64url/);
  });

  it('refuses unknown methods, key types and bad base58', () => {
    expect(() => resolveSelfDescribingDid('did:example:123')).toThrow(/unsupported DID method/);
    expect(() => resolveSelfDescribingDid('did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme')).toThrow(/key type/);
    expect(() => decodeBase58btc('0OIl')).toThrow(/base58btc/);
  });

  it('maps did:web to its document URL and picks the key by kid', () => {
    expect(didWebDocumentUrl('did:web:example.com')).toBe('https://example.com/.well-known/did.json');
    expect(didWebDocumentUrl('did:web:example.com%3A3000:user:alice#key-1')).toBe('https://example.com:3000/user/alice/did.json');
    expect(() => didWebDocumentUrl('did:web:exa mple.com')).toThrow(/invalid host/);
    const jwk = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' };
    const doc = { id: 'did:web:example.com', verificationMethod: [{ id: 'did:web:example.com#key-1', publicKeyJwk: jwk }] };
    expect(jwkFromDidDocument(doc, 'did:web:example.com', '#key-1')).toEqual(jwk);
    expect(jwkFromDidDocument(doc, 'did:web:example.com', 'did:web:example.com#key-1')).toEqual(jwk);
    expect(() => jwkFromDidDocument(doc, 'did:web:other.com', '#key-1')).toThrow(/not for this DID/);
    expect(() => jwkFromDidDocument(doc, 'did:web:example.com', '#key-2')).toThrow(/no usable/);
  });
});
