import { createHash } from 'node:crypto';
import { digestsOf, isIntegrityString, matchesIntegrity } from './verify-integrity';

const doc = Buffer.from('{"vct":"https://example.com/pid"}');
const b64 = (alg: string, data: Buffer | string) => createHash(alg).update(data).digest('base64');

describe('matchesIntegrity (W3C SRI)', () => {
  const digests = digestsOf(doc);

  it('accepts sha256, sha384 and sha512, in base64 or base64url, with options', () => {
    expect(matchesIntegrity(`sha256-${b64('sha256', doc)}`, digests)).toBe(true);
    expect(matchesIntegrity(`sha384-${b64('sha384', doc)}`, digests)).toBe(true);
    expect(matchesIntegrity(`sha512-${b64('sha512', doc)}?ct=application/json`, digests)).toBe(true);
    const url = createHash('sha256').update(doc).digest('base64url');
    expect(matchesIntegrity(`sha256-${url}`, digests)).toBe(true);
  });

  it('refuses a wrong hash, an unknown algorithm and garbage', () => {
    expect(matchesIntegrity(`sha256-${b64('sha256', 'other')}`, digests)).toBe(false);
    expect(matchesIntegrity(`md5-${b64('md5', doc)}`, digests)).toBe(false);
    expect(matchesIntegrity('', digests)).toBe(false);
    expect(isIntegrityString('sha1-abc')).toBe(false);
  });

  it('counts only the strongest algorithm present', () => {
    const weakOk = `sha256-${b64('sha256', doc)} sha512-${b64('sha512', 'other')}`;
    expect(matchesIntegrity(weakOk, digests)).toBe(false);
    const strongOk = `sha256-${b64('sha256', 'other')} sha512-${b64('sha512', doc)}`;
    expect(matchesIntegrity(strongOk, digests)).toBe(true);
  });
});
