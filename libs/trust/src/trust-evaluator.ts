import type { Cache } from '@wallet/cache';
import { createHash } from 'node:crypto';
import { Counter, Histogram, type Registry } from 'prom-client';
import { z } from 'zod';
import {
  keyThumbprint,
  parseTrustQuery,
  zTrustQuery,
  type TrustDecision,
  type TrustQuery,
  type TrustSource,
} from './trust-query';

/**
 * The HTTP port the evaluator calls PDPs through. `OutboundClient` from
 * `@wallet/platform` satisfies it; the evaluator never uses `fetch`.
 */
export interface TrustHttpClient {
  fetch(
    url: string,
    request: {
      method?: 'GET' | 'POST';
      headers?: Record<string, string>;
      body?: string;
      accept?: readonly string[];
      timeoutMs?: number;
    },
  ): Promise<{ status: number; json(): unknown }>;
}

export type TrustPolicy = 'pdp' | 'always' | 'never' | 'allowList';

export interface TrustEvaluatorOptions {
  /** See the `trust.policy` configuration key. */
  policy: TrustPolicy;
  /** Default PDP base URL; absent or undefined: none. */
  pdpUrl?: string | undefined;
  /** Entity ids, optionally prefixed with a role and a space. */
  allowList?: readonly string[];
  timeoutMs?: number;
  cacheTtlMs?: number;
  errorCacheTtlMs?: number;
  refreshAheadMs?: number;
  discoveryTtlMs?: number;
  /** Width of the expiry buckets the refresh job reads (default 30 s). */
  refreshBucketMs?: number;
  /** Prefix of the shared cache keys (default `trust:`). */
  keyPrefix?: string;
  /**
   * How long a decision read from the shared cache is reused in-process
   * without asking the cache again (default 5 s; 0: always ask). Never past
   * the decision's own expiry.
   */
  localCacheMs?: number;
}

export interface TrustEvaluatorDeps {
  /** The shared cache: decisions are shared by every replica. */
  cache: Cache;
  http: TrustHttpClient;
  /** The tenant's `trustConfig.pdpUrl` (`none` disables trust for it); undefined: the default applies. */
  tenantPdpUrl?: (tenantId: string) => Promise<string | undefined>;
  /** Registers `trust_decisions_total` and `trust_pdp_request_duration_seconds` here. */
  metrics?: Registry;
  now?: () => number;
}

/** What the tenant's configuration makes of a query. */
type Resolved = { kind: 'pdp'; url: string } | { kind: 'invalid' } | { kind: 'static'; policy: Exclude<TrustPolicy, 'pdp'> } | { kind: 'disabled' } | { kind: 'unconfigured' };

const zCachedDecision = z.object({
  trusted: z.boolean(),
  reason: z.string(),
  source: z.enum(['pdp', 'static', 'disabled', 'error']),
  pdp: z.string().optional(),
  evaluatedAt: z.string(),
  expiresAt: z.string(),
  query: zTrustQuery,
});
type CachedDecision = z.infer<typeof zCachedDecision>;

const zAuthzenResponse = z.object({
  decision: z.boolean(),
  context: z.record(z.string(), z.unknown()).optional(),
});

const zAuthzenConfiguration = z.object({
  policy_decision_point: z.string().optional(),
  access_evaluation_endpoint: z.url({ protocol: /^https?$/ }).optional(),
});

/** Entries of the in-process parse memos before they are cleared. */
const MEMO_LIMIT = 10_000;

/** JSON from the cache, or undefined when it is not JSON (a corrupt value is a miss, never a 500). */
function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

const zKeyList = z.array(z.string());

const sha = (value: string): string => createHash('sha256').update(value).digest('base64url');

