import { Global, Inject, Module, type DynamicModule, type OnModuleDestroy } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import type { Cache } from '@wallet/cache';
import type { WalletConfig } from '@wallet/config';
import type { Store } from '@wallet/persistence';
import { CachedJwks, remoteJwksLoader, storedJwksLoader, type AccessTokenKeys } from './auth/access-token-keys';
import { AccessTokenGuard } from './auth/access-token.guard';
import { AccessTokenVerifier } from './auth/access-token-verifier';
import { AccessTokenRevocations } from './auth/token-revocations';
import { HealthController } from './health/health.controller';
import { LandingController } from './health/landing.controller';
import { MetricsController } from './metrics/metrics.controller';
import { HttpMetrics } from './metrics/metrics';
import { LeanRoutes } from './lean-routes/lean-routes';
import { RateLimitGuard } from './rate-limit/rate-limit.guard';
import { RateLimiter } from './rate-limit/rate-limiter';
import { TenantDirectory } from './tenancy/tenant-directory';
import { ACCESS_TOKEN_KEYS, SERVICE_INFO, WALLET_CACHE, WALLET_CONFIG, WALLET_STORE, type ServiceInfo } from './tokens';

export interface PlatformModuleOptions {
  config: WalletConfig;
  store: Store;
  cache: Cache;
  metrics: HttpMetrics;
  info: ServiceInfo;
  /** The server's lean routes (see `installLeanRoutes`); a fresh registry when not given. */
  leanRoutes?: LeanRoutes;
}

/** Stops the tenant directory's pub/sub subscription when the app closes. */
class TenancyLifecycle implements OnModuleDestroy {
  constructor(@Inject(TenantDirectory) private readonly tenants: TenantDirectory) {}

  async onModuleDestroy(): Promise<void> {
    await this.tenants.stop().catch(() => undefined);
  }
}

/**
 * What every service gets: configuration, the store and the cache (created
 * outside Nest, so the all-in-one shares one of each), a landing page at `/`,
 * health and metrics, tenant resolution, and two global guards:
 * `AccessTokenGuard` (every route needs an access token unless `@Public()` or
 * admin-token guarded) and `RateLimitGuard` (`@RateLimit()` rules).
 */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(options: PlatformModuleOptions): DynamicModule {
    const { config } = options;
    return {
      module: PlatformModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [LandingController, HealthController, MetricsController],
      providers: [
        { provide: WALLET_CONFIG, useValue: config },
        { provide: WALLET_STORE, useValue: options.store },
        { provide: WALLET_CACHE, useValue: options.cache },
        { provide: SERVICE_INFO, useValue: options.info },
        { provide: HttpMetrics, useValue: options.metrics },
        { provide: LeanRoutes, useValue: options.leanRoutes ?? new LeanRoutes() },
        {
          provide: TenantDirectory,
          useFactory: async () => {
            const directory = new TenantDirectory(options.store, options.cache, { ttlMs: config.auth.tenantCacheTtlMs });
            await directory.start();
            return directory;
          },
        },
        TenancyLifecycle,
        {
          provide: AccessTokenRevocations,
          useFactory: () =>
            new AccessTokenRevocations(options.cache, {
              maxTokenLifetimeMs: Math.max(config.auth.accessTokenTtlMs, config.crypto.maxTokenLifetimeMs),
            }),
        },
        {
          provide: ACCESS_TOKEN_KEYS,
          useFactory: (): AccessTokenKeys =>
            new CachedJwks(config.auth.jwksUrl ? remoteJwksLoader(config.auth.jwksUrl) : storedJwksLoader(options.store), {
              minReloadIntervalMs: config.auth.jwksRefreshMinIntervalMs,
              maxAgeMs: config.auth.jwksCacheTtlMs,
            }),
        },
        {
          provide: AccessTokenVerifier,
          inject: [ACCESS_TOKEN_KEYS, AccessTokenRevocations],
          useFactory: (keys: AccessTokenKeys, revocations: AccessTokenRevocations) =>
            new AccessTokenVerifier({ issuer: config.auth.issuer, audience: config.auth.audience, keys, revocations }),
        },
        { provide: RateLimiter, useFactory: () => new RateLimiter(options.cache) },
        // Order matters: the token guard establishes the principal the rate limiter may count by.
        { provide: APP_GUARD, useClass: AccessTokenGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
      ],
      exports: [
        WALLET_CONFIG,
        WALLET_STORE,
        WALLET_CACHE,
        SERVICE_INFO,
        HttpMetrics,
        LeanRoutes,
        TenantDirectory,
        AccessTokenRevocations,
        ACCESS_TOKEN_KEYS,
        AccessTokenVerifier,
        RateLimiter,
      ],
    };
  }
}
