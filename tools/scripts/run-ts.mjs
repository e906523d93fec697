// Runs a TypeScript file without a build step:
//
//   node tools/scripts/run-ts.mjs <file.ts> [args...]
//
// `.ts` files are transpiled on require with @swc/core, using the workspace
// `.swcrc` (the same settings Jest uses; no type checking, that is
// `npm run typecheck`), and the `@wallet/*` path aliases of
// tsconfig.base.json resolve to their sources. The file sees its own path as
// process.argv[1] and the remaining arguments after it.
import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { resolve } from 'node:path';

const require = createRequire(import.meta.url);
const { transformSync } = require('@swc/core');
const { swcOptions, pathAliases } = require('../build/workspace.cjs');

const swcrc = swcOptions();
const aliases = pathAliases();

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, isMain, options) {
  return resolveFilename.call(this, aliases.get(request) ?? request, parent, isMain, options);
};

// Registering the extension also lets `./foo` resolve to `./foo.ts`.
Module._extensions['.ts'] = function (module, filename) {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    ...swcrc,
    configFile: false,
    filename,
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};
process.setSourceMapsEnabled?.(true);

const [file, ...args] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node tools/scripts/run-ts.mjs <file.ts> [args...]\n');
  process.exit(2);
}
const entry = resolve(process.cwd(), file);
process.argv = [process.argv[0], entry, ...args];
require(entry);
