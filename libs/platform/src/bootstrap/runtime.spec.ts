import { DEFAULT_TENANT_ID, GLOBAL_SCOPE } from '@wallet/domain';
import { Collections, createStore } from '@wallet/persistence';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDefaultTenant } from './runtime';

describe('ensureDefaultTenant', () => {
  it('creates the enabled default tenant once, also when two processes start at the same time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wallet-runtime-'));
    const path = join(dir, 'wallet.db');
    const [a, b] = await Promise.all([createStore({ type: 'sqlite', path }), createStore({ type: 'sqlite', path })]);
    try {
      await Promise.all([ensureDefaultTenant(a), ensureDefaultTenant(b), ensureDefaultTenant(a)]);
      const tenants = a.repository(Collections.tenants);
      const page = await tenants.list(GLOBAL_SCOPE);
      expect(page.items.map((t) => t.id)).toEqual([DEFAULT_TENANT_ID]);
      expect(page.items[0]).toMatchObject({ enabled: true, requireInvite: false, version: 1 });
      // An operator's later change is kept on the next start.
      await tenants.update(GLOBAL_SCOPE, DEFAULT_TENANT_ID, { ...page.items[0]!, requireInvite: true }, 1);
      await ensureDefaultTenant(b);
      expect(await tenants.require(GLOBAL_SCOPE, DEFAULT_TENANT_ID)).toMatchObject({ requireInvite: true, version: 2 });
    } finally {
      await Promise.all([a.close(), b.close()]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
