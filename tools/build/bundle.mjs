#!/usr/bin/env node
// Bundles an app into dist/apps/<app>/main.js (plus the worker thread scripts
// it starts, next to it): CommonJS with the workspace libraries inlined and npm packages left external (they come from
// node_modules at run time). esbuild does the bundling; SWC transpiles the
// TypeScript because Nest's dependency injection needs decorator metadata,
// which esbuild does not emit.
import { build } from 'esbuild';
import { transform } from '@swc/core';
import { readFile, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import workspace from './workspace.cjs';

const { root } = workspace;
const swcrc = workspace.swcOptions();

const swcPlugin = {
  name: 'swc-decorators',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const out = await transform(source, {
        ...swcrc,
        filename: args.path,
        module: { type: 'es6' },
        sourceMaps: 'inline',
      });
      return { contents: out.code, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

/**
 * Worker thread entries, bundled next to main.js of the apps whose bundle
 * holds the module that starts them (it starts them from its own directory:
 * `join(__dirname, '<name>.js')`).
 */
const WORKERS = [
  {
    name: 'presentation-worker',
    entry: 'libs/verifier/feature/src/presentation-worker.ts',
    startedBy: 'libs/verifier/feature/src/presentation-workers.ts',
  },
];

async function bundle(app) {
  const entry = join(root, 'apps', app, 'src', 'main.ts');
  if (!existsSync(entry)) throw new Error(`no such app: ${app} (${entry} is missing)`);
  const started = Date.now();
  const outdir = join(root, 'dist', 'apps', app);
  const options = {
    outdir,
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    tsconfig: join(root, 'tsconfig.base.json'),
    sourcemap: 'linked',
    plugins: [swcPlugin],
    logLevel: 'warning',
    // Nest and the drivers load optional packages lazily; keep those calls as they are.
    keepNames: true,
  };
  const { metafile } = await build({ ...options, entryPoints: { main: entry }, metafile: true });
  for (const worker of WORKERS) {
    if (metafile.inputs[worker.startedBy]) await build({ ...options, entryPoints: { [worker.name]: join(root, worker.entry) } });
    else await rm(join(outdir, `${worker.name}.js`), { force: true }).then(() => rm(join(outdir, `${worker.name}.js.map`), { force: true }));
  }
  console.log(`built ${app} in ${Date.now() - started} ms -> dist/apps/${app}/main.js`);
}

const requested = process.argv.slice(2);
const apps = requested.length > 0
  ? requested
  : (await readdir(join(root, 'apps'), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
for (const app of apps) await bundle(app);
