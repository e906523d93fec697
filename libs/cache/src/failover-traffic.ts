import { sleep } from './cache.contract';
import type { Cache } from './ports';

/** What `writeTraffic` saw so far. */
export interface WriteTraffic {
  /** Writes that succeeded. */
  readonly ok: number;
  /** Writes that failed (each after at most the cache's command timeout). */
  readonly failed: number;
  /** The value of the last write that succeeded (values count up from 1). */
  readonly last: number;
  /** Longest time between two successful writes, in ms: how long the cache could not write. */
  readonly longestGapMs: number;
  stop(): Promise<void>;
}

/**
 * For the failover tests of the Sentinel and Cluster suites: writes 1, 2, 3,
 * ... to `key`, one write every `pauseMs` (default 20), until stopped.
 */
export function writeTraffic(cache: Cache, key: string, pauseMs = 20): WriteTraffic {
  let running = true;
  let ok = 0;
  let failed = 0;
  let last = 0;
  let lastOkAt = 0;
  let longestGapMs = 0;
  const done = (async () => {
    for (let i = 1; running; i += 1) {
      try {
        await cache.set(key, String(i));
        const now = Date.now();
        if (lastOkAt > 0) longestGapMs = Math.max(longestGapMs, now - lastOkAt);
        lastOkAt = now;
        ok += 1;
        last = i;
      } catch {
        failed += 1;
      }
      await sleep(pauseMs);
    }
  })();
  return {
    get ok() {
      return ok;
    },
    get failed() {
      return failed;
    },
    get last() {
      return last;
    },
    get longestGapMs() {
      return longestGapMs;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}
