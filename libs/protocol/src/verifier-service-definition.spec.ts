import { MAX_MAPPED_CLAIMS, MAX_SERVICE_SCOPES, zVerifierServiceDefinition } from './verifier-service-definition';

const scope = {
  dcql: { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: ['urn:pid'] } }] },
  trust: [{ type: 'urn:pid', issuers: 'any' }],
};

describe('verifier service definition', () => {
  it('accepts a service up to the scope and mapped-claim limits and refuses one more', () => {
    const scopes = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i}`, scope]));
    expect(zVerifierServiceDefinition.safeParse({ id: 'a', defaultScope: 's0', scopes: scopes(MAX_SERVICE_SCOPES) }).success).toBe(true);
    const tooMany = zVerifierServiceDefinition.safeParse({ id: 'a', defaultScope: 's0', scopes: scopes(MAX_SERVICE_SCOPES + 1) });
    expect(tooMany.success).toBe(false);
    expect(tooMany.error?.issues[0]).toMatchObject({ path: ['scopes'], message: `at most ${MAX_SERVICE_SCOPES} scopes` });

    const mapping = (n: number) => ({
      id: 'a',
      defaultScope: 'm',
      scopes: { m: { ...scope, token: { type: 'mapping', claims: Object.fromEntries(Array.from({ length: n }, (_, i) => [`c${i}`, `pid.claim${i}`])) } } },
    });
    expect(zVerifierServiceDefinition.safeParse(mapping(MAX_MAPPED_CLAIMS)).success).toBe(true);
    expect(zVerifierServiceDefinition.safeParse(mapping(MAX_MAPPED_CLAIMS + 1)).success).toBe(false);
  });

  it('takes an optional tenant (the tenant id syntax) whose trust configuration decides authzen rules', () => {
    expect(zVerifierServiceDefinition.parse({ id: 'a', defaultScope: 's', scopes: { s: scope } }).tenantId).toBeUndefined();
    expect(zVerifierServiceDefinition.parse({ id: 'a', tenantId: 'acme', defaultScope: 's', scopes: { s: scope } }).tenantId).toBe('acme');
    const bad = zVerifierServiceDefinition.safeParse({ id: 'a', tenantId: 'Not_A_Tenant', defaultScope: 's', scopes: { s: scope } });
    expect(bad.error?.issues[0]?.path).toEqual(['tenantId']);
  });
});
