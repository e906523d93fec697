import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Cache } from '@wallet/cache';
import type { WalletConfig } from '@wallet/config';
import type { Store } from '@wallet/persistence';
import {
  JOB_SLOTS,
  JobRunner,
  OutboundClient,
  pdpOutboundOptions,
  TenantDirectory,
  WALLET_CACHE,
  WALLET_CONFIG,
  WALLET_STORE,
} from '@wallet/platform';
import { TrustEvaluator, TrustRefreshJob, trustOptionsFromConfig } from '@wallet/trust';
import { adminJobs } from './admin-jobs';

/**
 * Runs the admin background jobs (see `adminJobs`) in this process while it
 * serves, when `admin.jobs.enabled`. Each run is logged as `job run`.
 */
@Injectable()
export class AdminJobsService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('jobs');
  readonly runner: JobRunner;
  private readonly pdpClient: OutboundClient;

  constructor(
    @Inject(WALLET_CONFIG) private readonly config: WalletConfig,
    @Inject(WALLET_STORE) store: Store,
    @Inject(WALLET_CACHE) cache: Cache,
    @Inject(TenantDirectory) tenants: Pick<TenantDirectory, 'find'>,
  ) {
    this.runner = new JobRunner({
      cache,
      lockTtlMs: config.admin.jobs.lockTtlMs,
      onEvent: (event) => {
        const entry = { msg: 'job run', job: event.name, outcome: event.outcome, fence: event.fence, durationMs: event.durationMs, ...event.result };
        if (event.outcome === 'failed') this.logger.warn({ ...entry, error: event.error });
        else this.logger.log(entry);
      },
    });
    for (const job of adminJobs(store, config)) this.runner.register(job);
    // Trust decisions live in the shared cache; refreshing them here serves every replica of
    // the registry and the verifier that share it.
    this.pdpClient = new OutboundClient(pdpOutboundOptions(config));
    const evaluator = new TrustEvaluator(trustOptionsFromConfig(config), {
      cache,
      http: this.pdpClient,
      tenantPdpUrl: async (tenantId) => (await tenants.find(tenantId))?.trustConfig.pdpUrl,
    });
    const refresh = new TrustRefreshJob(evaluator);
    this.runner.setHandler(JOB_SLOTS.trustRefresh, async () => refresh.run());
  }

  onApplicationBootstrap(): void {
    if (this.config.admin.jobs.enabled) this.runner.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.runner.stop();
    await this.pdpClient.close();
  }
}
