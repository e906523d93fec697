import { Global, Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type { Cache } from '@wallet/cache';
import type { WalletConfig } from '@wallet/config';
import type { Store } from '@wallet/persistence';
import { HealthController } from './health/health.controller';
import { MetricsController } from './metrics/metrics.controller';
import { HttpMetrics } from './metrics/metrics';
import { SERVICE_INFO, WALLET_CACHE, WALLET_CONFIG, WALLET_STORE, type ServiceInfo } from './tokens';

export interface PlatformModuleOptions {
  config: WalletConfig;
  store: Store;
  cache: Cache;
  metrics: HttpMetrics;
  info: ServiceInfo;
}

/**
 * What every service gets: configuration, the store and the cache (created
 * outside Nest, so the all-in-one shares one of each), health and metrics.
 */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(options: PlatformModuleOptions): DynamicModule {
    return {
      module: PlatformModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: WALLET_CONFIG, useValue: options.config },
        { provide: WALLET_STORE, useValue: options.store },
        { provide: WALLET_CACHE, useValue: options.cache },
        { provide: SERVICE_INFO, useValue: options.info },
        { provide: HttpMetrics, useValue: options.metrics },
      ],
      exports: [WALLET_CONFIG, WALLET_STORE, WALLET_CACHE, SERVICE_INFO, HttpMetrics],
    };
  }
}
