import { createTestPki, type TestPki } from '@wallet/testing';
import { X509Certificate } from 'node:crypto';
import { certificateNamesIssuer, validateX5c } from './x5c';

describe('validateX5c', () => {
  let pki: TestPki;
  let other: TestPki;
  beforeAll(() => {
    pki = createTestPki({ leafSan: 'DNS:issuer.example,URI:https://issuer.example/tenant' });
    other = createTestPki({ leafSan: 'DNS:evil.example' });
  });

  it('returns the leaf key of a chain that leads to a trusted root', () => {
    const { leaf, publicKey } = validateX5c(pki.x5c, { trustedRoots: [pki.rootPem] });
    expect(publicKey.asymmetricKeyType).toBe('ec');
    expect(leaf.subject).toContain('Test Leaf');
    // The root may also be listed among several anchors, or be part of x5c.
    const root = new X509Certificate(pki.rootPem).raw.toString('base64');
    expect(() => validateX5c([...pki.x5c, root], { trustedRoots: [other.rootPem + pki.rootPem] })).not.toThrow();
  });

  it('refuses an untrusted root, a broken chain, expiry and garbage', () => {
    expect(() => validateX5c(pki.x5c, { trustedRoots: [other.rootPem] })).toThrow(/trusted root/);
    expect(() => validateX5c([pki.x5c[0], other.x5c[1]], { trustedRoots: [pki.rootPem, other.rootPem] })).toThrow(/not signed by the next/);
    expect(() => validateX5c([pki.x5c[0]], { trustedRoots: [pki.rootPem] })).toThrow(/trusted root/);
    const later = new Date(Date.now() + 90 * 24 * 3600 * 1000);
    expect(() => validateX5c(pki.x5c, { trustedRoots: [pki.rootPem], now: later })).toThrow(/expired/);
    expect(() => validateX5c(['AAAA'], { trustedRoots: [pki.rootPem] })).toThrow(/does not parse/);
    expect(() => validateX5c([], { trustedRoots: [pki.rootPem] })).toThrow(/x5c must be/);
    expect(() => validateX5c('x', { trustedRoots: [pki.rootPem] })).toThrow(/x5c must be/);
    expect(() => validateX5c(pki.x5c, { trustedRoots: [] })).toThrow(/no trusted root/);
  });

  it('matches the issuer by SAN URI or DNS host', () => {
    const leaf = validateX5c(pki.x5c, { trustedRoots: [pki.rootPem] }).leaf;
    expect(certificateNamesIssuer(leaf, 'https://issuer.example/tenant')).toBe(true);
    expect(certificateNamesIssuer(leaf, 'https://issuer.example/other')).toBe(true);
    expect(certificateNamesIssuer(leaf, 'https://evil.example')).toBe(false);
    expect(certificateNamesIssuer(leaf, 'http://issuer.example')).toBe(false);
    expect(certificateNamesIssuer(leaf, 'not a url')).toBe(false);
  });
});
