import type { Cache, Lock } from '@wallet/cache';

/** What a job run gets. */
export interface JobContext {
  readonly name: string;
  /**
   * The fencing number of this run's lock: larger than that of every earlier
   * run of the job. Pass it to writes that must refuse a stale holder.
   */
  readonly fence: number;
  /** When the run started (from the runner's clock). */
  readonly now: Date;
  /** Aborted when the run's lock is about to expire or the runner stops: stop soon after. */
  readonly signal: AbortSignal;
}

/** What a run reports, e.g. `{ removed: 12 }`; logged with the run. */
export type JobResult = Record<string, number | string | boolean>;

export type JobHandler = (context: JobContext) => Promise<JobResult | void>;

export interface JobDefinition {
  /** Unique name, e.g. `invites-cleanup`; also the lock name. */
  name: string;
  intervalMs: number;
  /** Unset: a slot; the job is skipped until `setHandler` (or `registerJobHandler`) provides one. */
  handler?: JobHandler;
}

export type JobOutcome = 'ran' | 'failed' | 'not_due' | 'locked' | 'no_handler' | 'busy';

export interface JobEvent {
  name: string;
  outcome: JobOutcome;
  fence?: number;
  durationMs?: number;
  result?: JobResult;
  error?: string;
}

export interface JobRunnerOptions {
  cache: Cache;
  /** How long one run may hold its lock; a crashed holder's lock is taken over after this. */
  lockTtlMs: number;
  now?: () => Date;
  /** Receives every run (`ran`, `failed`); the other outcomes only when `verbose`. */
  onEvent?: (event: JobEvent) => void;
  verbose?: boolean;
  /** Cache key prefix (default `jobs:`). */
  keyPrefix?: string;
}

interface LastRun {
  /** Start of the last run, epoch ms. */
  at: number;
  fence: number;
}

const slotHandlers = new Map<string, JobHandler>();

/**
 * Provides the handler of a job slot from code the admin process loads but
 * does not own (the vault tombstone sweep, the trust refresh). Process-wide;
 * runners started later pick it up, running runners on their next tick.
 */
export function registerJobHandler(name: string, handler: JobHandler): void {
  slotHandlers.set(name, handler);
}

/** Names of the job slots other services' code fills. */
export const JOB_SLOTS = { vaultTombstones: 'vault-tombstones', trustRefresh: 'trust-refresh' } as const;

interface Scheduled {
  definition: JobDefinition;
  timer: NodeJS.Timeout | null;
  running: Promise<unknown> | null;
}

/**
 * Runs named periodic jobs so that, with any number of processes sharing the
 * cache, each job runs once per period cluster-wide:
 *
 * - every process polls each job a few times per period;
 * - a run first takes the cache lock `<prefix><name>` (expiry `lockTtlMs`,
 *   fencing number), then checks the shared "last run" record: if a run
 *   started less than one period ago, it releases the lock and does nothing;
 * - after the run (success or failure) it writes the last-run record with
 *   compare-and-set, and never over a record with a larger fence (a stale
 *   holder whose lock expired cannot move the schedule back).
 *
 * A holder that crashes mid-run leaves its lock, which expires after
 * `lockTtlMs`; the next process to poll then takes it over (with a larger
 * fence) and runs the job, because the crashed run never recorded itself.
 */
export class JobRunner {
  private readonly jobs = new Map<string, Scheduled>();
  private readonly now: () => Date;
  private readonly prefix: string;
  private readonly stopController = new AbortController();
  private started = false;

  constructor(private readonly options: JobRunnerOptions) {
    this.now = options.now ?? (() => new Date());
    this.prefix = options.keyPrefix ?? 'jobs:';
  }

  register(definition: JobDefinition): this {
    if (!/^[a-z0-9][a-z0-9.-]{0,63}$/.test(definition.name)) throw new Error(`invalid job name ${definition.name}`);
    if (this.jobs.has(definition.name)) throw new Error(`job ${definition.name} is already registered`);
    if (!(definition.intervalMs >= 1)) throw new Error(`job ${definition.name}: intervalMs must be positive`);
    const job: Scheduled = { definition, timer: null, running: null };
    this.jobs.set(definition.name, job);
    if (this.started) this.schedule(job, this.pollDelay(definition.intervalMs));
    return this;
  }

  /** Sets or replaces the handler of a registered job (fills a slot). */
  setHandler(name: string, handler: JobHandler): void {
    const job = this.jobs.get(name);
    if (!job) throw new Error(`no job named ${name}`);
    job.definition = { ...job.definition, handler };
  }

  names(): string[] {
    return [...this.jobs.keys()];
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    // Spread the first polls so replicas started together do not all race at once.
    for (const job of this.jobs.values()) this.schedule(job, Math.random() * this.pollDelay(job.definition.intervalMs));
  }

