import type { WalletConfig } from '@wallet/config';
import { GLOBAL_SCOPE } from '@wallet/domain';
import { Collections, type Store } from '@wallet/persistence';
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

const TENANT_MEMO_MS = 5_000;

/**
 * Reads a tenant's `trustConfig.pdpUrl` from the store, remembered for 5 s
 * per process (admin changes reach every replica within that time).
 */
export function tenantPdpLookup(store: Store, now: () => number = Date.now): (tenantId: string) => Promise<string | undefined> {
  const memo = new Map<string, { value: string | undefined; until: number }>();
  const tenants = store.repository(Collections.tenants);
  return async (tenantId) => {
    const known = memo.get(tenantId);
    if (known && known.until > now()) return known.value;
    const tenant = await tenants.get(GLOBAL_SCOPE, tenantId);
    const value = tenant?.trustConfig.pdpUrl;
    if (memo.size > 10_000) memo.clear();
    memo.set(tenantId, { value, until: now() + TENANT_MEMO_MS });
    return value;
  };
}
