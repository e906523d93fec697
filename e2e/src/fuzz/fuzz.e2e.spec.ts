import { ALL_FUZZ_SERVICES, CI_BUDGET_MS, CI_RUNS, CI_SEED, formatReports, WATCH_INTERVAL_MS } from './lib/fuzz-suite';
import { fuzzService, type ServiceReport } from './lib/fuzz-service';
import { FuzzTarget } from './lib/fuzz-target';
import type { HealthWatcher } from './lib/health-watcher';

/**
 * The OpenAPI-driven fuzzing suite in CI (docs/testing.md): the built
 * all-in-one on SQLite, every route of every service's served document, a
 * fixed seed and CI_RUNS generated requests per route, while a watcher
 * thread polls /health/live on all three ports. Fails on a 5xx, a crash, a
 * health answer over CI_BUDGET_MS that comes back when the request is
 * replayed alone, a 4xx that is not problem+json where the route documents
 * problem+json, a token repeated in an error, and any change to the second
 * tenant or its user's vault, keystore and passkeys. `npm run fuzz` runs
 * longer with any seed.
 */
describe('fuzzing every route from the OpenAPI documents (built all-in-one, SQLite)', () => {
  const target = new FuzzTarget();
  let watcher: HealthWatcher;
  const reports: ServiceReport[] = [];

  beforeAll(async () => {
    await target.start();
    watcher = await target.watch(WATCH_INTERVAL_MS);
  }, 120_000);

  afterAll(async () => {
    await watcher?.stop();
    const code = await target.stop();
    // Printed for the record (docs/benchmarks.md, "Fuzzing: worst event-loop stall per service").
    process.stdout.write(`\nfuzz (seed ${CI_SEED}, ${CI_RUNS} per route):\n${formatReports(reports, CI_BUDGET_MS)}\n`);
    expect(code).toBe(0);
  }, 60_000);

  it.each(ALL_FUZZ_SERVICES)(
    '%s: no 5xx, no crash, no stall over the budget, problem+json where documented, the other tenant untouched',
    async (service) => {
      const report = await fuzzService(target, watcher, service, { seed: CI_SEED, runs: CI_RUNS, budgetMs: CI_BUDGET_MS, replayPrefix: 'npm run fuzz --' });
      reports.push(report);
      expect(target.alive()).toBe(true);
      expect(report.findings.map((f) => `${f.kind} ${f.route}: ${f.detail.slice(0, 1200)}\n  replay: ${f.replay}`)).toEqual([]);
      // Every route of the document was driven with the full count, and the watcher saw the answers.
      expect(report.routes).toBeGreaterThan(3);
      expect(report.requests).toBe(report.routes * CI_RUNS);
      expect(report.worstHealth.ms).toBeGreaterThan(0);
    },
    300_000,
  );
});
