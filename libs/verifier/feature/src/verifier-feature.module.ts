import { Inject, Injectable, Logger, Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Cache, Unsubscribe } from '@wallet/cache';
import type { WalletConfig } from '@wallet/config';
import type { Store } from '@wallet/persistence';
import {
  HttpMetrics,
  OutboundClient,
  OutboundModule,
  pdpOutboundOptions,
  ServiceKeysModule,
  TenantDirectory,
  VERIFIER_SERVICES_CHANGED_CHANNEL,
  WALLET_CACHE,
  WALLET_CONFIG,
  WALLET_STORE,
  ServiceApi,
} from '@wallet/platform';
import { TrustEvaluator, trustOptionsFromConfig } from '@wallet/trust';
import { readFileSync } from 'node:fs';
import { createIssuerKeyResolver } from '@wallet/protocol';
import { outboundFetch, VERIFIER_FETCH, type VerifierFetch } from './issuer-keys';
import { VerifierFrontendController, VerifierTokenController, WalletResponseLeanRoute } from './verifier.controllers';
import { PresentationService } from './presentation.service';
import { TokenService } from './token.service';
import { RESPONSE_VERIFIER_DEPS, type ResponseVerifierDeps } from './verify-response';
import { autoWorkerCount, PresentationWorkers } from './presentation-workers';
import { VERIFIER_REQUEST_KEYS, VERIFIER_REQUEST_PURPOSE, VERIFIER_TOKEN_KEYS, VERIFIER_TOKEN_PURPOSE } from './verifier-keys';
import { VerifierJwksController } from './verifier-jwks.controller';
import { RelyingPartyRegistry } from './relying-party-registry';
import { VerifierSessions } from './verifier-sessions';
import { systemClock, VERIFIER_CLOCK, type Clock } from './verifier-clock';

const VERIFIER_PDP_CLIENT = Symbol('VERIFIER_PDP_CLIENT');
/** The presentation verification threads, or null with `verifier.verificationWorkers: 0`. */
const PRESENTATION_WORKERS = Symbol('PRESENTATION_WORKERS');

/**
 * How often a replica re-reads the admin-managed services anyway: admin
 * announces every change on the cache (applied at once), and this catches a
 * missed announcement (a cache outage, a replica that was reconnecting).
 */
const SERVICES_RELOAD_MS = 30_000;

/** Loads the admin-managed services at start, again on every change admin announces, and every 30 s. */
@Injectable()
class RelyingPartyReloader implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('verifier');
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: Unsubscribe | null = null;
  /** One reload at a time; a change announced during a reload triggers one more. */
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    @Inject(RelyingPartyRegistry) private readonly relyingParties: RelyingPartyRegistry,
    @Inject(WALLET_STORE) private readonly store: Store,
    @Inject(WALLET_CACHE) private readonly cache: Cache,
  ) {}

  async onModuleInit(): Promise<void> {
    this.unsubscribe = await this.cache.subscribe(VERIFIER_SERVICES_CHANGED_CHANNEL, () => void this.reload());
    await this.reload();
    this.timer = setInterval(() => void this.reload(), SERVICES_RELOAD_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.unsubscribe?.();
    await this.running;
  }

  private reload(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.relyingParties.reloadStored(this.store, (id, message) => this.logger.warn({ msg: 'stored verifier service skipped', service: id, reason: message }));
        } catch (error) {
          // The store is unreachable: keep serving the services we have.
          this.logger.warn({ msg: 'verifier services reload failed', error: error instanceof Error ? error.message : 'unknown' });
        }
      } while (this.again);
      this.running = null;
    })();
    return this.running;
  }
}

/** Closes the PDP client's pooled connections on shutdown. */
@Injectable()
class PdpClientCloser implements OnModuleDestroy {
  constructor(@Inject(VERIFIER_PDP_CLIENT) private readonly client: OutboundClient) {}

  async onModuleDestroy(): Promise<void> {
    await this.client.close();
  }
}

/** Stops the presentation verification threads on shutdown. */
@Injectable()
class PresentationWorkersCloser implements OnModuleDestroy {
  constructor(@Inject(PRESENTATION_WORKERS) private readonly workers: PresentationWorkers | null) {}

