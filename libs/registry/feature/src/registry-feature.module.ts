import {
  Global,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Cache } from '@wallet/cache';
import type { WalletConfig } from '@wallet/config';
import type { Store } from '@wallet/persistence';
import {
  JOB_SLOTS,
  TenantDirectory,
  registerJobHandler,
  AdminTokenGuard,
  AuditLog,
  HttpMetrics,
  OutboundClient,
  OutboundModule,
  WALLET_CACHE,
  WALLET_CONFIG,
  WALLET_STORE,
  pdpOutboundOptions,
  REGISTRY_LOOKUP,
  type RegistryLookup,
  ServiceApi,
} from '@wallet/platform';
import { isWalletError } from '@wallet/domain';
import { createTrustEvaluator, TrustEvaluator, TrustRefreshJob } from '@wallet/trust';
import { IssuerMetadataService } from './issuer-metadata/issuer-metadata.service';
import { LocalTypeMetadataStore } from './local/local-type-metadata.store';
import { SourceListPoller } from './local/source-list.poller';
import { RegistryController } from './registry.controller';
import { TypeMetadataResolver } from './type-metadata/type-metadata.resolver';

/** Outbound client for PDP calls: the guard, plus the PDP allowances of the `trust` section. */
export const PDP_CLIENT = Symbol('PDP_CLIENT');

/**
 * Starts source-list polling, fills the job runner's `trust-refresh` slot in
 * this process (the all-in-one's admin runner then runs it), and closes the
 * PDP client.
 */
@Injectable()
class RegistryLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(SourceListPoller) private readonly poller: SourceListPoller,
    @Inject(PDP_CLIENT) private readonly pdpClient: OutboundClient,
    @Inject(WALLET_CONFIG) private readonly config: WalletConfig,
    @Inject(TrustRefreshJob) private readonly refreshJob: TrustRefreshJob,
  ) {}

  onApplicationBootstrap(): void {
    registerJobHandler(JOB_SLOTS.trustRefresh, async () => ({ ...(await this.refreshJob.run()) }));
    if (this.config.registry.sources.length === 0) return;
    const poll = () => void this.poller.pollOnce().catch(() => undefined);
    setTimeout(poll, 0).unref();
    this.timer = setInterval(poll, this.config.registry.sourcePollIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.pdpClient.close();
  }
}

/**
 * The registry: type metadata (`GET /registry/type-metadata`), local type
 * metadata (`POST`/`DELETE /registry/vctm`, admin), issuer metadata with trust
 * decisions (`GET /registry/issuer-metadata`), source-list polling, and the
 * {@link TrustRefreshJob} for the admin job runner. Global, so that other
 * services of the same server reach it in process ({@link REGISTRY_LOOKUP}).
 */
@Global()
@ServiceApi('registry')
@Module({
  imports: [OutboundModule],
  controllers: [RegistryController],
  providers: [
    AdminTokenGuard,
    {
      provide: AuditLog,
      inject: [WALLET_STORE],
      useFactory: (store: Store) => new AuditLog(store),
    },
    {
      provide: PDP_CLIENT,
      inject: [WALLET_CONFIG],
      useFactory: (config: WalletConfig) => new OutboundClient(pdpOutboundOptions(config)),
    },
    {
      provide: TrustEvaluator,
      inject: [WALLET_CONFIG, WALLET_CACHE, TenantDirectory, PDP_CLIENT, HttpMetrics],
      useFactory: (config: WalletConfig, cache: Cache, tenants: TenantDirectory, http: OutboundClient, metrics: HttpMetrics) =>
        // The platform's tenant directory: a short cache, evicted when admin changes the tenant.
        createTrustEvaluator(config, { cache, http, tenants, metrics: metrics.registry }),
    },
    {
      provide: TrustRefreshJob,
      inject: [TrustEvaluator],
      useFactory: (evaluator: TrustEvaluator) => new TrustRefreshJob(evaluator),
    },
    {
      provide: LocalTypeMetadataStore,
      inject: [WALLET_STORE],
      useFactory: (store: Store) => new LocalTypeMetadataStore(store),
    },
    {
      provide: TypeMetadataResolver,
      inject: [WALLET_CONFIG, WALLET_CACHE, OutboundClient, LocalTypeMetadataStore],
      useFactory: (config: WalletConfig, cache: Cache, http: OutboundClient, local: LocalTypeMetadataStore) =>
        new TypeMetadataResolver(
          {
            defaultTtlMs: config.registry.defaultTtlMs,
            minTtlMs: config.registry.minTtlMs,
            maxTtlMs: config.registry.maxTtlMs,
            staleMaxMs: config.registry.staleMaxMs,
            maxExtendsDepth: config.registry.maxExtendsDepth,
            maxDocumentBytes: config.registry.maxDocumentBytes,
            maxImageBytes: config.registry.maxImageBytes,
            imageTypes: config.registry.imageTypes,
          },
          { http, cache, local: (vct) => local.get(vct) },
        ),
    },
    {
      provide: IssuerMetadataService,
      inject: [WALLET_CONFIG, WALLET_CACHE, OutboundClient, TrustEvaluator],
      useFactory: (config: WalletConfig, cache: Cache, http: OutboundClient, trust: TrustEvaluator) =>
        new IssuerMetadataService(
          { ttlMs: config.registry.issuerMetadataTtlMs, maxDocumentBytes: config.registry.maxDocumentBytes },
          { http, cache, trust },
        ),
    },
    {
      provide: SourceListPoller,
      inject: [WALLET_CONFIG, WALLET_CACHE, OutboundClient, LocalTypeMetadataStore, TypeMetadataResolver],
      useFactory: (
        config: WalletConfig,
        cache: Cache,
        http: OutboundClient,
        store: LocalTypeMetadataStore,
        resolver: TypeMetadataResolver,
      ) =>
        new SourceListPoller(config.registry.sources, {
          http,
          cache,
          store,
          changed: (vct) => resolver.invalidate(vct),
          maxBytes: config.outbound.maxResponseBytes,
        }),
    },
    RegistryLifecycle,
    // The registry in process for the other services of the same server (the all-in-one's engine).
    {
      provide: REGISTRY_LOOKUP,
      inject: [IssuerMetadataService, TypeMetadataResolver],
      useFactory: (issuers: IssuerMetadataService, types: TypeMetadataResolver): RegistryLookup => ({
        issuerMetadata: async (issuer, tenantId) => {
          const { cache: _cache, ...answer } = await issuers.get(issuer, tenantId);
          return answer;
        },
        typeMetadata: async (vct) => {
          try {
            return (await types.resolve(vct)).metadata as Record<string, unknown>;
          } catch (error) {
            if (isWalletError(error) && error.code === 'not_found') return null;
            throw error;
          }
        },
      }),
    },
  ],
  exports: [TrustEvaluator, TrustRefreshJob, TypeMetadataResolver, REGISTRY_LOOKUP],
})
export class RegistryFeatureModule {}
