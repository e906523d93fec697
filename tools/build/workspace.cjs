// Settings every TypeScript entry point shares (Jest, the bundler, run-ts):
// SWC options from .swcrc and the `@wallet/*` path aliases of tsconfig.base.json.
const { readFileSync } = require('node:fs');
const { join, resolve } = require('node:path');

const root = resolve(__dirname, '../..');

/** `.swcrc` as transform options (without `$schema`, with `swcrc: false`). */
function swcOptions() {
  const { $schema: _schema, ...options } = JSON.parse(readFileSync(join(root, '.swcrc'), 'utf8'));
  return { ...options, swcrc: false };
}

/** Map of alias (`@wallet/config`) to the absolute path of its entry file. */
function pathAliases() {
  const { compilerOptions } = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8'));
  const baseUrl = join(root, compilerOptions.baseUrl ?? '.');
  return new Map(Object.entries(compilerOptions.paths ?? {}).map(([alias, [target]]) => [alias, join(baseUrl, target)]));
}

module.exports = { root, swcOptions, pathAliases };
