import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

/**
 * Driver suites (Redis, MongoDB) need a real server. They use `REDIS_URL` /
 * `MONGODB_URI` when set, otherwise start a local server when its binary is
 * found. When neither is possible the suite is skipped loudly: a line goes to
 * the console and to `tmp/test-skips.log`, which `npm test` prints at the end.
 * With `WALLET_REQUIRE_DRIVER_SUITES=1` (CI) a missing server is an error.
 */

const workspaceRoot = resolve(__dirname, '../../..');
export const SKIP_LOG = join(workspaceRoot, 'tmp', 'test-skips.log');

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

/**
 * Returns Jest's `describe` when `available` is true, `describe.skip` otherwise,
 * after reporting why. Throws when driver suites are required.
 */
export function describeIfAvailable(suite: string, available: boolean, reason: string): jest.Describe {
  if (available) return describe;
  const line = `SKIPPED driver suite "${suite}": ${reason}`;
  if (process.env['WALLET_REQUIRE_DRIVER_SUITES'] === '1') {
    throw new Error(`${line} (WALLET_REQUIRE_DRIVER_SUITES=1 forbids skipping)`);
  }
  mkdirSync(join(workspaceRoot, 'tmp'), { recursive: true });
  appendFileSync(SKIP_LOG, `${line}\n`);
  console.warn(line);
  return describe.skip;
}
