/**
 * `npm run fuzz`: the OpenAPI-driven fuzzing suite and the engine's WebSocket
 * fuzzer, longer than in CI.
 *
 *   npm run fuzz -- [--seed N] [--runs N] [--service auth,storage,...,engine] [--route "POST /storage/vault/query"]
 *                   [--path <counterexample path>] [--budget ms] [--interval ms] [--vault-records N] [--shrink] [--trace]
 *
 * `--service engine` fuzzes the WebSocket API (`/api/v2/wallet`) on its own
 * all-in-one; its `--route` is a client message type, `frames`, `connect` or
 * `sweep`. Builds the all-in-one first (see package.json). Prints a table per
 * service and, for every finding, the command that replays it. Exits 1 on a finding.
 */
import { parseArgs } from 'node:util';
import { ALL_FUZZ_SERVICES, CI_BUDGET_MS, formatReports, runEngineFuzz, runFuzzSuite, WATCH_INTERVAL_MS } from './lib/fuzz-suite';
import type { ServiceReport } from './lib/fuzz-service';
import type { FuzzService } from './lib/fuzz-target';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      runs: { type: 'string', default: '150' },
      service: { type: 'string' },
      route: { type: 'string' },
      path: { type: 'string' },
      budget: { type: 'string', default: String(CI_BUDGET_MS) },
      interval: { type: 'string', default: String(WATCH_INTERVAL_MS) },
      'vault-records': { type: 'string', default: '1000' },
      shrink: { type: 'boolean', default: false },
      trace: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run fuzz -- [--seed N] [--runs N] [--service a,b,engine] [--route "METHOD /path" | message type] [--path P] [--budget ms] [--interval ms] [--vault-records N] [--shrink] [--trace]\n',
    );
    return 0;
  }
  const int = (name: string, text: string, min: number, max: number) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, not "${text}"`);
    return n;
  };
  const seed = values.seed !== undefined ? int('seed', values.seed, -(2 ** 31), 2 ** 31 - 1) : (Math.random() * 2 ** 31) | 0;
  const runs = int('runs', values.runs, 1, 1_000_000);
  const budgetMs = int('budget', values.budget, 1, 600_000);
  // Without --service: every HTTP service and the engine (an HTTP --route alone names no engine group).
  const requested = values.service ? values.service.split(',') : values.route ? [...ALL_FUZZ_SERVICES] : [...ALL_FUZZ_SERVICES, 'engine'];
  for (const s of requested) {
    if (s !== 'engine' && !ALL_FUZZ_SERVICES.includes(s as FuzzService)) throw new Error(`--service: unknown service "${s}" (one of ${[...ALL_FUZZ_SERVICES, 'engine'].join(', ')})`);
  }
  const services = requested.filter((s): s is FuzzService => s !== 'engine');
  process.stdout.write(`fuzz: seed ${seed}, ${runs} requests per route (engine: cases per group), budget ${budgetMs} ms, services ${requested.join(', ')}\n`);
  const common = {
    seed,
    runs,
    budgetMs,
    intervalMs: int('interval', values.interval, 1, 1000),
    shrink: values.shrink,
    trace: values.trace,
    ...(values.route ? { route: values.route } : {}),
    ...(values.path ? { path: values.path } : {}),
    log: (line: string) => process.stdout.write(`${line}\n`),
  };
  const reports: ServiceReport[] = [];
  const exitCodes: Array<number | null> = [];
  if (services.length) {
    const http = await runFuzzSuite(services, { ...common, vaultRecords: int('vault-records', values['vault-records'], 0, 10_000) });
    reports.push(...http.reports);
    exitCodes.push(http.exitCode);
  }
  if (requested.includes('engine')) {
    // The engine's all-in-one runs apart (peers on loopback, short-lived tokens): see engine-target.ts.
    const engine = await runEngineFuzz(common);
    reports.push(engine.report);
    exitCodes.push(engine.exitCode);
  }
  process.stdout.write(`\n${formatReports(reports, budgetMs)}\n`);
  const findings = reports.flatMap((r) => r.findings);
  process.stdout.write(`\nall-in-one exit code(s) ${exitCodes.join(', ')}; ${findings.length} finding(s)\n`);
  return findings.length > 0 || exitCodes.some((code) => code !== 0) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`fuzz: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
