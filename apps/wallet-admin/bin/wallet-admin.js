#!/usr/bin/env node
// The `wallet-admin` command (`npx wallet-admin tenant list`): runs the CLI's
// bundle, building it first when it is missing or older than its sources.
// Nothing but the command's own output goes to stdout, so
// `npx wallet-admin tenant list -o json | jq` works.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join, resolve } = require('node:path');

const root = resolve(__dirname, '..', '..', '..');
const bundle = join(root, 'dist', 'apps', 'wallet-admin', 'main.js');
const sources = join(root, 'apps', 'wallet-admin', 'src');

const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
    const path = join(dir, entry.name);
    return Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }, 0);

if (!existsSync(bundle) || statSync(bundle).mtimeMs < newest(sources)) {
  // The build's own line ("built wallet-admin in ...") would end up in the command's output: stdout ignored.
  const built = spawnSync(process.execPath, [join(root, 'tools', 'build', 'bundle.mjs'), 'wallet-admin'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
require(bundle);
