#!/usr/bin/env node
// `npm test`: lint, type check, build the apps, then every Jest suite (unit,
// driver contract suites, end-to-end). Ends with one summary line:
//   tests: N passed, N failed[, N skipped]
// A failing lint or type check counts as one failed test each. Extra arguments
// go to Jest (`npm test -- libs/cache`), which then skips lint and type check.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const env = { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false' };
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
// --forceExit: a handle a test leaked (a socket, a timer) must not keep the run
// from ending once every result is in; the e2e environment kills leftover processes.
run('jest', bin('jest'), ['--json', `--outputFile=${resultsFile}`, '--forceExit', ...jestArgs]);

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
if (existsSync(skipLog)) process.stdout.write(`\n${readFileSync(skipLog, 'utf8')}`);
process.stdout.write(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed > 0 ? 1 : 0);
