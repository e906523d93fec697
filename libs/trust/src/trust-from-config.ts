import type { WalletConfig } from '@wallet/config';
import type { TrustEvaluatorOptions } from './trust-evaluator';

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
