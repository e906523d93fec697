import type { Cache, Lock } from '@wallet/cache';
import { NotFoundError, ValidationError, WalletError, isWalletError } from '@wallet/domain';
import type { OutboundClient, OutboundResponse } from '@wallet/platform';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { digestsOf, isIntegrityString, matchesIntegrity } from './verify-integrity';

export type TypeMetadata = Record<string, unknown>;

/** How the answer was produced; sent as `X-Registry-Cache`. */
export type CacheStatus = 'hit' | 'miss' | 'revalidated' | 'stale' | 'local';

export interface ResolvedTypeMetadata {
  vct: string;
  /** The type metadata with its `extends` chain merged in and every image embedded as a data URI. */
  metadata: TypeMetadata;
  cache: CacheStatus;
  /** Strong ETag of `metadata`. */
  etag: string;
  /** When the registry fetched (or registered) it, ms since the epoch. */
  fetchedAt: number;
  /** Seconds a client may reuse the answer (0 when stale). */
  maxAgeSeconds: number;
}

export interface TypeMetadataResolverOptions {
  defaultTtlMs: number;
  minTtlMs: number;
  maxTtlMs: number;
  staleMaxMs: number;
  maxExtendsDepth: number;
  maxDocumentBytes: number;
  maxImageBytes: number;
  imageTypes: readonly string[];
  /** Prefix of shared cache keys (default `registry:`). */
  keyPrefix?: string;
  /** How long a replica waits for another replica's fetch of the same vct (default 10 s). */
  lockWaitMs?: number;
  /**
   * How long a fresh entry read from the shared cache is reused in-process
   * without asking the cache again (default 1 s; 0: always ask). Local
   * registrations on other replicas show after at most this long.
   */
  localCacheMs?: number;
}

export interface TypeMetadataResolverDeps {
  http: Pick<OutboundClient, 'fetch'>;
  /** The shared cache: resolved metadata is shared by every replica. */
  cache: Cache;
  /** Locally registered (or source-list) metadata for a vct; it wins over remote copies. */
  local: (vct: string) => Promise<TypeMetadata | null>;
  now?: () => number;
}

const zEntry = z.object({
  vct: z.string(),
  origin: z.enum(['local', 'remote']),
  metadata: z.record(z.string(), z.unknown()),
  digests: z.object({ sha256: z.string(), sha384: z.string(), sha512: z.string() }).nullable(),
  url: z.string().nullable(),
  upstreamEtag: z.string().nullable(),
  upstreamLastModified: z.string().nullable(),
  etag: z.string(),
  fetchedAt: z.number(),
  freshUntil: z.number(),
  staleUntil: z.number(),
});
type Entry = z.infer<typeof zEntry>;

const DOC_TYPES = ['application/json', 'application/*+json'] as const;

/** A failure caused by what an upstream served (the registry answers 502 with the reason). */
export function upstreamError(reason: string, message: string, cause?: unknown): WalletError {
  return new WalletError('bad_gateway', message, { cause, details: { reason } });
}

const sha = (value: string): string => createHash('sha256').update(value).digest('base64url');

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Candidate URLs of a vct: the URL itself, then the well-known form `/.well-known/vct/<path>`. */
export function metadataUrls(vct: string): string[] {
  const url = new URL(vct);
  const path = url.pathname === '/' ? '' : url.pathname;
  return [vct, `${url.origin}/.well-known/vct${path}${url.search}`];
}

function isFetchable(vct: string): boolean {
  return /^https?:\/\//i.test(vct) && URL.canParse(vct);
}

/** Freshness from `Cache-Control`, within the configured bounds. */
export function freshnessMs(cacheControl: string | undefined, options: Pick<TypeMetadataResolverOptions, 'defaultTtlMs' | 'minTtlMs' | 'maxTtlMs'>): number {
  const clamp = (ms: number) => Math.min(options.maxTtlMs, Math.max(options.minTtlMs, ms));
  if (!cacheControl) return clamp(options.defaultTtlMs);
  const directives = cacheControl.toLowerCase().split(',').map((d) => d.trim());
  if (directives.some((d) => d === 'no-store' || d === 'no-cache')) return options.minTtlMs;
  const age = directives.map((d) => /^(?:s-maxage|max-age)=(\d+)$/.exec(d)?.[1]).find((v) => v !== undefined);
  return clamp(age === undefined ? options.defaultTtlMs : Number(age) * 1000);
}

