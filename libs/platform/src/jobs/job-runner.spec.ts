import { createCache, type Cache } from '@wallet/cache';
import { describeIfAvailable, redisAvailable, startRedis, uniquePrefix, type RedisHandle } from '@wallet/testing';
import { JobRunner, registerJobHandler, type JobEvent } from './job-runner';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('JobRunner (memory cache)', () => {
  let cache: Cache;
  beforeEach(async () => {
    cache = await createCache({ type: 'memory' });
  });
  afterEach(async () => {
    await cache.close();
  });

  it('runs a job once per period and records its fence', async () => {
    const fences: number[] = [];
    const runner = new JobRunner({ cache, lockTtlMs: 5_000 }).register({
      name: 'count',
      intervalMs: 300,
      handler: async ({ fence }) => {
        fences.push(fence);
      },
    });
    expect(await runner.runIfDue('count')).toBe('ran');
    expect(await runner.runIfDue('count')).toBe('not_due');
    await sleep(320);
    expect(await runner.runIfDue('count')).toBe('ran');
    expect(fences).toHaveLength(2);
    expect(fences[1]!).toBeGreaterThan(fences[0]!);
  });

  it('takes over the lock of a crashed holder once it expires', async () => {
    const runs: number[] = [];
    const runner = new JobRunner({ cache, lockTtlMs: 5_000 }).register({
      name: 'takeover',
      intervalMs: 60_000,
      handler: async ({ fence }) => {
        runs.push(fence);
      },
    });
    // A holder that took the lock and died without releasing it.
    const crashed = await cache.acquireLock('jobs:takeover', 300);
    expect(crashed).not.toBeNull();
    expect(await runner.runIfDue('takeover')).toBe('locked');
    await sleep(350);
    expect(await runner.runIfDue('takeover')).toBe('ran');
    expect(runs).toHaveLength(1);
    expect(runs[0]!).toBeGreaterThan(crashed!.fence);
    // The crashed holder can no longer release what it lost.
    expect(await crashed!.release()).toBe(false);
  });

  it('records a failed run too, so a failing job does not loop within its period', async () => {
    const events: JobEvent[] = [];
    let calls = 0;
    const runner = new JobRunner({ cache, lockTtlMs: 5_000, onEvent: (e) => events.push(e) }).register({
      name: 'fails',
      intervalMs: 60_000,
      handler: async () => {
        calls++;
        throw new Error('store down');
      },
    });
    expect(await runner.runIfDue('fails')).toBe('failed');
    expect(await runner.runIfDue('fails')).toBe('not_due');
    expect(calls).toBe(1);
    expect(events).toEqual([expect.objectContaining({ name: 'fails', outcome: 'failed', error: 'store down' })]);
  });

  it('skips a slot until a handler is registered, and aborts a run that outlives its lock', async () => {
    const runner = new JobRunner({ cache, lockTtlMs: 1_000 }).register({ name: 'slot-test', intervalMs: 60_000 });
    expect(await runner.runIfDue('slot-test')).toBe('no_handler');
    let aborted = false;
    registerJobHandler('slot-test', async ({ signal }) => {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      aborted = signal.aborted;
      return { stopped: true };
    });
    expect(await runner.runIfDue('slot-test')).toBe('ran');
    expect(aborted).toBe(true);
  });

  it('polls on its own once started and stops cleanly', async () => {
    let runs = 0;
    const runner = new JobRunner({ cache, lockTtlMs: 5_000 }).register({
      name: 'auto',
      intervalMs: 200,
      handler: async () => {
        runs++;
      },
    });
    runner.start();
    await sleep(1_100);
    await runner.stop();
    // About 1100 / 200 periods; polling adds up to a quarter period of delay per run.
    expect(runs).toBeGreaterThanOrEqual(3);
    expect(runs).toBeLessThanOrEqual(6);
    const after = runs;
    await sleep(300);
    expect(runs).toBe(after);
  });
});

const describeRedis = describeIfAvailable('jobs:redis', redisAvailable(), 'set REDIS_URL or put redis-server on PATH');

describeRedis('JobRunner (two runners sharing Redis)', () => {
  let server: RedisHandle;
  beforeAll(async () => {
    server = await startRedis();
  }, 20_000);
  afterAll(async () => {
    await server.stop();
  });

  it('runs each job once per period across both runners', async () => {
    const keyPrefix = uniquePrefix('jobs-spec');
    const caches = [
      await createCache({ type: 'redis', url: server.url, keyPrefix }),
      await createCache({ type: 'redis', url: server.url, keyPrefix }),
    ];
    const runs: Array<{ runner: number; job: string; fence: number; at: number }> = [];
    const runners = caches.map((cache, index) =>
      ['a', 'b'].reduce(
        (runner, job) =>
          runner.register({
            name: `job-${job}`,
            intervalMs: 400,
            handler: async ({ fence }) => {
              runs.push({ runner: index, job, fence, at: Date.now() });
              await sleep(20);
            },
          }),
        new JobRunner({ cache, lockTtlMs: 5_000 }),
      ),
    );
    const started = Date.now();
    runners.forEach((r) => r.start());
    await sleep(2_450);
    await Promise.all(runners.map((r) => r.stop()));
    const elapsed = Date.now() - started;
    await Promise.all(caches.map((c) => c.close()));
    for (const job of ['a', 'b']) {
      const mine = runs.filter((r) => r.job === job);
      // Once per 400 ms period at most (plus the first run), and polling keeps up.
      expect(mine.length).toBeLessThanOrEqual(Math.floor(elapsed / 400) + 1);
      expect(mine.length).toBeGreaterThanOrEqual(Math.floor(elapsed / 400) - 2);
      for (let i = 1; i < mine.length; i++) {
        expect(mine[i]!.fence).toBeGreaterThan(mine[i - 1]!.fence);
        expect(mine[i]!.at - mine[i - 1]!.at).toBeGreaterThanOrEqual(390);
      }
    }
  }, 15_000);

  it('takes over the lock of a crashed process once it expires', async () => {
    const keyPrefix = uniquePrefix('jobs-takeover');
    const crashedCache = await createCache({ type: 'redis', url: server.url, keyPrefix });
    const cache = await createCache({ type: 'redis', url: server.url, keyPrefix });
    // The "crashed" process took the job's lock and vanished without releasing it.
    const held = await crashedCache.acquireLock('jobs:sweep', 400);
    await crashedCache.close();
    const fences: number[] = [];
    const runner = new JobRunner({ cache, lockTtlMs: 5_000 }).register({
      name: 'sweep',
      intervalMs: 60_000,
      handler: async ({ fence }) => {
        fences.push(fence);
      },
    });
    expect(await runner.runIfDue('sweep')).toBe('locked');
    await sleep(450);
    expect(await runner.runIfDue('sweep')).toBe('ran');
    expect(fences).toEqual([expect.any(Number)]);
    expect(fences[0]!).toBeGreaterThan(held!.fence);
    expect(await runner.runIfDue('sweep')).toBe('not_due');
    await cache.close();
  });
});
