import type { ArgumentMetadata } from '@nestjs/common';
import { PreconditionFailedError, ValidationError, VersionConflictError } from '@wallet/domain';
import { WalletValidationPipe } from '@wallet/platform';
import { asPrecondition, ownerOf, versionFromIfMatch } from './vault-http';
import { ListVaultRecordsQueryDto } from './vault.dto';

const pipe = new WalletValidationPipe();
const listQuery: ArgumentMetadata = { type: 'query', metatype: ListVaultRecordsQueryDto };
const query = (value: Record<string, unknown>) => pipe.transform(value, listQuery) as Promise<ListVaultRecordsQueryDto>;

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

  it('validates query parameters (the list query DTO) and requires a principal', async () => {
    expect((await query({})).limit).toBeUndefined();
    expect((await query({ limit: '' })).limit).toBeUndefined();
    expect((await query({ limit: '50' })).limit).toBe(50);
    await expect(query({ limit: '-1' })).rejects.toThrow(ValidationError);
    await expect(query({ limit: ['1', '2'] })).rejects.toThrow(ValidationError);
    expect((await query({ cursor: 'a' })).cursor).toBe('a');
    await expect(query({ cursor: ['a', 'b'] })).rejects.toMatchObject({ issues: [{ path: '/cursor', message: 'must be a string' }] });
    expect(() => ownerOf(null)).toThrow(expect.objectContaining({ code: 'unauthorized' }));
    expect(ownerOf({ tenantId: 't', userId: 'u', jti: 'j', expiresAt: 0 })).toEqual({ tenantId: 't', userId: 'u' });
  });
});