/** Merges an extending type over the type it extends: the child wins, claims merge by path. */
export function mergeTypeMetadata(parent: TypeMetadata, child: TypeMetadata): TypeMetadata {
  const merged: TypeMetadata = { ...parent, ...child };
  const parentClaims = Array.isArray(parent['claims']) ? parent['claims'] : [];
  const childClaims = Array.isArray(child['claims']) ? child['claims'] : [];
  if (parentClaims.length + childClaims.length > 0) {
    const byPath = new Map<string, unknown>();
    for (const claim of [...parentClaims, ...childClaims]) {
      byPath.set(JSON.stringify(isObject(claim) ? claim['path'] : claim), claim);
    }
    merged['claims'] = [...byPath.values()];
  }
  if (child['display'] === undefined && parent['display'] !== undefined) merged['display'] = parent['display'];
  return merged;
}

/**
 * Resolves SD-JWT VC type metadata for a `vct`: locally registered metadata
 * first; otherwise the https document (the vct URL, then its well-known
 * form), checked against the referrer's `vct#integrity`, with its `extends`
 * chain fetched (each link checked against `extends#integrity`, with cycle
 * and depth limits) and merged, and every image `uri` embedded as a data URI
 * after its `uri#integrity`, size and content type are checked.
 *
 * Cached in the shared cache with the upstream validators: fresh copies are
 * served as they are; stale ones are revalidated (`If-None-Match`,
 * `If-Modified-Since`) and served as `stale` while the upstream fails, up to
 * `staleMaxMs`. Concurrent resolutions of one vct in this process share one
 * fetch, and replicas coordinate through a cache lock (one fetches, the
 * others wait for its result in the shared cache).
 *
 * Security caveat: the metadata is third-party content. Integrity strings
 * prove it is the document the referrer meant, not that it is benign; SVG
 * templates in particular must be rendered as images, never inlined.
 */
export class TypeMetadataResolver {
  private readonly prefix: string;
  private readonly now: () => number;
  private readonly inflight = new Map<string, Promise<Entry>>();
  /** Parsed cache values by their raw text, so a warm read skips JSON and schema parsing. */
  private readonly parsed = new Map<string, { raw: string; entry: Entry }>();
  private readonly recent = new Map<string, { entry: Entry; until: number }>();

  constructor(
    private readonly options: TypeMetadataResolverOptions,
    private readonly deps: TypeMetadataResolverDeps,
  ) {
    this.prefix = options.keyPrefix ?? 'registry:';
    this.now = deps.now ?? Date.now;
  }

  private cacheKey(vct: string): string {
    return `${this.prefix}tm:${sha(vct)}`;
  }

  /** Forgets the cached copy (after a local registration changed). */
  async invalidate(vct: string): Promise<void> {
    this.recent.delete(this.cacheKey(vct));
    await this.deps.cache.delete(this.cacheKey(vct));
  }

  async resolve(vct: string, integrity?: string): Promise<ResolvedTypeMetadata> {
    if (vct.length === 0 || vct.length > 2048) throw new ValidationError('vct must be 1 to 2048 characters', [{ path: '/vct', message: 'invalid length' }]);
    if (integrity !== undefined && !isIntegrityString(integrity)) {
      throw new ValidationError('integrity must be a W3C SRI string (sha256-, sha384- or sha512-<base64>)', [
        { path: '/integrity', message: 'not an SRI string' },
      ]);
    }
    const key = this.cacheKey(vct);
    const now = this.now();
    const recent = this.recent.get(key);
    const cached = recent && recent.until > now ? recent.entry : await this.readEntry(key);
    const localMs = this.options.localCacheMs ?? 1_000;
    if (cached && cached !== recent?.entry && localMs > 0 && (cached.origin === 'local' || now < cached.freshUntil)) {
      if (this.recent.size >= 1_000) this.recent.clear();
      this.recent.set(key, { entry: cached, until: Math.min(now + localMs, cached.origin === 'local' ? Infinity : cached.freshUntil) });
    }
    if (cached && (cached.origin === 'local' || now < cached.freshUntil)) {
      if (this.integrityOk(cached, integrity)) return this.answer(cached, cached.origin === 'local' ? 'local' : 'hit');
      // The referrer expects another document: maybe the upstream changed since we cached it.
      return this.answer(this.checked(await this.shared(key, cached, () => this.load(vct, null)), integrity), 'miss');
    }
    try {
      const entry = await this.shared(key, cached, () => this.load(vct, cached));
      const status: CacheStatus = entry.origin === 'local' ? 'local' : cached && entry.fetchedAt === cached.fetchedAt ? 'revalidated' : 'miss';
      return this.answer(this.checked(entry, integrity), status);
    } catch (error) {
      const upstreamFailed = isWalletError(error) && error.code === 'bad_gateway';
      if (cached && upstreamFailed && now < cached.staleUntil && this.integrityOk(cached, integrity)) {
        return this.answer(cached, 'stale');
      }
      throw error;
    }
  }

