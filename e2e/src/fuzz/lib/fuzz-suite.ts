import { EngineFuzzTarget } from './engine-target';
import { fuzzEngine, type EngineCoverage, type EngineFuzzOptions } from './fuzz-engine';
import { FuzzTarget, FUZZ_SERVICES, type FuzzService } from './fuzz-target';
import { fuzzService, type FuzzOptions, type ServiceReport } from './fuzz-service';
import { HealthWatcher } from './health-watcher';

/** CI defaults: the seed, the requests per route and the failing threshold (see docs/testing.md). */
export const CI_SEED = 1405;
export const CI_RUNS = 12;
/** Cases per group (each client message type, hostile frames, connections) of the engine's WebSocket API in CI. */
export const ENGINE_CI_RUNS = 8;
/** The failing threshold for one health answer on a shared 2-core machine; the product aim is 50 ms. */
export const CI_BUDGET_MS = 500;
export const WATCH_INTERVAL_MS = 5;

export const ALL_FUZZ_SERVICES = Object.keys(FUZZ_SERVICES) as FuzzService[];

export interface SuiteResult {
  reports: ServiceReport[];
  /** The process's exit code when it stopped (null: killed); a crash shows here and as a finding. */
  exitCode: number | null;
}

/**
 * Starts the built all-in-one on SQLite and the health watcher on its three
 * ports, then fuzzes the services one at a time.
 */
export async function runFuzzSuite(services: FuzzService[], options: FuzzOptions & { intervalMs?: number }): Promise<SuiteResult> {
  const target = new FuzzTarget();
  await target.start();
  const watcher = new HealthWatcher(
    (['wallet', 'admin', 'verifier'] as const).map((name) => ({ name, url: target.urls[name] })),
    options.intervalMs ?? WATCH_INTERVAL_MS,
  );
  await watcher.ready();
  const reports: ServiceReport[] = [];
  try {
    for (const service of services) {
      reports.push(await fuzzService(target, watcher, service, options));
      if (!target.alive()) break;
    }
  } finally {
    await watcher.stop();
  }
  const exitCode = await target.stop();
  return { reports, exitCode };
}

/**
 * Starts the built all-in-one for the engine fuzzing (engine-target.ts: peers
 * on loopback, short-lived tokens, the protected users' flows) and the
 * health watcher, then fuzzes the engine's WebSocket API.
 */
export async function runEngineFuzz(options: EngineFuzzOptions & { intervalMs?: number }): Promise<{ report: ServiceReport & { coverage: EngineCoverage }; exitCode: number | null }> {
  const target = new EngineFuzzTarget();
  await target.start();
  const watcher = new HealthWatcher(
    (['wallet', 'admin', 'verifier'] as const).map((name) => ({ name, url: target.base.urls[name] })),
    options.intervalMs ?? WATCH_INTERVAL_MS,
  );
  try {
    await watcher.ready();
    const report = await fuzzEngine(target, watcher, options);
    await watcher.stop();
    return { report, exitCode: await target.stop() };
  } catch (error) {
    await watcher.stop();
    await target.stop();
    throw error;
  }
}

/** A table of the reports, for logs. */
export function formatReports(reports: ServiceReport[], budgetMs: number): string {
  const lines = [`service   routes requests  worst /health/live (port)  worst loop lag  slowest answer  spikes over ${budgetMs} ms (not reproduced)  findings`];
  for (const r of reports) {
    lines.push(
      `${r.service.padEnd(9)} ${String(r.routes).padStart(6)} ${String(r.requests).padStart(8)}  ${r.worstHealth.ms.toFixed(1).padStart(10)} ms (${r.worstHealth.port.padEnd(8)})  ${r.worstLoopLagMs.toFixed(1).padStart(10)} ms  ${r.slowestAnswer.ms.toFixed(0).padStart(10)} ms  ${String(r.unconfirmedSpikes.length).padStart(6)}  ${r.findings.length}`,
    );
  }
  for (const r of reports) {
    lines.push(`${r.service}: statuses ${JSON.stringify(r.statuses)}; worst health during ${r.worstHealth.request.slice(0, 300)}`);
    for (const s of r.unconfirmedSpikes) lines.push(`  spike ${s.ms.toFixed(0)} ms (not reproduced alone) during ${s.request.slice(0, 200)}`);
    for (const f of r.findings) lines.push(`  FINDING ${f.kind} ${f.route}: ${f.detail.slice(0, 800)}\n    replay: ${f.replay}`);
  }
  return lines.join('\n');
}
