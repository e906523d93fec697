#!/usr/bin/env node
// `npm start`: builds the all-in-one bundle (a couple of seconds) and runs it.
// Arguments after `--` go to the process (`npm start -- --storage.type=memory`).
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const built = spawnSync(process.execPath, [join(root, 'tools/build/bundle.mjs'), 'all-in-one'], { stdio: 'inherit', cwd: root });
if (built.status !== 0) process.exit(built.status ?? 1);

const child = spawn(process.execPath, ['--enable-source-maps', join(root, 'dist/apps/all-in-one/main.js'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  cwd: root,
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
