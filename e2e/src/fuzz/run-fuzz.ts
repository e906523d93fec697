/**
 * `npm run fuzz`: the OpenAPI-driven fuzzing suite, longer than in CI.
 *
 *   npm run fuzz -- [--seed N] [--runs N] [--service auth,storage,...] [--route "POST /storage/vault/query"]
 *                   [--path <counterexample path>] [--budget ms] [--interval ms] [--vault-records N] [--shrink] [--trace]
 *
 * Builds the all-in-one first (see package.json). Prints a table per service
 * and, for every finding, the command that replays it. Exits 1 on a finding.
 */
import { parseArgs } from 'node:util';
import { ALL_FUZZ_SERVICES, CI_BUDGET_MS, formatReports, runFuzzSuite, WATCH_INTERVAL_MS } from './lib/fuzz-suite';
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
    process.stdout.write('usage: npm run fuzz -- [--seed N] [--runs N] [--service a,b] [--route "METHOD /path"] [--path P] [--budget ms] [--interval ms] [--vault-records N] [--shrink] [--trace]\n');
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
  const services = (values.service ? values.service.split(',') : ALL_FUZZ_SERVICES) as FuzzService[];
  for (const s of services) if (!ALL_FUZZ_SERVICES.includes(s)) throw new Error(`--service: unknown service "${s}" (one of ${ALL_FUZZ_SERVICES.join(', ')})`);
  process.stdout.write(`fuzz: seed ${seed}, ${runs} requests per route, budget ${budgetMs} ms, services ${services.join(', ')}\n`);
  const { reports, exitCode } = await runFuzzSuite(services, {
    seed,
    runs,
    budgetMs,
    intervalMs: int('interval', values.interval, 1, 1000),
    vaultRecords: int('vault-records', values['vault-records'], 0, 10_000),
    shrink: values.shrink,
    trace: values.trace,
    ...(values.route ? { route: values.route } : {}),
    ...(values.path ? { path: values.path } : {}),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`\n${formatReports(reports, budgetMs)}\n`);
  const findings = reports.flatMap((r) => r.findings);
  process.stdout.write(`\nall-in-one exit code ${exitCode}; ${findings.length} finding(s)\n`);
  return findings.length > 0 || exitCode !== 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`fuzz: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
