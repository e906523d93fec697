import { Controller, Get, Inject, Res } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import type { Cache } from '@wallet/cache';
import type { Store } from '@wallet/persistence';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/public.decorator';
import { WALLET_CACHE, WALLET_STORE } from '../tokens';

const PING_TIMEOUT_MS = 1500;

/** @nestjs/terminus's health check result. */
const HEALTH_RESULT = {
  type: 'object',
  properties: {
    status: { enum: ['ok', 'error', 'shutting_down'] },
    info: { type: 'object', additionalProperties: { type: 'object' } },
    error: { type: 'object', additionalProperties: { type: 'object' } },
    details: { type: 'object', additionalProperties: { type: 'object' } },
  },
  required: ['status'],
};

/**
 * `/health/live`: the process runs (no dependency checks, so a store outage
 * never gets pods killed). `/health/ready`: the store and the cache answer;
 * 503 otherwise, so the load balancer stops sending traffic.
 */
@ApiTags('platform')
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
  @ApiOperation({ operationId: 'getLiveness', summary: 'Liveness: the process runs (no dependency checks)' })
  @ApiOkResponse({ description: 'Alive', schema: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } }, required: ['status'] }, example: { status: 'ok' } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ operationId: 'getReadiness', summary: 'Readiness: the store and the cache answer' })
  @ApiOkResponse({ description: 'Ready', schema: HEALTH_RESULT, example: { status: 'ok', info: { store: { status: 'up', driver: 'sqlite' }, cache: { status: 'up', driver: 'memory' } }, error: {}, details: { store: { status: 'up', driver: 'sqlite' }, cache: { status: 'up', driver: 'memory' } } } })
  @ApiResponse({ status: 503, description: 'Not ready: the store or the cache does not answer', schema: HEALTH_RESULT })
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
