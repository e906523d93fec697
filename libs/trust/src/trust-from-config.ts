import type { Cache } from '@wallet/cache';
import type { WalletConfig } from '@wallet/config';
import type { Registry } from 'prom-client';
import { TrustEvaluator, type TrustEvaluatorOptions, type TrustHttpClient } from './trust-evaluator';

/** The evaluator options of the `trust` configuration section. */
export function trustOptionsFromConfig(config: WalletConfig): TrustEvaluatorOptions {
  const t = config.trust;
  return {
    policy: t.policy,
    ...(t.pdpUrl ? { pdpUrl: t.pdpUrl } : {}),
    allowList: t.allowList,
    timeoutMs: t.timeoutMs,
    cacheTtlMs: t.cacheTtlMs,
    errorCacheTtlMs: t.errorCacheTtlMs,
    refreshAheadMs: t.refreshAheadMs,
    discoveryTtlMs: t.discoveryTtlMs,
  };
}

/** Where a tenant's own trust settings come from (the platform's `TenantDirectory` fits). */
export interface TrustTenants {
  find(tenantId: string): Promise<{ trustConfig: { pdpUrl?: string | undefined } } | null | undefined>;
}

/** What a service hands {@link createTrustEvaluator}. */
export interface TrustEvaluatorSources {
  /** The shared cache, so every replica and service reuses the same decisions. */
  cache: Cache;
  /** The outbound client for PDP calls, with the `trust` section's allowances (`pdpOutboundOptions`). */
  http: TrustHttpClient;
  /** The tenant's `trustConfig.pdpUrl` overrides the default PDP (`none` turns trust off for it). */
  tenants: TrustTenants;
  /** Registers the trust metrics here, when given. */
  metrics?: Registry;
}

/**
 * The one way a service builds its {@link TrustEvaluator}: options from the
 * `trust` configuration section, the tenant's own PDP from the tenant
 * directory. The caller owns `sources.http` and closes it.
 */
export function createTrustEvaluator(config: WalletConfig, sources: TrustEvaluatorSources): TrustEvaluator {
  const { cache, http, tenants, metrics } = sources;
  return new TrustEvaluator(trustOptionsFromConfig(config), {
    cache,
    http,
    tenantPdpUrl: async (tenantId) => (await tenants.find(tenantId))?.trustConfig.pdpUrl,
    ...(metrics ? { metrics } : {}),
  });
}
