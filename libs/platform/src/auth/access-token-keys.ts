import { publishedRingKeys } from '@wallet/crypto';
import { GLOBAL_SCOPE, UnavailableError } from '@wallet/domain';
import { Collections, type Store } from '@wallet/persistence';
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { fetchOperatorJson } from '../http/operator-fetch';
import { z } from 'zod';

/** The key ring purpose of auth's access-token signing keys. */
export const ACCESS_TOKEN_KEY_PURPOSE = 'auth-access-token';

/** Asymmetric algorithms an access token may use. HMAC and `none` never appear here. */
export const ACCESS_TOKEN_ALGS = ['ES256', 'EdDSA', 'RS256'] as const;

export interface VerificationKey {
  /** A public key whose type fits `alg` (P-256 for ES256, Ed25519 for EdDSA, RSA of 2048+ bits for RS256). */
  key: KeyObject;
  alg: (typeof ACCESS_TOKEN_ALGS)[number];
}

/** Imports a public JWK for `alg`; null when the key does not fit the algorithm. */
export function importVerificationKey(jwk: JWK, alg: string): VerificationKey | null {
  if (!(ACCESS_TOKEN_ALGS as readonly string[]).includes(alg)) return null;
  if (jwk.d !== undefined || jwk.k !== undefined) return null; // never a private or symmetric key
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch {
    return null;
  }
  const details = key.asymmetricKeyDetails ?? {};
  const fits =
    (alg === 'ES256' && key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') ||
    (alg === 'EdDSA' && key.asymmetricKeyType === 'ed25519') ||
    (alg === 'RS256' && key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= 2048);
  return fits ? { key, alg: alg as VerificationKey['alg'] } : null;
}

/** Where the guard gets auth's public keys. */
export interface AccessTokenKeys {
  /** The key for a `kid`, or null when auth does not publish it (after one rate-limited reload). */
  key(kid: string): Promise<VerificationKey | null>;
}

/** A JWKS loader: auth's endpoint, or the store auth's key ring writes to. */
export type JwksLoader = () => Promise<JWK[]>;

export interface CachedJwksOptions {
  /**
   * The window of the reload budget: within it, each unknown `kid` may
   * trigger one reload, and all of them together at most `reloadBurst`.
   */
  minReloadIntervalMs: number;
  /** Reloads unknown kids may trigger per window (default 3). */
  reloadBurst?: number;
  /** Reload after this long even when every `kid` is known (catches retired keys). */
  maxAgeMs: number;
  now?: () => number;
}

/**
 * Imported public keys by `kid`. A `kid` not seen before triggers a reload at
 * once (a freshly rotated key is picked up by the first token it signed), but
 * each kid only once per window and all kids together at most `reloadBurst`
 * times per window, so tokens with invented kids cannot make a service hammer
 * auth or the store. Concurrent misses share one reload.
 */
export class CachedJwks implements AccessTokenKeys {
  private keys = new Map<string, VerificationKey>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private reloading: Promise<void> | null = null;
  private readonly now: () => number;
  private windowStart = Number.NEGATIVE_INFINITY;
  private reloadsInWindow = 0;
  private readonly missed = new Set<string>();

  constructor(
    private readonly load: JwksLoader,
    private readonly options: CachedJwksOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  async key(kid: string): Promise<VerificationKey | null> {
    // A load in flight (the first one after start, say) decides; answering "unknown key" before
    // it finishes refused every token of the first burst of concurrent requests.
    if (this.reloading && !this.keys.has(kid)) await this.reloading.catch(() => undefined);
    const now = this.now();
    const age = now - this.loadedAt;
    const known = this.keys.get(kid);
    if (known && age < this.options.maxAgeMs) return known;
    if (!known && !this.mayReloadFor(kid, now)) return null;
    try {
      await this.reload();
    } catch (error) {
      // Auth or the store is unreachable: keep verifying with the keys we have.
      if (known) return known;
      throw new UnavailableError("auth's public keys", { cause: error });
    }
    return this.keys.get(kid) ?? null;
  }

  private mayReloadFor(kid: string, now: number): boolean {
    if (now - this.windowStart >= this.options.minReloadIntervalMs) {
      this.windowStart = now;
      this.reloadsInWindow = 0;
      this.missed.clear();
    }
    if (this.loadedAt === Number.NEGATIVE_INFINITY) return true; // first use: nothing loaded yet
    if (this.missed.has(kid) || this.reloadsInWindow >= (this.options.reloadBurst ?? 3)) return false;
    if (this.missed.size < 1000) this.missed.add(kid);
    this.reloadsInWindow++;
    return true;
  }

  private reload(): Promise<void> {
    this.reloading ??= this.doReload().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  private async doReload(): Promise<void> {
    // Count a failed load as a load too: an unreachable auth must not be retried on every request.
    this.loadedAt = this.now();
    const next = new Map<string, VerificationKey>();
    for (const jwk of await this.load()) {
      if (!jwk.kid || !jwk.alg) continue;
      // A malformed key, or one that does not fit its alg, is skipped: tokens naming it fail as "unknown key".
      const imported = importVerificationKey(jwk, jwk.alg);
      if (imported) next.set(jwk.kid, imported);
    }
    this.keys = next;
  }
}

/**
 * The public keys auth's key ring stored: for services that share auth's store
 * (and the all-in-one). The same keys auth's JWKS lists (`publishedRingKeys`),
 * including the next key before it signs. Before auth has created its ring (a
 * store written by an older auth), the per-key records.
 */
export function storedJwksLoader(store: Store): JwksLoader {
  return async () => {
    const now = new Date();
    const ring = await store.repository(Collections.keyRings).get(GLOBAL_SCOPE, ACCESS_TOKEN_KEY_PURPOSE);
    if (ring) return publishedRingKeys(ring.keys, now);
    const repository = store.repository(Collections.serviceKeys);
    const out: JWK[] = [];
    let cursor: string | undefined;
    do {
      const page = await repository.list(GLOBAL_SCOPE, {
        where: { purpose: ACCESS_TOKEN_KEY_PURPOSE },
        limit: 1000,
        ...(cursor ? { cursor } : {}),
      });
      for (const record of page.items) {
        const published = record.status === 'active' || (record.publishUntil !== null && Date.parse(record.publishUntil) > now.getTime());
        if (!published) continue;
        const { d: _d, ...pub } = record.publicJwk as unknown as JWK;
        out.push({ ...pub, kid: record.id, alg: record.alg });
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return out;
  };
}

const zJwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())).max(100) });
const MAX_JWKS_BYTES = 256 * 1024;

/**
 * Auth's JWKS over HTTP (`auth.jwksUrl`, set by the operator). The URL is
 * configuration, not user input, so this is not the guarded outbound client's
 * job; still: no redirects, timeouts, a size cap and a shape check.
 */
export function remoteJwksLoader(url: string, timeoutMs = 5000): JwksLoader {
  return async () => {
    const { status, body } = await fetchOperatorJson(url, { timeoutMs, maxBytes: MAX_JWKS_BYTES });
    if (status !== 200) throw new Error(`JWKS endpoint answered ${status}`);
    return zJwks.parse(body).keys as unknown as JWK[];
  };
}