  /** Stops polling, aborts running jobs and waits for them to return. */
  async stop(): Promise<void> {
    this.started = false;
    this.stopController.abort();
    for (const job of this.jobs.values()) if (job.timer) clearTimeout(job.timer);
    await Promise.allSettled([...this.jobs.values()].map((job) => job.running));
  }

  /** One poll of one job: runs it if it is due and no other process holds it. */
  async runIfDue(name: string): Promise<JobOutcome> {
    const job = this.jobs.get(name);
    if (!job) throw new Error(`no job named ${name}`);
    if (job.running) return this.report({ name, outcome: 'busy' });
    const run = this.attempt(job);
    job.running = run;
    try {
      return await run;
    } finally {
      job.running = null;
    }
  }

  private async attempt(job: Scheduled): Promise<JobOutcome> {
    const { name, intervalMs } = job.definition;
    const handler = job.definition.handler ?? slotHandlers.get(name);
    if (!handler) return this.report({ name, outcome: 'no_handler' });
    const lastKey = `${this.prefix}last:${name}`;
    // Cheap check first: most polls find the job done for this period.
    if (!this.due(parseLast(await this.options.cache.get(lastKey)), intervalMs)) return this.report({ name, outcome: 'not_due' });
    const lock = await this.options.cache.acquireLock(`${this.prefix}${name}`, this.options.lockTtlMs);
    if (!lock) return this.report({ name, outcome: 'locked' });
    try {
      const lastRaw = await this.options.cache.get(lastKey);
      const last = parseLast(lastRaw);
      if (!this.due(last, intervalMs) || (last && last.fence > lock.fence)) {
        return this.report({ name, outcome: 'not_due', fence: lock.fence });
      }
      const startedAt = this.now();
      const outcome = await this.execute(name, handler, lock, startedAt);
      const record: LastRun = { at: startedAt.getTime(), fence: lock.fence };
      // Compare-and-set against what we read under the lock: if a newer holder wrote meanwhile, keep its record.
      await this.options.cache.compareAndSet(lastKey, lastRaw, JSON.stringify(record), { ttlMs: Math.max(intervalMs * 2, 1000) });
      return outcome;
    } finally {
      await lock.release().catch(() => false);
    }
  }

  private async execute(name: string, handler: JobHandler, lock: Lock, startedAt: Date): Promise<JobOutcome> {
    const controller = new AbortController();
    const onStop = () => controller.abort();
    this.stopController.signal.addEventListener('abort', onStop);
    // Ask the job to stop shortly before its lock expires, so two holders never overlap by design.
    const deadline = setTimeout(() => controller.abort(), Math.max(this.options.lockTtlMs - 500, this.options.lockTtlMs * 0.8));
    const started = performance.now();
    try {
      const result = await handler({ name, fence: lock.fence, now: startedAt, signal: controller.signal });
      return this.report({
        name,
        outcome: 'ran',
        fence: lock.fence,
        durationMs: Math.round(performance.now() - started),
        ...(result ? { result } : {}),
      });
    } catch (error) {
      return this.report({
        name,
        outcome: 'failed',
        fence: lock.fence,
        durationMs: Math.round(performance.now() - started),
        error: error instanceof Error ? error.message.slice(0, 300) : 'job failed',
      });
    } finally {
      clearTimeout(deadline);
      this.stopController.signal.removeEventListener('abort', onStop);
    }
  }

  private due(last: LastRun | null, intervalMs: number): boolean {
    return last === null || this.now().getTime() - last.at >= intervalMs;
  }

  private report(event: JobEvent): JobOutcome {
    if (event.outcome === 'ran' || event.outcome === 'failed' || this.options.verbose) this.options.onEvent?.(event);
    return event.outcome;
  }

  private pollDelay(intervalMs: number): number {
    return Math.min(Math.max(intervalMs / 4, 50), 60_000);
  }

  private schedule(job: Scheduled, delayMs: number): void {
    if (!this.started) return;
    job.timer = setTimeout(() => {
      job.timer = null;
      void this.runIfDue(job.definition.name)
        .catch((error: unknown) =>
          this.options.onEvent?.({
            name: job.definition.name,
            outcome: 'failed',
            error: error instanceof Error ? error.message.slice(0, 300) : 'poll failed',
          }),
        )
        .finally(() => {
          const base = this.pollDelay(job.definition.intervalMs);
          this.schedule(job, base * (0.8 + Math.random() * 0.4));
        });
    }, delayMs);
    job.timer.unref();
  }
}

function parseLast(raw: string | null): LastRun | null {
  if (raw === null) return null;
  try {
    const value = JSON.parse(raw) as Partial<LastRun>;
    return typeof value.at === 'number' && typeof value.fence === 'number' ? { at: value.at, fence: value.fence } : null;
  } catch {
    return null;
  }
}
