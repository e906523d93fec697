import { Inject, Injectable, Logger, Module, type OnModuleDestroy } from '@nestjs/common';
import type { Cache } from '@wallet/cache';
import type { WalletConfig } from '@wallet/config';
import { Collections, type Store } from '@wallet/persistence';
import { createEngineCore, describeError, type EngineCore, type RegistryPort } from '@wallet/engine-flows';
import {
  OutboundClient,
  OutboundModule,
  pdpOutboundOptions,
  REGISTRY_LOOKUP,
  TenantDirectory,
  WALLET_CACHE,
  WALLET_CONFIG,
  WALLET_STORE,
  type RegistryLookup,
  ServiceApi,
} from '@wallet/platform';
import { createTrustEvaluator, TrustEvaluator, type TrustKey } from '@wallet/trust';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ClusterBridge } from './cluster-bridge';
import { DeferredPoller } from './deferred-poller';
import { ENGINE_CORE } from './engine.tokens';
import { outboundGuardedFetch } from './guarded-fetch';
import { httpRegistry, inProcessRegistry } from './registry-client';
import { WalletGateway } from './wallet.gateway';

/** The trust evaluator the engine asks about verifiers: the registry's in the same process, else its own. */
export const ENGINE_TRUST = Symbol('ENGINE_TRUST');

/** This process's name in flow leases and pub/sub envelopes. */
const REPLICA = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

function registryPort(config: WalletConfig, lookup: RegistryLookup | null): RegistryPort {
  if (config.engine.registryUrl) return httpRegistry(config.engine.registryUrl);
  if (lookup) return inProcessRegistry(lookup);
  return httpRegistry(`http://127.0.0.1:${config.services.registry.port}`);
}

function trustedRoots(file: string | undefined): string[] {
  if (!file) return [];
  const pem = readFileSync(file, 'utf8');
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

@Injectable()
class EngineLifecycle implements OnModuleDestroy {
  constructor(
    @Inject(ClusterBridge) private readonly bridge: ClusterBridge,
    @Inject(ENGINE_TRUST) private readonly trust: { close?: () => Promise<void> },
  ) {}

  async onModuleDestroy(): Promise<void> {
    await this.bridge.close();
    await this.trust.close?.();
  }
}

/**
 * The engine: the wallet's WebSocket API v2 at `/api/v2/wallet`, running
 * OpenID4VCI flows whose state lives in the shared cache (any replica
 * continues any flow), with the registry in process when it is (the
 * all-in-one) and over HTTP otherwise.
 */
@ServiceApi('engine')
@Module({
  imports: [OutboundModule],
  providers: [
    {
      provide: ClusterBridge,
      inject: [WALLET_CACHE],
      useFactory: (cache: Cache) => {
        const logger = new Logger('engine');
        return new ClusterBridge(cache, REPLICA, (error) =>
          logger.warn({ msg: 'engine pub/sub failed', error: describeError(error) }),
        );
      },
    },
    {
      provide: ENGINE_TRUST,
      inject: [WALLET_CONFIG, WALLET_CACHE, TenantDirectory, { token: TrustEvaluator, optional: true }],
      useFactory: (config: WalletConfig, cache: Cache, tenants: TenantDirectory, shared: TrustEvaluator | undefined) => {
        if (shared) return { evaluator: shared };
        const http = new OutboundClient(pdpOutboundOptions(config));
        return { evaluator: createTrustEvaluator(config, { cache, http, tenants }), close: () => http.close() };
      },
    },
    {
      provide: ENGINE_CORE,
      inject: [WALLET_CONFIG, WALLET_CACHE, WALLET_STORE, OutboundClient, ClusterBridge, ENGINE_TRUST, { token: REGISTRY_LOOKUP, optional: true }],
      useFactory: (
        config: WalletConfig,
        cache: Cache,
        store: Store,
        outbound: OutboundClient,
        bridge: ClusterBridge,
        trust: { evaluator: TrustEvaluator },
        lookup: RegistryLookup | undefined,
      ): EngineCore => {
        const e = config.engine;
        const logger = new Logger('engine');
        return createEngineCore({
          cache,
          fetch: outboundGuardedFetch(outbound, e.maxResponseBytes),
          registry: registryPort(config, lookup ?? null),
          emit: bridge.emit,
          replica: REPLICA,
          allowHttp: config.outbound.allowHttp,
          trustedRoots: trustedRoots(e.trustedRootsFile),
          defaultClientId: e.oauthClientId,
          redirectUris: e.redirectUris,
          clientIdFor: async (tenantId, issuer) =>
            (await store.repository(Collections.issuers).findOne(tenantId, { credentialIssuerIdentifier: issuer }))?.clientId ?? undefined,
          verifierTrust: async ({ tenantId, clientId, key }) => {
            const decision = await trust.evaluator.evaluate({
              tenantId,
              entityId: clientId,
              role: 'credential-verifier',
              ...(key ? { key: key as TrustKey } : {}),
            });
            return { trusted: decision.trusted, reason: decision.reason.slice(0, 512), source: decision.source };
          },
          registeredVerifier: async (tenantId, clientId) => {
            const found = await store.repository(Collections.verifiers).findOne(tenantId, { clientId });
            return found?.jwks?.length ? { name: found.name, jwks: found.jwks } : null;
          },
          limits: {
            flowLifetimeMs: e.flowLifetimeMs,
            maxConcurrentFlows: e.maxConcurrentFlows,
            signTimeoutMs: e.signTimeoutMs,
            userTimeoutMs: e.userTimeoutMs,
            deferredLifetimeMs: e.deferredLifetimeMs,
            deferredIntervalMs: { min: e.deferredMinIntervalMs, max: Math.max(e.deferredMinIntervalMs, 15 * 60_000) },
            retentionMs: e.retentionMs,
            maxResponseBytes: e.maxResponseBytes,
          },
          log: (level, msg, fields) => logger[level === 'info' ? 'log' : level]({ msg, ...fields }),
        });
      },
    },
    WalletGateway,
    DeferredPoller,
    EngineLifecycle,
  ],
  exports: [ENGINE_CORE, WalletGateway, DeferredPoller],
})
export class EngineFeatureModule {}