function metric<T>(registry: Registry | undefined, name: string, create: () => T): T | undefined {
  if (!registry) return undefined;
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/** A PDP reason from the response context, shortened and stripped of control characters. */
function pdpReason(context: Record<string, unknown> | undefined): string | null {
  const reason = context?.['reason'];
  if (reason === undefined) return null;
  const text = typeof reason === 'string' ? reason : JSON.stringify(reason);
  // Control characters would let a PDP forge log lines.
  return [...text].map((c) => (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? ' ' : c)).join('').slice(0, 200);
}

/**
 * Decides whether an issuer or verifier is trusted for a role, by asking an
 * AuthZEN Policy Decision Point (the trust profile go-trust implements:
 * subject = entity id, resource = its JWK or x5c chain, action = the role
 * with the credential types as parameters) or a static development policy.
 *
 * - Per tenant: a tenant's `trustConfig.pdpUrl` overrides the default PDP;
 *   `none` disables trust evaluation for the tenant (every entity is
 *   reported trusted, with `source: 'disabled'`).
 * - Fail closed: a PDP that is unreachable, slow, or answers badly means
 *   "not trusted", with the reason (`source: 'error'`).
 * - Decisions are cached in the shared cache, keyed by tenant, role, entity,
 *   credential types, the effective policy and the key thumbprint, and
 *   concurrent evaluations of the same key share one PDP call.
 *
 * Security caveat: the decision is about the binding of the entity id to the
 * key given here. The caller must have verified that this key signed what it
 * is about to accept.
 */
export class TrustEvaluator {
  private readonly cache: Cache;
  private readonly http: TrustHttpClient;
  private readonly now: () => number;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly cacheTtlMs: number;
  private readonly errorCacheTtlMs: number;
  private readonly refreshAheadMs: number;
  private readonly discoveryTtlMs: number;
  private readonly bucketMs: number;
  private readonly allowList: ReadonlyArray<{ role: string | null; entityId: string }>;
  private readonly inflight = new Map<string, Promise<TrustDecision>>();
  private readonly endpoints = new Map<string, { endpoint: string; until: number }>();
  /** Parsed cache values by their raw text, so a warm read skips JSON and schema parsing. */
  private readonly parsed = new Map<string, { raw: string; decision: TrustDecision }>();
  private readonly thumbprints = new Map<string, string>();
  /** Decisions read from the shared cache in the last `localCacheMs`, never past their expiry. */
  private readonly recent = new Map<string, { decision: TrustDecision; until: number }>();
  private readonly localCacheMs: number;
  private readonly decisions: Counter<'source' | 'trusted' | 'cached'> | undefined;
  private readonly pdpLatency: Histogram<'outcome'> | undefined;

  constructor(
    private readonly options: TrustEvaluatorOptions,
    private readonly deps: TrustEvaluatorDeps,
  ) {
    this.cache = deps.cache;
    this.http = deps.http;
    this.now = deps.now ?? Date.now;
    this.prefix = options.keyPrefix ?? 'trust:';
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.cacheTtlMs = options.cacheTtlMs ?? 300_000;
    this.errorCacheTtlMs = options.errorCacheTtlMs ?? 5_000;
    this.refreshAheadMs = options.refreshAheadMs ?? 60_000;
    this.discoveryTtlMs = options.discoveryTtlMs ?? 3_600_000;
    this.bucketMs = options.refreshBucketMs ?? 30_000;
    this.localCacheMs = options.localCacheMs ?? 5_000;
    this.allowList = (options.allowList ?? []).map((entry) => {
      const match = /^(credential-issuer|credential-verifier) (.+)$/.exec(entry);
      return match?.[1] && match[2] ? { role: match[1], entityId: match[2] } : { role: null, entityId: entry };
    });
    const registry = deps.metrics;
    this.decisions = metric(
      registry,
      'trust_decisions_total',
      () =>
        new Counter({
          name: 'trust_decisions_total',
          help: 'Trust decisions by source, outcome and whether the cache answered',
          labelNames: ['source', 'trusted', 'cached'],
          registers: registry ? [registry] : [],
        }),
    );
    this.pdpLatency = metric(
      registry,
      'trust_pdp_request_duration_seconds',
      () =>
        new Histogram({
          name: 'trust_pdp_request_duration_seconds',
          help: 'Duration of PDP evaluation calls by outcome (decision, error)',
          labelNames: ['outcome'],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
          registers: registry ? [registry] : [],
        }),
    );
  }

  /**
   * The decision for one query. Throws `ValidationError` for a malformed
   * query; never throws because a PDP failed (that is a "not trusted" decision).
   */
  async evaluate(input: TrustQuery): Promise<TrustDecision> {
    const query = parseTrustQuery(input);
    const resolved = await this.resolve(query.tenantId);
    const decision = await this.decide(query, resolved);
    this.decisions?.inc({ source: decision.source, trusted: String(decision.trusted), cached: String(decision.cached) });
    return decision;
  }

  private async resolve(tenantId: string): Promise<Resolved> {
    const tenantUrl = (await this.deps.tenantPdpUrl?.(tenantId))?.trim();
    if (tenantUrl) {
      if (tenantUrl.toLowerCase() === 'none') return { kind: 'disabled' };
      return /^https?:\/\//i.test(tenantUrl) && URL.canParse(tenantUrl) ? { kind: 'pdp', url: tenantUrl.replace(/\/+$/, '') } : { kind: 'invalid' };
    }
    if (this.options.policy !== 'pdp') return { kind: 'static', policy: this.options.policy };
    return this.options.pdpUrl ? { kind: 'pdp', url: this.options.pdpUrl.replace(/\/+$/, '') } : { kind: 'unconfigured' };
  }

  private async decide(query: TrustQuery, resolved: Resolved): Promise<TrustDecision> {
    switch (resolved.kind) {
      case 'disabled':
        return this.immediate(true, 'disabled', 'trust evaluation is disabled for this tenant');
      case 'unconfigured':
        return this.immediate(false, 'error', 'no trust policy decision point is configured');
      case 'invalid':
        return this.immediate(false, 'error', "not trusted: the tenant's PDP URL is not an http(s) URL");
      case 'static':
        return this.staticDecision(query, resolved.policy);
      case 'pdp': {
        if (!query.key) return this.immediate(false, 'error', 'not trusted: the entity presents no key material to evaluate');
        const key = await this.cacheKey(query, resolved.url);
        const cached = await this.readCached(key);
        if (cached) return cached;
        const running = this.inflight.get(key);
        if (running) return { ...(await running), cached: true };
        const promise = this.askPdp(query, resolved.url, key).finally(() => this.inflight.delete(key));
        this.inflight.set(key, promise);
        return promise;
      }
      default: {
        const unhandled: never = resolved;
        throw new Error(`unhandled trust resolution ${String(unhandled)}`);
      }
    }
  }

  private immediate(trusted: boolean, source: TrustSource, reason: string): TrustDecision {
    const at = new Date(this.now()).toISOString();
    return { trusted, reason, source, evaluatedAt: at, expiresAt: at, cached: false };
  }

  private staticDecision(query: TrustQuery, policy: Exclude<TrustPolicy, 'pdp'>): TrustDecision {
    switch (policy) {
      case 'always':
        return this.immediate(true, 'static', 'static policy: always trusted');
      case 'never':
        return this.immediate(false, 'static', 'static policy: never trusted');
      case 'allowList': {
        const listed = this.allowList.some((e) => e.entityId === query.entityId && (e.role === null || e.role === query.role));
        return this.immediate(listed, 'static', listed ? 'on the allow list' : 'not on the allow list');
      }
      default: {
        const unhandled: never = policy;
        throw new Error(`unhandled static policy ${String(unhandled)}`);
      }
    }
  }

  private async cacheKey(query: TrustQuery, pdpUrl: string): Promise<string> {
    const keyText = JSON.stringify(query.key);
    let thumbprint = this.thumbprints.get(keyText);
    if (thumbprint === undefined) {
      thumbprint = await keyThumbprint(query.key);
      if (this.thumbprints.size >= MEMO_LIMIT) this.thumbprints.clear();
      this.thumbprints.set(keyText, thumbprint);
    }
    const types = [...(query.credentialTypes ?? [])].sort().join('\n');
    const scope = sha(`${pdpUrl}\n${query.entityId}\n${types}\n${JSON.stringify(query.context ?? {})}`);
    return `${this.prefix}d:${query.tenantId}:${query.role}:${scope}:${thumbprint}`;
  }

  private async readCached(key: string): Promise<TrustDecision | null> {
    const now = this.now();
    const local = this.recent.get(key);
    if (local && local.until > now) return { ...local.decision };
    const raw = await this.cache.get(key);
    if (raw === null) return null;
    let decision: TrustDecision;
    const memo = this.parsed.get(key);
    if (memo && memo.raw === raw) {
      decision = memo.decision;
    } else {
      const parsed = zCachedDecision.safeParse(parseJson(raw));
      if (!parsed.success) return null;
      const { query: _query, ...rest } = parsed.data;
      decision = { ...rest, cached: true };
      if (this.parsed.size >= MEMO_LIMIT) this.parsed.clear();
      this.parsed.set(key, { raw, decision });
    }
    if (this.localCacheMs > 0) {
      if (this.recent.size >= MEMO_LIMIT) this.recent.clear();
      this.recent.set(key, { decision, until: Math.min(now + this.localCacheMs, Date.parse(decision.expiresAt)) });
    }
    return { ...decision };
  }

  private async askPdp(query: TrustQuery, pdpUrl: string, key: string): Promise<TrustDecision> {
    const pdp = new URL(pdpUrl).origin;
    const started = this.now();
    const at = new Date(started).toISOString();
    let trusted: boolean;
    let reason: string;
    let source: TrustSource = 'pdp';
    try {
      const endpoint = await this.endpointFor(pdpUrl);
      const response = await this.http.fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(this.authzenRequest(query)),
        accept: ['application/json'],
        timeoutMs: this.timeoutMs,
      });
      if (response.status !== 200) throw new Error(`the PDP answered HTTP ${response.status}`);
      const parsed = zAuthzenResponse.safeParse(response.json());
      if (!parsed.success) throw new Error('the PDP answer is not an AuthZEN decision');
      trusted = parsed.data.decision;
      const detail = pdpReason(parsed.data.context);
      reason = `PDP decision: ${trusted ? 'trusted' : 'not trusted'}${detail ? ` (${detail})` : ''}`;
      this.pdpLatency?.observe({ outcome: 'decision' }, (this.now() - started) / 1000);
    } catch (error) {
      trusted = false;
      source = 'error';
      reason = `not trusted: the PDP could not be asked (${error instanceof Error ? error.message : 'unknown error'})`;
      this.pdpLatency?.observe({ outcome: 'error' }, (this.now() - started) / 1000);
    }
    const ttl = source === 'error' ? this.errorCacheTtlMs : this.cacheTtlMs;
    const expiresAt = new Date(started + ttl).toISOString();
    const decision: TrustDecision = { trusted, reason, source, pdp, evaluatedAt: at, expiresAt, cached: false };
    if (ttl > 0) {
      const { cached: _cached, ...stored } = decision;
      const entry: CachedDecision = { ...stored, query };
      await this.cache.set(key, JSON.stringify(entry), { ttlMs: ttl });
      if (source === 'pdp') await this.index(key, started + ttl);
    }
    return decision;
  }

  /** The AuthZEN evaluation request of the trust profile (draft-johansson-authzen-trust, as go-trust serves it). */
  authzenRequest(query: TrustQuery): Record<string, unknown> {
    return {
      subject: { type: 'key', id: query.entityId },
      resource:
        query.key?.type === 'jwk'
          ? { type: 'jwk', id: query.entityId, key: [query.key.jwk] }
          : { type: 'x5c', id: query.entityId, key: query.key?.x5c ?? [] },
      action: {
        name: query.role,
        ...(query.credentialTypes?.length ? { parameters: { credential_types: query.credentialTypes } } : {}),
      },
      ...(query.context ? { context: query.context } : {}),
    };
  }

  /** The evaluation endpoint: discovered, else `<pdpUrl>/evaluation`. Remembered in-process. */
  private async endpointFor(pdpUrl: string): Promise<string> {
    const known = this.endpoints.get(pdpUrl);
    if (known && known.until > this.now()) return known.endpoint;
    const fallback = `${pdpUrl}/evaluation`;
    let endpoint = fallback;
    const response = await this.http.fetch(`${pdpUrl}/.well-known/authzen-configuration`, {
      accept: ['application/json'],
      timeoutMs: this.timeoutMs,
    });
    if (response.status === 200) {
      const parsed = zAuthzenConfiguration.safeParse(response.json());
      const pdpMatches =
        !parsed.success || parsed.data.policy_decision_point === undefined || parsed.data.policy_decision_point.replace(/\/+$/, '') === pdpUrl;
      if (parsed.success && pdpMatches && parsed.data.access_evaluation_endpoint) endpoint = parsed.data.access_evaluation_endpoint;
    }
    this.endpoints.set(pdpUrl, { endpoint, until: this.now() + this.discoveryTtlMs });
    return endpoint;
  }

  private bucketKey(bucket: number): string {
    return `${this.prefix}due:${bucket}`;
  }

  /** Adds a cached decision to the expiry bucket the refresh job reads (compare-and-set append). */
  private async index(key: string, expiresAt: number): Promise<void> {
    const bucketKey = this.bucketKey(Math.floor(expiresAt / this.bucketMs));
    const ttlMs = expiresAt - this.now() + 2 * this.bucketMs;
    for (let attempt = 0; attempt < 8; attempt++) {
      const current = await this.cache.get(bucketKey);
      const keys = current === null ? [] : (zKeyList.safeParse(parseJson(current)).data ?? []);
      if (keys.includes(key)) return;
      if (await this.cache.compareAndSet(bucketKey, current, JSON.stringify([...keys, key]), { ttlMs })) return;
    }
  }

  /**
   * Re-evaluates cached PDP decisions that expire within `refreshAheadMs`, so
   * hot entities never wait for a PDP call. Each expiry bucket is taken
   * atomically, so concurrent runs on several replicas do not repeat work. A
   * failed re-evaluation leaves the cached decision to expire normally.
   */
  async refreshDue(): Promise<number> {
    const now = this.now();
    let refreshed = 0;
    const first = Math.floor(now / this.bucketMs) - 1;
    const last = Math.floor((now + this.refreshAheadMs) / this.bucketMs);
    for (let bucket = first; bucket <= last; bucket++) {
      const raw = await this.cache.take(this.bucketKey(bucket));
      if (raw === null) continue;
      for (const key of new Set(zKeyList.safeParse(parseJson(raw)).data ?? [])) {
        const entryRaw = await this.cache.get(key);
        if (entryRaw === null) continue;
        const entry = zCachedDecision.safeParse(parseJson(entryRaw));
        if (!entry.success || entry.data.source !== 'pdp') continue;
        const expiresAt = Date.parse(entry.data.expiresAt);
        if (expiresAt - now > this.refreshAheadMs) {
          await this.index(key, expiresAt);
          continue;
        }
        const resolved = await this.resolve(entry.data.query.tenantId);
        if (resolved.kind !== 'pdp') continue;
        const fresh = await this.askPdpKeepingOld(entry.data.query, resolved.url, key, entry.data, entryRaw);
        if (fresh) refreshed++;
      }
    }
    return refreshed;
  }

  /** Like `askPdp`, but when the PDP fails the old cached decision stays. */
  private async askPdpKeepingOld(query: TrustQuery, pdpUrl: string, key: string, old: CachedDecision, oldRaw: string): Promise<boolean> {
    const keyNow = await this.cacheKey(query, pdpUrl);
    if (keyNow !== key) return false; // the tenant's PDP changed; the old entry simply expires
    const decision = await this.askPdp(query, pdpUrl, key);
    if (decision.source === 'error') {
      const remaining = Date.parse(old.expiresAt) - this.now();
      if (remaining > 0) await this.cache.set(key, oldRaw, { ttlMs: remaining });
      return false;
    }
    return true;
  }
}
