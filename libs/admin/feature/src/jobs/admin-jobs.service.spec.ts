import { Logger } from '@nestjs/common';
import { createCache } from '@wallet/cache';
import { loadConfig } from '@wallet/config';
import { JOB_SLOTS, TenantDirectory } from '@wallet/platform';
import { createStore } from '@wallet/persistence';
import { AdminJobsService } from './admin-jobs.service';

describe('AdminJobsService', () => {
  // Built outside a Nest app, the service would log its job runs with Nest's console logger.
  beforeAll(() => Logger.overrideLogger(false));

  it('fills the vault-tombstones and trust-refresh slots itself, so a standalone admin process runs them', async () => {
    const { config } = loadConfig({ argv: [], env: { WALLET_STORAGE_TYPE: 'memory', WALLET_LOGGING_LEVEL: 'silent' } });
    const store = await createStore({ type: 'memory' });
    const cache = await createCache({ type: 'memory' });
    const service = new AdminJobsService(config, store, cache, new TenantDirectory(store, cache, { ttlMs: 1000 }));
    try {
      expect(service.runner.names()).toEqual(expect.arrayContaining([JOB_SLOTS.vaultTombstones, JOB_SLOTS.trustRefresh]));
      expect(await service.runner.runIfDue(JOB_SLOTS.vaultTombstones)).toBe('ran');
      expect(await service.runner.runIfDue(JOB_SLOTS.trustRefresh)).toBe('ran');
    } finally {
      await service.beforeApplicationShutdown();
      await cache.close();
      await store.close();
    }
  });
});
