#!/usr/bin/env node
// `npm run bench`: builds the apps, then runs every bench/*.bench.ts in turn.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const step = (args) => {
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
step([join(root, 'tools/build/bundle.mjs')]);
for (const file of readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.bench.ts')).sort()) {
  console.log(`\n### ${file}`);
  step([join(root, 'tools/scripts/run-ts.mjs'), join('bench', file), ...process.argv.slice(2)]);
}
