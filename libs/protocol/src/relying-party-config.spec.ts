import { MAX_MAPPED_CLAIMS, MAX_SERVICE_SCOPES, zRelyingPartyConfig } from './relying-party-config';

const scope = {
  dcql: { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: ['urn:pid'] } }] },
  trust: [{ type: 'urn:pid', issuers: 'any' }],
};

describe('relying party configuration', () => {
  it('accepts a service up to the scope and mapped-claim limits and refuses one more', () => {
    const scopes = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i}`, scope]));
    expect(zRelyingPartyConfig.safeParse({ id: 'a', defaultScope: 's0', scopes: scopes(MAX_SERVICE_SCOPES) }).success).toBe(true);
    const tooMany = zRelyingPartyConfig.safeParse({ id: 'a', defaultScope: 's0', scopes: scopes(MAX_SERVICE_SCOPES + 1) });
    expect(tooMany.success).toBe(false);
    expect(tooMany.error?.issues[0]).toMatchObject({ path: ['scopes'], message: `at most ${MAX_SERVICE_SCOPES} scopes` });

    const mapping = (n: number) => ({
      id: 'a',
      defaultScope: 'm',
      scopes: { m: { ...scope, token: { type: 'mapping', claims: Object.fromEntries(Array.from({ length: n }, (_, i) => [`c${i}`, `pid.claim${i}`])) } } },
    });
    expect(zRelyingPartyConfig.safeParse(mapping(MAX_MAPPED_CLAIMS)).success).toBe(true);
    expect(zRelyingPartyConfig.safeParse(mapping(MAX_MAPPED_CLAIMS + 1)).success).toBe(false);
  });

  it('takes an optional tenant (the tenant id syntax) whose trust configuration decides authzen rules', () => {
    expect(zRelyingPartyConfig.parse({ id: 'a', defaultScope: 's', scopes: { s: scope } }).tenantId).toBeUndefined();
    expect(zRelyingPartyConfig.parse({ id: 'a', tenantId: 'acme', defaultScope: 's', scopes: { s: scope } }).tenantId).toBe('acme');
    const bad = zRelyingPartyConfig.safeParse({ id: 'a', tenantId: 'Not_A_Tenant', defaultScope: 's', scopes: { s: scope } });
    expect(bad.error?.issues[0]?.path).toEqual(['tenantId']);
  });
});
