/**
 * Writes docs/api/admin.openapi.json from the admin routes' schemas. With
 * --check, writes nothing and exits 1 when the committed file is stale (a Jest
 * test checks the same).
 *
 *   node tools/scripts/run-ts.mjs tools/docs/generate-admin-openapi.ts [--check]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ADMIN_OPENAPI_PATH, buildAdminOpenApi } from '@wallet/admin-feature';

const target = join(resolve(__dirname, '..', '..'), ADMIN_OPENAPI_PATH);
const expected = `${JSON.stringify(buildAdminOpenApi(), null, 2)}\n`;
if (process.argv.includes('--check')) {
  const actual = existsSync(target) ? readFileSync(target, 'utf8') : '';
  if (actual !== expected) {
    process.stderr.write(`${ADMIN_OPENAPI_PATH} is stale: run node tools/scripts/run-ts.mjs tools/docs/generate-admin-openapi.ts\n`);
    process.exit(1);
  }
} else {
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, expected);
  process.stdout.write(`wrote ${ADMIN_OPENAPI_PATH}\n`);
}
