/**
 * Writes docs/api/engine.asyncapi.json (AsyncAPI 3.0.0) from the zod schemas
 * in libs/engine-protocol. With --check, writes nothing and exits 1 when the
 * committed file is stale (a Jest test checks the same).
 *
 *   node tools/scripts/run-ts.mjs tools/docs/generate-engine-asyncapi.ts [--check]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { buildEngineAsyncApi, ENGINE_ASYNCAPI_PATH } from '@wallet/engine-protocol';

const target = join(resolve(__dirname, '..', '..'), ENGINE_ASYNCAPI_PATH);
const expected = `${JSON.stringify(buildEngineAsyncApi(), null, 2)}\n`;
if (process.argv.includes('--check')) {
  const actual = existsSync(target) ? readFileSync(target, 'utf8') : '';
  if (actual !== expected) {
    process.stderr.write(`${ENGINE_ASYNCAPI_PATH} is stale: run \`npm run docs:engine\`\n`);
    process.exit(1);
  }
  process.stdout.write(`${ENGINE_ASYNCAPI_PATH} is up to date\n`);
} else {
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, expected);
  process.stdout.write(`wrote ${ENGINE_ASYNCAPI_PATH}\n`);
}
