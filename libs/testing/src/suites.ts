import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { delimiter, dirname, join, relative, resolve } from 'node:path';

/**
 * Suites that need something from the machine (a Redis server, a MongoDB
 * wire-protocol server, Chromium, nginx) use it when it is there and are skipped
 * otherwise. A skip is recorded in `tmp/test-skips.log` (one JSON line per
 * suite); `npm test` reads it and says once, at the end, what was skipped,
 * why, and the command that enables it. Run outside `npm test` (plain `jest`),
 * a skipped suite also says so on stderr. `TEST_SKIP_LOG` names another log
 * file (this library's own tests). With
 * `WALLET_REQUIRE_DRIVER_SUITES=1` (CI) a skip is an error.
 */

const workspaceRoot = resolve(__dirname, '../../..');
export const SKIP_LOG = join(workspaceRoot, 'tmp', 'test-skips.log');
/** Set by `npm test` (tools/scripts/test.mjs): it prints the skips itself, once, at the end. */
export const SKIP_SUMMARY_ENV = 'TEST_SKIPS_SUMMARIZED';

export type SuiteRequirement = 'redis' | 'mongodb' | 'chromium' | 'nginx';

/** Why a suite of each kind is skipped, and what enables it; `npm test` prints these. */
export const SUITE_REQUIREMENTS: Record<SuiteRequirement, { needs: string; why: string; enable: string }> = {
  redis: {
    needs: 'a Redis server',
    why: 'REDIS_URL is unset and redis-server is not on PATH',
    enable: 'sudo apt-get install redis-server   (or run with REDIS_URL=redis://<host>:6379)',
  },
  mongodb: {
    needs: 'a MongoDB wire-protocol server',
    why: 'MONGODB_URI is unset and neither FerretDB (~/.cache/wallet) nor mongod was found',
    enable: 'tools/ferretdb/build.sh   (builds FerretDB once with Go; or run with MONGODB_URI=mongodb://<host>:27017)',
  },
  chromium: {
    needs: 'Chromium',
    why: 'CHROMIUM_PATH is unset and chromium is not on PATH',
    enable: 'sudo apt-get install chromium   (or run with CHROMIUM_PATH=/path/to/chrome)',
  },
  nginx: {
    needs: 'nginx',
    why: 'nginx is not on PATH (nor in /usr/sbin)',
    enable: 'sudo apt-get install nginx-light',
  },
};

/** The requirement a free-text reason talks about (callers that predate the requirement names). */
function requirementOf(reason: string): SuiteRequirement | null {
  if (Object.hasOwn(SUITE_REQUIREMENTS, reason)) return reason as SuiteRequirement;
  if (/redis/i.test(reason)) return 'redis';
  if (/mongo|ferret/i.test(reason)) return 'mongodb';
  if (/chrom/i.test(reason)) return 'chromium';
  if (/nginx/i.test(reason)) return 'nginx';
  return null;
}

/** Finds an executable on PATH (or at an absolute path). */
export function findExecutable(name: string, extraDirs: string[] = []): string | null {
  if (name.includes('/')) return existsSync(name) ? name : null;
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), ...extraDirs];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** The test file that called `describeIfAvailable`, relative to the workspace (from the call stack). */
function callerFile(): string | undefined {
  const line = new Error().stack?.split('\n').find((l) => /\.(spec|test)\.ts:\d+/.test(l));
  const path = /\(?((?:\/|[A-Za-z]:\\)[^():]+\.(?:spec|test)\.ts):\d+/.exec(line ?? '')?.[1];
  return path ? relative(workspaceRoot, path) : undefined;
}

/**
 * Returns Jest's `describe` when `available` is true, `describe.skip` otherwise,
 * after recording why. `reason` is a requirement (`redis`, `mongodb`,
 * `chromium`, `nginx`) or a sentence that names one. Throws when driver suites are required.
 */
export function describeIfAvailable(suite: string, available: boolean, reason: SuiteRequirement | string): jest.Describe {
  if (available) return describe;
  const requirement = requirementOf(reason);
  const why = requirement ? SUITE_REQUIREMENTS[requirement].why : reason;
  const line = `SKIPPED suite "${suite}": ${why}`;
  if (process.env['WALLET_REQUIRE_DRIVER_SUITES'] === '1') {
    throw new Error(`${line} (WALLET_REQUIRE_DRIVER_SUITES=1 forbids skipping)`);
  }
  const needs = requirement ? SUITE_REQUIREMENTS[requirement] : undefined;
  const log = process.env['TEST_SKIP_LOG'] ?? SKIP_LOG;
  mkdirSync(dirname(log), { recursive: true });
  appendFileSync(log, `${JSON.stringify({ suite, file: callerFile(), needs: needs?.needs ?? why, why, enable: needs?.enable })}\n`);
  if (process.env[SKIP_SUMMARY_ENV] !== '1') {
    const enable = requirement ? `; to run it: ${SUITE_REQUIREMENTS[requirement].enable}` : '';
    process.stderr.write(`${line}${enable}\n`);
  }
  return describe.skip;
}
