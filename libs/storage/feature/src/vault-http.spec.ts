import { PreconditionFailedError, ValidationError, VersionConflictError } from '@wallet/domain';
import { asPrecondition, limitParam, ownerOf, stringParam, versionFromIfMatch } from './vault-http';

describe('vault HTTP helpers', () => {
  it('reads If-Match as a record version', () => {
    expect(versionFromIfMatch('"3"', true)).toBe(3);
    expect(versionFromIfMatch('W/"12"', true)).toBe(12);
    expect(versionFromIfMatch('7', true)).toBe(7);
    expect(versionFromIfMatch(['"4"', '"5"'], true)).toBe(4);
    expect(versionFromIfMatch(undefined, false)).toBeUndefined();
    expect(versionFromIfMatch('*', false)).toBeUndefined();
    expect(() => versionFromIfMatch(undefined, true)).toThrow(ValidationError);
    expect(() => versionFromIfMatch('*', true)).toThrow(/If-Match is required/);
    for (const bad of ['"0"', '"abc"', '"1", "2"', '"-1"', '"1e3"', '"9999999999999999"']) {
      expect(() => versionFromIfMatch(bad, true)).toThrow(ValidationError);
    }
  });

  it('turns a version conflict into 412 with the current version, and leaves other errors alone', () => {
    const stale = asPrecondition(new VersionConflictError('vault', 1, 3));
    expect(stale).toBeInstanceOf(PreconditionFailedError);
    expect(stale).toMatchObject({ code: 'precondition_failed', details: { currentVersion: 3, currentEtag: '"3"' } });
    const unknown = new VersionConflictError('vault', 1, null);
    expect(asPrecondition(unknown)).toBe(unknown);
    const other = new Error('x');
    expect(asPrecondition(other)).toBe(other);
  });

  it('validates query parameters and requires a principal', () => {
    expect(limitParam(undefined)).toBeUndefined();
    expect(limitParam('50')).toBe(50);
    expect(() => limitParam('-1')).toThrow(ValidationError);
    expect(() => limitParam(['1', '2'])).toThrow(ValidationError);
    expect(stringParam('a', 'cursor')).toBe('a');
    expect(() => stringParam(['a', 'b'], 'cursor')).toThrow(/cursor must be given once/);
    expect(() => ownerOf(null)).toThrow(expect.objectContaining({ code: 'unauthorized' }));
    expect(ownerOf({ tenantId: 't', userId: 'u', jti: 'j', expiresAt: 0 })).toEqual({ tenantId: 't', userId: 'u' });
  });
});
