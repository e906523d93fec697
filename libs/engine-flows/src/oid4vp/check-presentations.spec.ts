import { disclosurePaths } from './check-presentations';
import { sdHash } from '@wallet/protocol';

const disclosure = (value: unknown[]) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('disclosurePaths', () => {
  it('names the path of every disclosure, nested objects and array elements included', () => {
    const country = disclosure(['s1', 'country', 'DE']);
    const address = disclosure(['s2', 'address', { _sd: [sdHash('sha-256', country)], locality: 'Berlin' }]);
    const nationality = disclosure(['s3', 'FR']);
    const payload = { _sd: [sdHash('sha-256', address)], nationalities: ['DE', { '...': sdHash('sha-256', nationality) }] };
    expect(disclosurePaths(payload, [country, address, nationality], 'sha-256')).toEqual([['address'], ['address', 'country'], ['nationalities', 1]]);
  });

  it('ignores digests without a disclosure (decoys, withheld claims)', () => {
    expect(disclosurePaths({ _sd: ['not-a-digest-we-have'] }, [], 'sha-256')).toEqual([]);
  });
});
