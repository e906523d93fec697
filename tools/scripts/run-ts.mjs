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
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const { transformSync } = require('@swc/core');

const swcrc = JSON.parse(readFileSync(join(root, '.swcrc'), 'utf8'));
delete swcrc.$schema;

const { compilerOptions } = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8'));
const baseUrl = join(root, compilerOptions.baseUrl ?? '.');
const exact = new Map();
const wildcards = [];
for (const [alias, [target]] of Object.entries(compilerOptions.paths ?? {})) {
  if (alias.endsWith('/*') && target.endsWith('/*')) wildcards.push([alias.slice(0, -1), join(baseUrl, target.slice(0, -1))]);
  else exact.set(alias, join(baseUrl, target));
}

function aliasTarget(request) {
  if (exact.has(request)) return exact.get(request);
  for (const [prefix, target] of wildcards) if (request.startsWith(prefix)) return target + request.slice(prefix.length);
  return undefined;
}

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, isMain, options) {
  return resolveFilename.call(this, aliasTarget(request) ?? request, parent, isMain, options);
};

// Registering the extension also lets `./foo` resolve to `./foo.ts`.
Module._extensions['.ts'] = function (module, filename) {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    ...swcrc,
    swcrc: false,
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