  async onModuleDestroy(): Promise<void> {
    await this.workers?.close();
  }
}

/** The OpenID4VP relying party. Its routes are at the root of its own host. */
@ServiceApi('verifier')
@Module({
  imports: [
    OutboundModule,
    ServiceKeysModule.forPurpose(VERIFIER_TOKEN_KEYS, VERIFIER_TOKEN_PURPOSE, undefined, (config) => config.verifier.tokenAlg),
    ServiceKeysModule.forPurpose(VERIFIER_REQUEST_KEYS, VERIFIER_REQUEST_PURPOSE),
  ],
  controllers: [VerifierJwksController, VerifierFrontendController, VerifierTokenController],
  providers: [
    // Tests override this provider to freeze time.
    { provide: VERIFIER_CLOCK, useValue: systemClock },
    { provide: VERIFIER_FETCH, inject: [OutboundClient], useFactory: (client: OutboundClient) => outboundFetch(client) },
    {
      provide: VERIFIER_PDP_CLIENT,
      inject: [WALLET_CONFIG],
      useFactory: (config: WalletConfig) => new OutboundClient(pdpOutboundOptions(config)),
    },
    PdpClientCloser,
    {
      // AuthZEN decisions for trust rules with `authzen: true`; PDP calls get the trust section's allowances.
      provide: TrustEvaluator,
      inject: [WALLET_CONFIG, WALLET_CACHE, TenantDirectory, HttpMetrics, VERIFIER_PDP_CLIENT],
      useFactory: (config: WalletConfig, cache: Cache, tenants: TenantDirectory, metrics: HttpMetrics, http: OutboundClient) =>
        new TrustEvaluator(trustOptionsFromConfig(config), {
          cache,
          http,
          tenantPdpUrl: async (tenantId) => (await tenants.find(tenantId))?.trustConfig.pdpUrl,
          metrics: metrics.registry,
        }),
    },
    {
      provide: RelyingPartyRegistry,
      inject: [WALLET_CONFIG],
      useFactory: (config: WalletConfig) => RelyingPartyRegistry.fromFile(config.verifier.servicesFile),
    },
    RelyingPartyReloader,
    {
      provide: PRESENTATION_WORKERS,
      inject: [WALLET_CONFIG],
      useFactory: (config: WalletConfig) => {
        const size = config.verifier.verificationWorkers ?? autoWorkerCount();
        return size > 0 ? new PresentationWorkers(size) : null;
      },
    },
    PresentationWorkersCloser,
    WalletResponseLeanRoute,
    {
      provide: VerifierSessions,
      inject: [WALLET_CACHE, WALLET_CONFIG, VERIFIER_CLOCK],
      useFactory: (cache: Cache, config: WalletConfig, now: Clock) =>
        new VerifierSessions(cache, { sessionMs: config.verifier.sessionTtlMs, codeMs: config.verifier.codeTtlMs }, now),
    },
    {
      // What every presentation check needs, the same for every request: the browser flow's and the token endpoint's.
      provide: RESPONSE_VERIFIER_DEPS,
      inject: [WALLET_CONFIG, VERIFIER_FETCH, WALLET_CACHE, TrustEvaluator, PRESENTATION_WORKERS, VERIFIER_CLOCK],
      useFactory: (config: WalletConfig, fetch: VerifierFetch, cache: Cache, trust: TrustEvaluator, workers: PresentationWorkers | null, now: Clock): ResponseVerifierDeps => {
        const trustedRoots = config.verifier.trustedRootsFile ? [readFileSync(config.verifier.trustedRootsFile, 'utf8')] : [];
        // http issuers only where the outbound guard allows http at all (development and tests on loopback).
        const resolveIssuerKey = createIssuerKeyResolver({ trustedRoots, fetch, allowHttpIssuers: config.outbound.allowHttp });
        return {
          resolveIssuerKey,
          ...(workers ? { presentationWorkers: workers } : {}),
          fetch,
          cache,
          trust,
          statusListTtlMs: config.verifier.statusListCacheTtlMs,
          clockSkewSeconds: config.verifier.clockSkewSeconds,
          now,
        };
      },
    },
    PresentationService,
    TokenService,
  ],
})
export class VerifierFeatureModule {}
