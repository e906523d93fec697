#!/usr/bin/env node
// Runs the wallet-admin CLI, building its bundle first when it is missing or
// older than its sources:  node tools/scripts/wallet-admin.mjs tenant list
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bundle = join(root, 'dist', 'apps', 'wallet-admin', 'main.js');
const sources = join(root, 'apps', 'wallet-admin', 'src');

const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
    const path = join(dir, entry.name);
    return Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }, 0);

if (!existsSync(bundle) || statSync(bundle).mtimeMs < newest(sources)) {
  const built = spawnSync(process.execPath, [join(root, 'tools', 'build', 'bundle.mjs'), 'wallet-admin'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
const run = spawnSync(process.execPath, [bundle, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(run.status ?? 1);
