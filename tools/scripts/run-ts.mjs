// Runs a TypeScript file without a build step:
//
//   node tools/scripts/run-ts.mjs <file.ts> [args...]
//
// `.ts` files are transpiled on require (tools/build/register-ts.cjs: the
// workspace `.swcrc`, the same settings Jest uses; no type checking, that is
// `npm run typecheck`), and the `@wallet/*` path aliases of tsconfig.base.json
// resolve to their sources. The file sees its own path as process.argv[1] and
// the remaining arguments after it.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const require = createRequire(import.meta.url);
require('../build/register-ts.cjs');

const [file, ...args] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node tools/scripts/run-ts.mjs <file.ts> [args...]\n');
  process.exit(2);
}
const entry = resolve(process.cwd(), file);
process.argv = [process.argv[0], entry, ...args];
require(entry);
