/**
 * Writes docs/configuration.md from the configuration schema in libs/config.
 * With --check, writes nothing and exits 1 when the committed file differs
 * from what the schema generates (for CI; a Jest test checks the same).
 *
 *   node tools/scripts/run-ts.mjs tools/docs/generate-config-reference.ts [--check]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CONFIG_REFERENCE_PATH, renderConfigReference } from '@wallet/config';

const WORKSPACE_ROOT = resolve(__dirname, '..', '..');

function firstDifference(actual: string, expected: string): number {
  const a = actual.split('\n');
  const b = expected.split('\n');
  let line = 0;
  while (line < a.length && line < b.length && a[line] === b[line]) line++;
  return line + 1;
}

function main(args: readonly string[]): number {
  const unknown = args.filter((arg) => arg !== '--check');
  if (unknown.length > 0) {
    process.stderr.write(`unknown argument ${unknown[0]}\nusage: generate-config-reference [--check]\n`);
    return 2;
  }
  const target = join(WORKSPACE_ROOT, CONFIG_REFERENCE_PATH);
  const expected = renderConfigReference();

  if (args.includes('--check')) {
    const actual = existsSync(target) ? readFileSync(target, 'utf8') : undefined;
    if (actual === expected) {
      process.stdout.write(`${CONFIG_REFERENCE_PATH} is up to date\n`);
      return 0;
    }
    const where = actual === undefined ? 'missing' : `differs from line ${firstDifference(actual, expected)}`;
    process.stderr.write(
      `${CONFIG_REFERENCE_PATH} is out of date with libs/config (${where}); run \`npm run docs:config\`\n`,
    );
    return 1;
  }

  writeFileSync(target, expected);
  process.stdout.write(`wrote ${CONFIG_REFERENCE_PATH}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