  private integrityOk(entry: Entry, integrity: string | undefined): boolean {
    // Admin-registered metadata is trusted as registered; there are no upstream bytes to hash.
    if (integrity === undefined || entry.origin === 'local' || entry.digests === null) return true;
    return matchesIntegrity(integrity, entry.digests);
  }

  private checked(entry: Entry, integrity: string | undefined): Entry {
    if (!this.integrityOk(entry, integrity)) {
      throw upstreamError('integrity_mismatch', `the type metadata of this vct does not match vct#integrity`);
    }
    return entry;
  }

  private answer(entry: Entry, cache: CacheStatus): ResolvedTypeMetadata {
    const remaining = cache === 'stale' ? 0 : Math.max(0, Math.floor((entry.freshUntil - this.now()) / 1000));
    return {
      vct: entry.vct,
      metadata: entry.metadata,
      cache,
      etag: entry.etag,
      fetchedAt: entry.fetchedAt,
      maxAgeSeconds: entry.origin === 'local' ? Math.floor(this.options.minTtlMs / 1000) : remaining,
    };
  }

  private async readEntry(key: string): Promise<Entry | null> {
    const raw = await this.deps.cache.get(key);
    if (raw === null) return null;
    const memo = this.parsed.get(key);
    if (memo && memo.raw === raw) return memo.entry;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return null; // a corrupt cache value is a miss
    }
    const parsed = zEntry.safeParse(json);
    if (!parsed.success) return null;
    if (this.parsed.size >= 1_000) this.parsed.clear();
    this.parsed.set(key, { raw, entry: parsed.data });
    return parsed.data;
  }

  /**
   * One load per key at a time: in this process, later callers share the
   * promise; across replicas, a cache lock lets one fetch while the others
   * wait (up to `lockWaitMs`) for its result to appear in the shared cache.
   */
  private shared(key: string, before: Entry | null, load: () => Promise<Entry>): Promise<Entry> {
    const running = this.inflight.get(key);
    if (running) return running;
    const promise = this.loadOnce(key, before, load).finally(() => this.inflight.delete(key));
    this.inflight.set(key, promise);
    return promise;
  }

  private async loadOnce(key: string, before: Entry | null, load: () => Promise<Entry>): Promise<Entry> {
    const waitMs = this.options.lockWaitMs ?? 10_000;
    const lockName = `${key}:fetch`;
    const changed = (entry: Entry | null): entry is Entry =>
      entry !== null && (!before || entry.fetchedAt !== before.fetchedAt || entry.freshUntil !== before.freshUntil);
    const underLock = async (lock: Lock): Promise<Entry> => {
      try {
        return await load();
      } finally {
        await lock.release();
      }
    };
    const lock = await this.deps.cache.acquireLock(lockName, waitMs + 5_000);
    if (lock) return underLock(lock);
    // Another replica is fetching. Real time, not the injected clock: this waits for it.
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const entry = await this.readEntry(key);
      if (changed(entry)) return entry;
      const mine = await this.deps.cache.acquireLock(lockName, waitMs + 5_000);
      if (mine) {
        // The other replica finished or failed; its result may have landed just now.
        const landed = await this.readEntry(key);
        if (changed(landed)) {
          await mine.release();
          return landed;
        }
        return underLock(mine);
      }
    }
    return load();
  }

  private async load(vct: string, previous: Entry | null): Promise<Entry> {
    const key = this.cacheKey(vct);
    const local = await this.deps.local(vct);
    const now = this.now();
    if (local) {
      const metadata = await this.complete(vct, local, 0, new Set([vct]));
      return this.store(key, {
        vct,
        origin: 'local',
        metadata,
        digests: null,
        url: null,
        upstreamEtag: null,
        upstreamLastModified: null,
        etag: etagOf(metadata),
        fetchedAt: now,
        freshUntil: now + this.options.maxTtlMs,
        staleUntil: now + this.options.maxTtlMs,
      });
    }
    if (!isFetchable(vct)) throw new NotFoundError('type metadata for this vct');
    const conditional = previous?.origin === 'remote' && previous.url ? previous : null;
    const fetched = await this.fetchDocument(vct, conditional);
    if (fetched.notModified && conditional) {
      const ttl = freshnessMs(fetched.response.headers['cache-control'], this.options);
      return this.store(key, { ...conditional, freshUntil: now + ttl, staleUntil: now + ttl + this.options.staleMaxMs });
    }
    const document = this.parseDocument(fetched.response, vct);
    const metadata = await this.complete(vct, document, 0, new Set([vct]));
    const ttl = freshnessMs(fetched.response.headers['cache-control'], this.options);
    return this.store(key, {
      vct,
      origin: 'remote',
      metadata,
      digests: digestsOf(fetched.response.body),
      url: fetched.response.url,
      upstreamEtag: fetched.response.headers['etag'] ?? null,
      upstreamLastModified: fetched.response.headers['last-modified'] ?? null,
      etag: etagOf(metadata),
      fetchedAt: now,
      freshUntil: now + ttl,
      staleUntil: now + ttl + this.options.staleMaxMs,
    });
  }

  private async store(key: string, entry: Entry): Promise<Entry> {
    await this.deps.cache.set(key, JSON.stringify(entry), { ttlMs: Math.max(1, entry.staleUntil - this.now()) });
    return entry;
  }

  /** GETs the document: the vct URL, then the well-known form on 404; conditional when revalidating. */
  private async fetchDocument(
    vct: string,
    previous: Entry | null,
  ): Promise<{ response: OutboundResponse; notModified: boolean }> {
    const urls = previous?.url ? [previous.url] : metadataUrls(vct);
    for (const url of urls) {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (previous?.upstreamEtag) headers['if-none-match'] = previous.upstreamEtag;
      if (previous?.upstreamLastModified) headers['if-modified-since'] = previous.upstreamLastModified;
      const response = await this.deps.http.fetch(url, { headers, accept: DOC_TYPES, maxBytes: this.options.maxDocumentBytes });
      if (response.status === 304 && previous) return { response, notModified: true };
      if (response.status === 200) return { response, notModified: false };
      if (response.status !== 404 && response.status !== 410) {
        throw upstreamError('upstream_status', `the type metadata host answered HTTP ${response.status}`);
      }
    }
    throw new NotFoundError('type metadata for this vct');
  }

  private parseDocument(response: OutboundResponse, expectedVct: string): TypeMetadata {
    let document: unknown;
    try {
      document = response.json();
    } catch (error) {
      throw upstreamError('invalid_metadata', 'the type metadata is not JSON', error);
    }
    if (!isObject(document)) throw upstreamError('invalid_metadata', 'the type metadata is not a JSON object');
    if (document['vct'] !== expectedVct) {
      throw upstreamError('invalid_metadata', 'the type metadata names another vct than the one it was fetched for');
    }
    return document;
  }

  /** Resolves `extends` (recursively) and embeds images; `depth` counts links followed so far. */
  private async complete(vct: string, document: TypeMetadata, depth: number, seen: Set<string>): Promise<TypeMetadata> {
    let merged = document;
    const parentVct = document['extends'];
    if (parentVct !== undefined) {
      if (typeof parentVct !== 'string' || parentVct.length === 0 || parentVct.length > 2048) {
        throw upstreamError('invalid_metadata', 'extends must be a vct string');
      }
      if (seen.has(parentVct)) throw upstreamError('extends_cycle', 'the extends chain of this vct has a cycle');
      if (depth + 1 > this.options.maxExtendsDepth) {
        throw upstreamError('extends_too_deep', `the extends chain is longer than ${this.options.maxExtendsDepth}`);
      }
      const parent = await this.parentDocument(parentVct, document['extends#integrity']);
      const resolvedParent = await this.complete(parentVct, parent, depth + 1, new Set([...seen, parentVct]));
      merged = mergeTypeMetadata(resolvedParent, document);
    }
    return depth === 0 ? this.embedImages(merged) : merged;
  }

  private async parentDocument(vct: string, integrity: unknown): Promise<TypeMetadata> {
    const local = await this.deps.local(vct);
    if (local) return local;
    if (!isFetchable(vct)) throw upstreamError('extends_not_found', 'a type this vct extends is not known');
    let fetched: { response: OutboundResponse };
    try {
      fetched = await refused('a type this vct extends', () => this.fetchDocument(vct, null));
    } catch (error) {
      if (isWalletError(error) && error.code === 'not_found') {
        throw upstreamError('extends_not_found', 'a type this vct extends was not found upstream', error);
      }
      throw error;
    }
    if (integrity !== undefined) {
      if (typeof integrity !== 'string' || !matchesIntegrity(integrity, digestsOf(fetched.response.body))) {
        throw upstreamError('integrity_mismatch', 'an extended type does not match extends#integrity');
      }
    }
    return this.parseDocument(fetched.response, vct);
  }

  /** Replaces every image `uri` in `display[].rendering` with a data URI. */
  private async embedImages(metadata: TypeMetadata): Promise<TypeMetadata> {
    const display = metadata['display'];
    if (!Array.isArray(display)) return metadata;
    const fetches = new Map<string, Promise<{ type: string; bytes: Buffer }>>();
    const embed = async (image: unknown): Promise<unknown> => {
      if (!isObject(image) || typeof image['uri'] !== 'string') return image;
      const uri = image['uri'];
      const integrity = image['uri#integrity'];
      if (integrity !== undefined && (typeof integrity !== 'string' || !isIntegrityString(integrity))) {
        throw upstreamError('invalid_metadata', 'uri#integrity is not an SRI string');
      }
      let fetch = fetches.get(uri);
      if (!fetch) {
        fetch = refused('an image', () => this.fetchImage(uri));
        fetches.set(uri, fetch);
      }
      const { type, bytes } = await fetch;
      if (typeof integrity === 'string' && !matchesIntegrity(integrity, digestsOf(bytes))) {
        throw upstreamError('integrity_mismatch', 'an image does not match its uri#integrity');
      }
      return { ...image, uri: `data:${type};base64,${bytes.toString('base64')}` };
    };
    const out = await Promise.all(
      display.map(async (entry) => {
        if (!isObject(entry) || !isObject(entry['rendering'])) return entry;
        const rendering = { ...entry['rendering'] };
        if (isObject(rendering['simple'])) {
          const simple = { ...rendering['simple'] };
          if (simple['logo'] !== undefined) simple['logo'] = await embed(simple['logo']);
          if (simple['background_image'] !== undefined) simple['background_image'] = await embed(simple['background_image']);
          rendering['simple'] = simple;
        }
        if (Array.isArray(rendering['svg_templates'])) {
          rendering['svg_templates'] = await Promise.all(rendering['svg_templates'].map(embed));
        }
        return { ...entry, rendering };
      }),
    );
    return { ...metadata, display: out };
  }

  private async fetchImage(uri: string): Promise<{ type: string; bytes: Buffer }> {
    const data = /^data:([^;,]+)(;base64)?,(.*)$/s.exec(uri);
    if (data) {
      const [, mediaType = '', base64, payload = ''] = data;
      const type = mediaType.toLowerCase();
      let bytes: Buffer;
      try {
        bytes = base64 ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload), 'utf8');
      } catch (error) {
        throw upstreamError('invalid_metadata', 'an image data URI is malformed', error);
      }
      if (!this.options.imageTypes.includes(type)) throw upstreamError('content_type', `image type ${type} is not accepted`);
      if (bytes.length > this.options.maxImageBytes) throw upstreamError('too_large', 'an embedded image is too large');
      return { type, bytes };
    }
    if (!/^https?:\/\//i.test(uri)) throw upstreamError('invalid_metadata', 'an image uri is neither https nor data');
    const response = await this.deps.http.fetch(uri, { accept: this.options.imageTypes, maxBytes: this.options.maxImageBytes });
    if (response.status !== 200) throw upstreamError('upstream_status', `an image host answered HTTP ${response.status}`);
    return { type: response.contentType ?? 'application/octet-stream', bytes: response.body };
  }
}

/** A URL found inside upstream content that the outbound guard refuses is the upstream's fault: 502, not 400. */
async function refused<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isWalletError(error) && error.code === 'validation_failed') {
      throw upstreamError('blocked_reference', `${what} points to a URL the registry may not fetch (${error.message})`, error);
    }
    throw error;
  }
}

function etagOf(metadata: TypeMetadata): string {
  return `"${sha(JSON.stringify(metadata)).slice(0, 32)}"`;
}
