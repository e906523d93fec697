#!/usr/bin/env node
// `npm run cluster`: a local cluster that looks like the Helm chart, for
// trying the distributed shape (docs/deployment.md, "A local cluster"):
// helm/wallet rendered as `helm template` renders it, two replicas of each of
// the six services as processes of their own, their own Redis and MongoDB
// wire-protocol server (FerretDB on PostgreSQL when one answers on
// 127.0.0.1:5432), and nginx in front, configured from the rendered Ingresses.
// Everything listens on 127.0.0.1, ports 18400-18446 by default.
//
//   npm run cluster [-- --base-port 18400]
//
// Builds the six bundles first when they are older than the sources, and
// FerretDB and the chart renderer with Go when they are not there yet. Prints
// the URLs once everything answers through nginx; Ctrl-C (SIGINT) or SIGTERM
// stops every process it started. A replica that exits is started again, as
// Kubernetes would. State (logs, the generated nginx.conf, the rendered
// manifest, the admin token) is in tmp/cluster-<base port>/, kept after the
// stop and cleared at the next start.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const APPS = ['auth', 'storage', 'engine', 'registry', 'admin', 'verifier'];

function usage(code) {
  (code ? process.stderr : process.stdout).write('usage: npm run cluster [-- --base-port <port>]   (default 18400, or WALLET_CLUSTER_BASE_PORT)\n');
  process.exit(code);
}

const args = process.argv.slice(2);
let basePort = Number(process.env.WALLET_CLUSTER_BASE_PORT || 18400);
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--help' || arg === '-h') usage(0);
  else if (arg === '--base-port') basePort = Number(args[++i]);
  else if (arg.startsWith('--base-port=')) basePort = Number(arg.slice('--base-port='.length));
  else usage(2);
}
if (!Number.isInteger(basePort) || basePort < 1024 || basePort > 32_700) {
  process.stderr.write('cluster: --base-port must be a port number from 1024 to 32700 (the cluster uses 47 ports from it)\n');
  process.exit(2);
}

const say = (message) => process.stdout.write(`[cluster] ${message}\n`);

/** Newest modification time under `dir` (TypeScript sources and JSON), in ms. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path));
    else if (/\.(ts|json)$/.test(entry.name) && !/\.spec\.ts$/.test(entry.name)) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

// 1. Bundles: rebuilt when a source, the lockfile or the TypeScript settings are newer.
const sources = Math.max(newest(join(root, 'libs')), newest(join(root, 'apps')), ...['tsconfig.base.json', 'package-lock.json', 'tools/build/bundle.mjs'].map((f) => statSync(join(root, f)).mtimeMs));
const stale = APPS.filter((app) => {
  const bundle = join(root, 'dist/apps', app, 'main.js');
  return !existsSync(bundle) || statSync(bundle).mtimeMs < sources;
});
if (stale.length > 0) {
  say(`building ${stale.join(', ')} (older than their sources)`);
  const built = spawnSync(process.execPath, [join(root, 'tools/build/bundle.mjs'), ...stale], { stdio: 'inherit', cwd: root });
  if (built.status !== 0) process.exit(built.status ?? 1);
}

// 2. A cluster a killed `npm run cluster` left behind: its processes work in the state directory.
const stateDir = join(root, 'tmp', `cluster-${basePort}`);
function leftovers() {
  const found = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      if ((cwd === stateDir || cwd.startsWith(`${stateDir}/`)) && Number(pid) !== process.pid) found.push(Number(pid));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}
if (existsSync('/proc')) {
  const old = leftovers();
  if (old.length > 0) {
    say(`stopping ${old.length} processes of an earlier cluster in ${stateDir} (pids ${old.join(' ')})`);
    for (const pid of old) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    spawnSync('sleep', ['0.5']);
  }
}
rmSync(stateDir, { recursive: true, force: true });
mkdirSync(stateDir, { recursive: true });

// 3. The cluster (libs/testing/src/cluster), from the TypeScript sources.
const require = createRequire(import.meta.url);
require('../build/register-ts.cjs');
const { LocalCluster } = require('../../libs/testing/src/cluster/local-cluster.ts');
const { findMongoBinary } = require('../../libs/testing/src/mongo-server.ts');

// The store's server: FerretDB, built once with Go (as the tests do) when neither it nor a mongod is there.
if (!findMongoBinary()) {
  say('no FerretDB or mongod found: building FerretDB with tools/ferretdb/build.sh (once, into ~/.cache/wallet)');
  const built = spawnSync('bash', [join(root, 'tools/ferretdb/build.sh')], { stdio: 'inherit', cwd: root });
  if (built.status !== 0) process.exit(built.status ?? 1);
}

let cluster = null;
let stopping = false;
let stoppingSince = 0;
async function stop(signal) {
  if (stopping) {
    // npm passes the terminal's Ctrl-C on to this process, which the terminal already signalled: the same one.
    if (Date.now() - stoppingSince < 1500) return;
    say(`${signal} again: killing what is left`);
    for (const replica of cluster?.replicas ?? []) await replica.kill('SIGKILL');
    process.exit(130);
  }
  stopping = true;
  stoppingSince = Date.now();
  say(`${signal}: stopping`);
  try {
    if (cluster) await cluster.stop();
    else {
      // Still starting: stop whatever has started so far (it all works in the state directory).
      for (const pid of leftovers()) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      for (let i = 0; i < 100 && leftovers().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
      for (const pid of leftovers()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    say(`stopped; logs in ${join(stateDir, 'logs')}`);
    process.exit(0);
  } catch (error) {
    process.stderr.write(`[cluster] stopping failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGHUP', () => void stop('SIGHUP'));
// The launcher (npm) gone without passing a signal on: stop too.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent && !stopping) void stop('parent exited');
}, 500).unref();

try {
  const started = Date.now();
  cluster = await LocalCluster.start({ basePort, stateDir, restartPolicy: 'Always', log: say });
  if (stopping) await new Promise(() => undefined);
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n\n${cluster.describe()}\n\nCtrl-C stops everything.`);
  cluster.watchReadiness(say);
} catch (error) {
  process.stderr.write(`[cluster] ${error instanceof Error ? error.message : String(error)}\n`);
  if (!stopping) process.exit(1);
}
// Keep running until a signal.
setInterval(() => undefined, 1 << 30);
