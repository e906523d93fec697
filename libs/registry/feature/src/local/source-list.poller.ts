import type { Cache } from '@wallet/cache';
import type { OutboundClient } from '@wallet/platform';
import type { LocalTypeMetadataStore } from './local-type-metadata.store';
import { parseTypeMetadataDocument } from './local-type-metadata.store';

export interface SourcePollResult {
  /** Documents stored or updated. */
  updated: number;
  /** Source-list records removed because their list no longer has them. */
  removed: number;
  /** Sources that failed, with the reason (their records stay). */
  failed: Array<{ source: string; reason: string }>;
}

/**
 * Polls the configured source lists (JSON arrays of type metadata documents,
 * or `{ "items": [...] }`) into the registry's store. One replica polls at a
 * time (a cache lock); a failing source keeps its previous records. Local
 * registrations are never overwritten.
 */
export class SourceListPoller {
  constructor(
    private readonly sources: readonly string[],
    private readonly deps: {
      http: Pick<OutboundClient, 'fetch'>;
      cache: Cache;
      store: LocalTypeMetadataStore;
      /** Called for every vct whose stored copy changed, to drop cached resolutions. */
      changed: (vct: string) => Promise<void>;
      maxBytes: number;
    },
  ) {}

  async pollOnce(): Promise<SourcePollResult> {
    const result: SourcePollResult = { updated: 0, removed: 0, failed: [] };
    if (this.sources.length === 0) return result;
    const lock = await this.deps.cache.acquireLock('registry:source-poll', 60_000);
    if (!lock) return result;
    try {
      for (const source of this.sources) {
        try {
          const response = await this.deps.http.fetch(source, {
            accept: ['application/json', 'application/*+json'],
            maxBytes: this.deps.maxBytes,
          });
          if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
          const body = response.json();
          const items = Array.isArray(body) ? body : (body as { items?: unknown })?.items;
          if (!Array.isArray(items)) throw new Error('not a list of type metadata');
          const seen = new Set<string>();
          for (const item of items.slice(0, 10_000)) {
            let doc;
            try {
              doc = parseTypeMetadataDocument(item);
            } catch {
              continue; // one bad entry does not spoil the list
            }
            seen.add(doc.vct);
            const { stored } = await this.deps.store.put(doc, 'source-list', source);
            if (stored) {
              result.updated++;
              await this.deps.changed(doc.vct);
            }
          }
          for (const vct of await this.deps.store.pruneSource(source, seen)) {
            result.removed++;
            await this.deps.changed(vct);
          }
        } catch (error) {
          result.failed.push({ source, reason: error instanceof Error ? error.message : 'failed' });
        }
      }
    } finally {
      await lock.release();
    }
    return result;
  }
}
