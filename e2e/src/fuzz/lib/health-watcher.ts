import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

/** The worst health answer seen on one port during a window. */
export interface PortLatency {
  port: string;
  /** Milliseconds from sending GET /health/live to the end of its answer. */
  worstMs: number;
  /** A probe failed (no answer: the process is gone or refused the connection). */
  failed: boolean;
}

const CAPACITY = 8192;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `/health/live` on every port of the process under test every few
 * milliseconds, from a worker thread, and tells for any time window the
 * slowest health answer that overlapped it. A request that holds the event
 * loop shows as a slow health answer on every port of the process.
 */
export class HealthWatcher {
  private readonly control: Int32Array;
  private readonly samples: Float64Array;
  private readonly worker: Worker;
  private readonly stride = CAPACITY * 2 + 1;

  constructor(
    private readonly ports: Array<{ name: string; url: string }>,
    intervalMs: number,
  ) {
    const shared = {
      control: new SharedArrayBuffer(4 * (1 + ports.length)),
      samples: new SharedArrayBuffer(8 * this.stride * ports.length),
    };
    this.control = new Int32Array(shared.control);
    this.samples = new Float64Array(shared.samples);
    this.worker = new Worker(join(__dirname, 'health-watcher.worker.cjs'), {
      workerData: { urls: ports.map((p) => p.url), intervalMs, capacity: CAPACITY, shared },
    });
  }

  /** Milliseconds on the clock the watcher thread records with. */
  now(): number {
    return now();
  }

  /**
   * The slowest health answer per port that overlapped [from, to]: waits until
   * every port has a probe that started after `to` and ended (so a stall that
   * outlasts the request is seen whole), at most `maxWaitMs`. A probe still
   * unanswered at that point counts with its age so far.
   */
  async window(from: number, to: number, maxWaitMs: number): Promise<PortLatency[]> {
    const deadline = now() + maxWaitMs;
    const out: PortLatency[] = [];
    for (let index = 0; index < this.ports.length; index++) {
      const base = index * this.stride;
      let worst = 0;
      let failed = false;
      let seenAfter = false;
      let scanned = 0;
      for (;;) {
        const count = Atomics.load(this.control, 1 + index);
        // Read what was written since the last pass (the ring keeps the newest CAPACITY probes).
        for (let i = Math.max(scanned, count - CAPACITY); i < count; i++) {
          const slot = i % CAPACITY;
          const start = this.samples[base + slot * 2]!;
          const rawEnd = this.samples[base + slot * 2 + 1]!;
          const end = Math.abs(rawEnd);
          if (end < from || seenAfter) continue;
          // Every probe that overlapped the window, and the first one that started after it.
          if (start > to) seenAfter = true;
          worst = Math.max(worst, end - start);
          if (rawEnd < 0) failed = true;
        }
        scanned = count;
        if (seenAfter || failed) break;
        if (now() > deadline) {
          const inflight = this.samples[base + CAPACITY * 2]!;
          if (inflight > 0) worst = Math.max(worst, now() - inflight);
          break;
        }
        await sleep(1);
      }
      out.push({ port: this.ports[index]!.name, worstMs: worst, failed });
    }
    return out;
  }

  /** Resolves once every port has answered a few probes (the thread takes a moment to start). */
  async ready(timeoutMs = 20_000): Promise<void> {
    const deadline = now() + timeoutMs;
    while (this.ports.some((_, index) => Atomics.load(this.control, 1 + index) < 3)) {
      if (now() > deadline) throw new Error('the health watcher got no answers');
      await sleep(5);
    }
  }

  async stop(): Promise<void> {
    Atomics.store(this.control, 0, 1);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => void this.worker.terminate().then(() => resolve()), 2000);
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
