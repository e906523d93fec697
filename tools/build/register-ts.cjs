// Lets Node require the workspace's TypeScript sources without a build step:
// `.ts` files are transpiled on require with @swc/core, using the workspace
// `.swcrc` (as Jest does; no type checking), and the `@wallet/*` path aliases
// of tsconfig.base.json resolve to their sources. Used by run-ts.mjs and by
// worker threads started from sources (in tests), which Jest's transform
// does not reach.
const { readFileSync } = require('node:fs');
const Module = require('node:module');
const { transformSync } = require('@swc/core');
const { swcOptions, pathAliases } = require('./workspace.cjs');

if (!Module._extensions['.ts']) {
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
}
