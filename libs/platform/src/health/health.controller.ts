import { Controller, Get, Inject, Res } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import type { Cache } from '@wallet/cache';
import type { Store } from '@wallet/persistence';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/public.decorator';
import { WALLET_CACHE, WALLET_STORE } from '../tokens';

const PING_TIMEOUT_MS = 1500;

/**
 * `/health/live`: the process runs (no dependency checks, so a store outage
 * never gets pods killed). `/health/ready`: the store and the cache answer;
 * 503 otherwise, so the load balancer stops sending traffic.
 */
@Public({ tenant: false })
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(WALLET_STORE) private readonly store: Store,
    @Inject(WALLET_CACHE) private readonly cache: Cache,
  ) {}

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.probe('store', this.store.driver, () => this.store.ping()),
        () => this.probe('cache', this.cache.driver, () => this.cache.ping()),
      ]);
    } catch (error) {
      const result = (error as { getResponse?: () => unknown }).getResponse?.();
      if (result && typeof result === 'object') {
        void reply.status(503);
        return result as HealthCheckResult;
      }
      throw error;
    }
  }

  private async probe(key: string, driver: string, ping: () => Promise<void>) {
    const indicator = this.indicators.check(key);
    try {
      await withTimeout(ping(), PING_TIMEOUT_MS);
      return indicator.up({ driver });
    } catch (error) {
      return indicator.down({ driver, message: error instanceof Error ? error.message : 'unreachable' });
    }
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
