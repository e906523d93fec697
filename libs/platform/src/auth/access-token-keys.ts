import { GLOBAL_SCOPE, UnavailableError } from '@wallet/domain';
import { Collections, type Store } from '@wallet/persistence';
import { importJWK, type JWK, type KeyLike } from 'jose';
import { request } from 'undici';
import { z } from 'zod';

/** The key ring purpose of auth's access-token signing keys. */
export const ACCESS_TOKEN_KEY_PURPOSE = 'auth-access-token';

/** Asymmetric algorithms an access token may use. HMAC and `none` never appear here. */
export const ACCESS_TOKEN_ALGS = ['ES256', 'EdDSA', 'RS256'] as const;

export interface VerificationKey {
  key: KeyLike | Uint8Array;
  alg: string;
}

/** Where the guard gets auth's public keys. */
export interface AccessTokenKeys {
  /** The key for a `kid`, or null when auth does not publish it (after one rate-limited reload). */
  key(kid: string): Promise<VerificationKey | null>;
}

/** A JWKS loader: auth's endpoint, or the store auth's key ring writes to. */
export type JwksLoader = () => Promise<JWK[]>;

export interface CachedJwksOptions {
  /** Least time between reloads triggered by an unknown `kid`. */
  minReloadIntervalMs: number;
  /** Reload after this long even when every `kid` is known (catches retired keys). */
  maxAgeMs: number;
  now?: () => number;
}

/**
 * Imported public keys by `kid`. An unknown `kid` triggers a reload, at most
 * once per `minReloadIntervalMs`, so tokens with invented kids cannot make a
 * service hammer auth or the store. Concurrent misses share one reload.
 */
export class CachedJwks implements AccessTokenKeys {
  private keys = new Map<string, VerificationKey>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private reloading: Promise<void> | null = null;
  private readonly now: () => number;

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
    const age = this.now() - this.loadedAt;
    const known = this.keys.get(kid);
    if (known && age < this.options.maxAgeMs) return known;
    if (!known && age < this.options.minReloadIntervalMs) return null;
    try {
      await this.reload();
    } catch (error) {
      // Auth or the store is unreachable: keep verifying with the keys we have.
      if (known) return known;
      throw new UnavailableError("auth's public keys", { cause: error });
    }
    return this.keys.get(kid) ?? null;
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
      const alg = jwk.alg;
      if (!jwk.kid || !alg || !(ACCESS_TOKEN_ALGS as readonly string[]).includes(alg)) continue;
      if (jwk.d !== undefined || jwk.k !== undefined) continue; // never a private or symmetric key
      try {
        next.set(jwk.kid, { key: await importJWK(jwk, alg), alg });
      } catch {
        // A malformed key is skipped; tokens that name it fail as "unknown key".
      }
    }
    this.keys = next;
  }
}

/** The public keys auth's key ring stored: for services that share auth's store (and the all-in-one). */
export function storedJwksLoader(store: Store): JwksLoader {
  return async () => {
    const repository = store.repository(Collections.serviceKeys);
    const out: JWK[] = [];
    let cursor: string | undefined;
    const now = Date.now();
    do {
      const page = await repository.list(GLOBAL_SCOPE, {
        where: { purpose: ACCESS_TOKEN_KEY_PURPOSE },
        limit: 1000,
        ...(cursor ? { cursor } : {}),
      });
      for (const record of page.items) {
        const published = record.status === 'active' || (record.publishUntil !== null && Date.parse(record.publishUntil) > now);
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
    const response = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`JWKS endpoint answered ${response.statusCode}`);
    }
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_JWKS_BYTES) {
        response.body.destroy();
        throw new Error('JWKS document is too large');
      }
      chunks.push(chunk as Buffer);
    }
    const parsed = zJwks.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    return parsed.keys as unknown as JWK[];
  };
}
