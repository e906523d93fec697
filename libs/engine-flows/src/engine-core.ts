import type { Cache } from '@wallet/cache';
import { createIssuerKeyResolver } from '@wallet/protocol';
import { EngineFlows } from './engine-flows';
import { FlowRunner, type FlowEmit, type FlowLog } from './flow-runner';
import { FlowStore } from './flow-store';
import { IssuanceFlow } from './oid4vci/issuance.flow';
import { PresentationFlow } from './oid4vp/presentation.flow';
import type { RegisteredVerifier, ResolvedRequest } from './oid4vp/resolve-request';
import type { TrustResult } from '@wallet/engine-protocol';
import { documentFetch } from './oid4vci/library-fetch';
import { allowInsecureUrls } from './oid4vci/openid4vc';
import type { GuardedFetch, RegistryPort } from './ports';

/** Timing and size limits of flows; every one is configurable (`engine.*`). */
export interface FlowLimits {
  flowLifetimeMs: number;
  maxConcurrentFlows: number;
  signTimeoutMs: number;
  userTimeoutMs: number;
  leaseMs: number;
  deferredLifetimeMs: number;
  deferredIntervalMs: { min: number; max: number };
  maxDeferredPolls: number;
  retentionMs: number;
  maxResponseBytes: number;
  clockSkewSeconds: number;
}

/** Defaults for {@link FlowLimits}, as documented in the configuration reference. */
export const DEFAULT_FLOW_LIMITS: FlowLimits = {
  flowLifetimeMs: 15 * 60_000,
  maxConcurrentFlows: 5,
  signTimeoutMs: 60_000,
  userTimeoutMs: 5 * 60_000,
  leaseMs: 60_000,
  deferredLifetimeMs: 24 * 60 * 60_000,
  deferredIntervalMs: { min: 5_000, max: 15 * 60_000 },
  maxDeferredPolls: 200,
  retentionMs: 10 * 60_000,
  maxResponseBytes: 1_048_576,
  clockSkewSeconds: 60,
};

export interface EngineCoreOptions {
  /** Flow state; shared by replicas (Redis) or in process (memory). */
  cache: Cache;
  /** The guarded outbound fetch (SSRF checks, limits). */
  fetch: GuardedFetch;
  registry: RegistryPort;
  /** Delivers flow frames to the clients that follow them. */
  emit: FlowEmit;
  /** This process's name in flow leases. */
  replica: string;
  limits?: Partial<FlowLimits>;
  /** PEM roots for issuers that sign with x5c chains. */
  trustedRoots?: readonly string[];
  /** Accept `http:` issuer URLs (development and tests; the outbound guard still decides). */
  allowHttp?: boolean;
  clientIdFor?: (tenantId: string, credentialIssuer: string) => Promise<string | undefined>;
  /** Trust decisions on verifiers (OpenID4VP); absent: no verifier is trusted. */
  verifierTrust?: (input: { tenantId: string; clientId: string; key: ResolvedRequest['key'] }) => Promise<TrustResult>;
  /** The tenant's registered verifiers (the `pre-registered` client id prefix). */
  registeredVerifier?: (tenantId: string, clientId: string) => Promise<RegisteredVerifier | null>;
  defaultClientId?: string;
  redirectUris?: readonly string[];
  keyPrefix?: string;
  now?: () => number;
  log?: FlowLog;
}

/** The flow machinery both the engine service and the local engine run: store, runner and flows. */
export interface EngineCore {
  store: FlowStore;
  runner: FlowRunner;
  flows: EngineFlows;
  limits: FlowLimits;
}

export function createEngineCore(options: EngineCoreOptions): EngineCore {
  const limits: FlowLimits = { ...DEFAULT_FLOW_LIMITS, ...options.limits };
  const now = options.now ?? Date.now;
  allowInsecureUrls(options.allowHttp ?? false);
  const documents = documentFetch(options.fetch);
  const issuance = new IssuanceFlow({
    registry: options.registry,
    fetch: options.fetch,
    resolveIssuerKey: createIssuerKeyResolver({
      trustedRoots: options.trustedRoots ?? [],
      fetch: documents,
      now: () => new Date(now()),
      allowHttpIssuers: options.allowHttp ?? false,
    }),
    fetchStatusList: (uri) => documents.getText(uri, ['application/statuslist+jwt', 'application/jwt']),
    ...(options.clientIdFor ? { clientIdFor: options.clientIdFor } : {}),
    defaultClientId: options.defaultClientId ?? 'wallet',
    redirectUris: options.redirectUris ?? [],
    maxResponseBytes: limits.maxResponseBytes,
    clockSkewSeconds: limits.clockSkewSeconds,
    deferredIntervalMs: limits.deferredIntervalMs,
    maxDeferredPolls: limits.maxDeferredPolls,
  });
  const resolveIssuerKey = createIssuerKeyResolver({
    trustedRoots: options.trustedRoots ?? [],
    fetch: documents,
    now: () => new Date(now()),
    allowHttpIssuers: options.allowHttp ?? false,
  });
  const presentation = new PresentationFlow({
    fetch: options.fetch,
    documents,
    trustedRoots: options.trustedRoots ?? [],
    registeredVerifier: options.registeredVerifier ?? (async () => null),
    maxResponseBytes: limits.maxResponseBytes,
    now,
    clockSkewSeconds: limits.clockSkewSeconds,
    resolveIssuerKey,
    verifierTrust:
      options.verifierTrust ?? (async () => ({ trusted: false, reason: 'no trust evaluator for verifiers is configured', source: 'error' as const })),
  });
  const store = new FlowStore(options.cache, { retentionMs: limits.retentionMs, now, ...(options.keyPrefix ? { keyPrefix: options.keyPrefix } : {}) });
  const runner = new FlowRunner(store, options.emit, { oid4vci: issuance, oid4vp: presentation }, {
    replica: options.replica,
    leaseMs: limits.leaseMs,
    signTimeoutMs: limits.signTimeoutMs,
    userTimeoutMs: limits.userTimeoutMs,
    deferredLifetimeMs: limits.deferredLifetimeMs,
    now,
    ...(options.log ? { log: options.log } : {}),
  });
  const flows = new EngineFlows(store, runner, {
    flowLifetimeMs: limits.flowLifetimeMs,
    maxConcurrentFlows: limits.maxConcurrentFlows,
    now,
    ...(options.log ? { log: options.log } : {}),
  });
  return { store, runner, flows, limits };
}
