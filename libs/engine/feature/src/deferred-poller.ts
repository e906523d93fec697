import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Cache } from '@wallet/cache';
import type { WalletConfig } from '@wallet/config';
import { describeError, type EngineCore, type Principal } from '@wallet/engine-flows';
import { TenantDirectory, WALLET_CACHE, WALLET_CONFIG } from '@wallet/platform';
import { ENGINE_CORE } from './engine.tokens';

const LOCK = 'engine:deferred-poller';

/**
 * Polls deferred issuances that are due, on one replica at a time (a lock in
 * the shared cache), outside any user's socket: the result reaches whichever
 * replica holds a connection of the user, or waits in the flow for the next
 * `flow_resume`.
 */
@Injectable()
export class DeferredPoller implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('engine');
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    @Inject(WALLET_CONFIG) private readonly config: WalletConfig,
    @Inject(WALLET_CACHE) private readonly cache: Cache,
    @Inject(ENGINE_CORE) private readonly core: EngineCore,
    @Inject(TenantDirectory) private readonly tenants: TenantDirectory,
  ) {}

  /**
   * Whether a due flow of `principal` is polled: not while its tenant is
   * disabled or gone (the engine would talk to the issuer on its behalf);
   * such a flow waits, to expire or to be polled once the tenant is enabled
   * again. The directory is cached and evicted when admin changes a tenant.
   */
  readonly shouldPoll = async (principal: Principal): Promise<boolean> => {
    const tenant = await this.tenants.find(principal.tenantId);
    return !!tenant?.enabled;
  };

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.config.engine.deferredPollTickMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One round: take the lock, poll what is due, let go. */
  async tick(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      const lock = await this.cache.acquireLock(LOCK, Math.max(10_000, this.config.engine.deferredPollTickMs * 10));
      if (!lock) return 0;
      try {
        return await this.core.flows.pollDue(100, { shouldPoll: this.shouldPoll });
      } finally {
        await lock.release().catch(() => undefined);
      }
    } catch (error) {
      this.logger.warn({ msg: 'deferred poll round failed', error: describeError(error) });
      return 0;
    } finally {
      this.running = false;
    }
  }
}
