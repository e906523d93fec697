#!/usr/bin/env node
// `npm test`: lint, type check, build the apps, then every Jest suite (unit,
// driver contract suites, end-to-end). Ends with one summary line:
//   tests: N passed, N failed[, N skipped]
// A failing lint or type check counts as one failed test each. Extra arguments
// go to Jest (`npm test -- libs/cache`), which then skips lint and type check.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// TEST_SKIPS_SUMMARIZED: suites that cannot run here only record why (tmp/test-skips.log); this
// script says it once, at the end (see libs/testing/src/suites.ts).
const env = { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false', TEST_SKIPS_SUMMARIZED: '1' };
const bin = (name) => join(root, 'node_modules', '.bin', name);
const jestArgs = process.argv.slice(2);
const focused = jestArgs.length > 0;

// No stage may hang the run: CI has a hard limit, and a stage that never ends
// would cost every result. A stage past its limit is killed and fails.
const STAGE_LIMIT_MS = { jest: 45 * 60_000, default: 10 * 60_000 };

function run(title, command, args) {
  process.stdout.write(`\n=== ${title}\n`);
  const started = Date.now();
  const timeout = STAGE_LIMIT_MS[title] ?? STAGE_LIMIT_MS.default;
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, env, timeout, killSignal: 'SIGKILL' });
  if (result.error?.code === 'ETIMEDOUT') process.stdout.write(`=== ${title}: killed after ${timeout / 60_000} min\n`);
  const ok = result.status === 0;
  process.stdout.write(`=== ${title}: ${ok ? 'ok' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  return ok;
}

const stageFailures = [];
if (!focused) {
  // The module-boundary lint rule reads Nx's cached project graph.
  if (!run('project graph', bin('nx'), ['show', 'projects'])) stageFailures.push('project graph');
  if (!run('lint', bin('eslint'), ['.', '--max-warnings=0'])) stageFailures.push('lint');
  if (!run('type check', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit'])) stageFailures.push('type check');
}
if (!run('build apps', process.execPath, [join(root, 'tools/build/bundle.mjs')])) stageFailures.push('build');

mkdirSync(join(root, 'tmp'), { recursive: true });
const resultsFile = join(root, 'tmp', 'jest-results.json');
const skipLog = join(root, 'tmp', 'test-skips.log');
rmSync(resultsFile, { force: true });
rmSync(skipLog, { force: true });
// Jest must end on its own once every result is in: tests close what they open. If
// something a test left open keeps it running anyway, it is stopped after a grace
// period and that counts as a failure (no --forceExit, which would hide the leak).
if (!(await runJest(['--json', `--outputFile=${resultsFile}`, ...jestArgs]))) stageFailures.push('jest exit');

let passed = 0;
let failed = stageFailures.length;
let skipped = 0;
if (existsSync(resultsFile)) {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
  passed += results.numPassedTests;
  failed += results.numFailedTests + results.numRuntimeErrorTestSuites;
  skipped += results.numPendingTests + results.numTodoTests;
  for (const suite of results.testResults) {
    if (suite.status === 'failed' && suite.assertionResults.length === 0) {
      process.stdout.write(`suite failed to run: ${suite.name.replace(`${root}/`, '')}\n`);
    }
  }
} else {
  failed += 1;
  process.stdout.write('jest wrote no results\n');
}
if (stageFailures.length) process.stdout.write(`failed stages: ${stageFailures.join(', ')}\n`);
if (existsSync(skipLog)) process.stdout.write(skipSummary(readFileSync(skipLog, 'utf8')));
process.stdout.write(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed > 0 ? 1 : 0);

/** Runs Jest like `run` does; false when it had to be stopped after writing its results. */
async function runJest(args) {
  const title = 'jest';
  process.stdout.write(`\n=== ${title}\n`);
  const started = Date.now();
  const child = spawn(bin('jest'), args, { stdio: 'inherit', cwd: root, env });
  const EXIT_GRACE_MS = 60_000;
  let resultsAt = 0;
  let stoppedLeaking = false;
  const watch = setInterval(() => {
    if (!resultsAt && existsSync(resultsFile)) resultsAt = Date.now();
    const late = resultsAt && Date.now() - resultsAt > EXIT_GRACE_MS;
    if (late || Date.now() - started > STAGE_LIMIT_MS.jest) {
      stoppedLeaking = Boolean(late);
      process.stdout.write(
        late
          ? `=== jest: still running ${EXIT_GRACE_MS / 1000} s after its last test: a test left something open (find it with \`npm test -- <path> --detectOpenHandles\`); stopped\n`
          : `=== jest: killed after ${STAGE_LIMIT_MS.jest / 60_000} min\n`,
      );
      child.kill('SIGKILL');
    }
  }, 1000);
  const code = await new Promise((resolve) => child.once('exit', (status) => resolve(status)));
  clearInterval(watch);
  process.stdout.write(`=== ${title}: ${code === 0 ? 'ok' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  return !stoppedLeaking;
}

/**
 * The suites that could not run here, grouped by what they need, each group
 * with why and the one command that enables it (from tmp/test-skips.log, one
 * JSON line per skipped suite, written by describeIfAvailable).
 */
function skipSummary(log) {
  const groups = new Map();
  for (const line of log.split('\n')) {
    if (!line.trim()) continue;
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      entry = { suite: line, needs: 'other', why: line };
    }
    const group = groups.get(entry.needs) ?? { why: entry.why, enable: entry.enable, suites: new Set() };
    group.suites.add(entry.file ? `${entry.suite} (${entry.file})` : entry.suite);
    groups.set(entry.needs, group);
  }
  if (groups.size === 0) return '';
  const out = ['', 'Skipped, because this machine lacks what they need (not failures):'];
  for (const [needs, group] of groups) {
    out.push(`  needing ${needs} (${group.why}):`);
    for (const suite of [...group.suites].sort()) out.push(`    - ${suite}`);
    if (group.enable) out.push(`    to run them: ${group.enable}`);
  }
  return `${out.join('\n')}\n`;
}
