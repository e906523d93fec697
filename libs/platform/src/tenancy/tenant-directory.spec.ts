import { createCache } from '@wallet/cache';
import { GLOBAL_SCOPE } from '@wallet/domain';
import { Collections, createStore } from '@wallet/persistence';
import { ensureDefaultTenant } from '../bootstrap/runtime';
import { publishTenantChanged, TenantDirectory } from './tenant-directory';
import { requestedTenant, rewriteTenantUrl } from './tenant-path';

describe('TenantDirectory', () => {
  it('caches lookups (found or not) for the TTL, and forgets a tenant at once when admin publishes a change', async () => {
    const store = await createStore({ type: 'memory' });
    const cache = await createCache({ type: 'memory' });
    await ensureDefaultTenant(store);
    let now = 0;
    const directory = new TenantDirectory(store, cache, { ttlMs: 5000, now: () => now });
    await directory.start();
    const tenants = store.repository(Collections.tenants);

    expect(await directory.requireEnabled('default')).toMatchObject({ id: 'default', enabled: true });
    await expect(directory.requireEnabled('acme')).rejects.toMatchObject({ code: 'not_found' });
    await tenants.create(GLOBAL_SCOPE, { id: 'acme', displayName: 'Acme', enabled: true, requireInvite: false, trustConfig: {}, allowedProtocols: [] });
    await expect(directory.requireEnabled('acme')).rejects.toMatchObject({ code: 'not_found' }); // cached "unknown"
    now += 5000;
    expect(await directory.requireEnabled('acme')).toMatchObject({ id: 'acme' });
    expect(await directory.requireEnabled('default')).toMatchObject({ enabled: true }); // cached again from now

    const stored = (await tenants.get(GLOBAL_SCOPE, 'default'))!;
    const { tenantId: _t, version, createdAt: _c, updatedAt: _u, ...value } = stored;
    await tenants.update(GLOBAL_SCOPE, 'default', { ...value, enabled: false }, version);
    expect(await directory.requireEnabled('default')).toMatchObject({ enabled: true }); // still cached
    await publishTenantChanged(cache, 'default');
    await new Promise((r) => setTimeout(r, 20));
    await expect(directory.requireEnabled('default')).rejects.toMatchObject({ code: 'not_found' }); // disabled looks like unknown
    await directory.stop();
    await store.close();
    await cache.close();
  });
});

describe('tenant from the path or the header', () => {
  it('strips a well-formed /t/{tenant} prefix and remembers the tenant on the raw request', () => {
    const raw = { url: '/t/acme/user/session/account-info?x=1' };
    expect(rewriteTenantUrl(raw)).toBe('/user/session/account-info?x=1');
    expect(requestedTenant({ raw, headers: {} })).toEqual({ tenantId: 'acme', source: 'path' });
    expect(rewriteTenantUrl({ url: '/t/acme' })).toBe('/');
    const bad = { url: '/t/Not_A_Tenant/x' };
    expect(rewriteTenantUrl(bad)).toBe('/t/Not_A_Tenant/x');
    expect(requestedTenant({ raw: bad, headers: {} })).toEqual({ tenantId: 'default', source: 'default' });
    expect(rewriteTenantUrl({ url: '/tenants/x' })).toBe('/tenants/x');
    expect(requestedTenant({ raw: {}, headers: { 'x-tenant-id': 'acme' } })).toEqual({ tenantId: 'acme', source: 'header' });
    expect(() => requestedTenant({ raw: {}, headers: { 'x-tenant-id': ['a', 'b'] } })).toThrow(/X-Tenant-ID/);
  });
});
