#!/usr/bin/env node
// `npm start` and `nx serve <app>`: builds the app's bundle (a couple of seconds)
// and runs it in this process.
//   node tools/scripts/start.mjs [app] [flags]
// `app` is all-in-one (default) or one of the six services; the flags go to the
// app (`npm start -- --storage.type=memory`). START_SKIP_BUILD=1 runs the
// existing bundle (tests that run next to other users of dist/).
//
// Stopping: SIGTERM or SIGINT to this process stops every server gracefully;
// `npm start` runs it with `exec`, so a signal sent to npm reaches it. If the
// npm, npx or nx process that started it goes away without passing the signal
// on (a shell in between dies, or it is killed outright), this process notices
// within half a second and stops as well: nothing is left holding the ports.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const app = args[0] && !args[0].startsWith('-') ? args.shift() : 'all-in-one';
if (!existsSync(join(root, 'apps', app, 'src', 'main.ts'))) {
  process.stderr.write(`start: no such app: ${app} (apps/${app}/src/main.ts is missing)\n`);
  process.exit(2);
}

/** pid, parent pid, start time and command line of a process, from /proc (Linux); null when it is gone. */
function processInfo(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { pid, ppid: Number(fields[1]), started: fields[19], argv };
  } catch {
    return null;
  }
}

/** True for the processes that start this one on the user's behalf: npm, npx, nx, and `sh -c` in between. */
function isLauncher(argv) {
  // npm sets its process title ("npm start", "npm exec nx serve auth"): one string with spaces.
  const words = argv.length === 1 ? argv[0].split(' ') : argv;
  const name = basename(words[0] ?? '');
  if (name === 'npm' || name === 'npx') return true;
  if (['sh', 'dash', 'bash', 'zsh'].includes(name) && words[1] === '-c') return true;
  return words.slice(0, 2).some((word) => /(^|\/)(npm-cli\.js|npx-cli\.js|nx|nx\.js)$/.test(word));
}

/** The chain of launchers above this process, nearest first (Linux); empty elsewhere. */
function launchers() {
  const chain = [];
  let info = processInfo(process.ppid);
  while (info && info.pid > 1 && isLauncher(info.argv) && chain.length < 8) {
    chain.push(info);
    info = processInfo(info.ppid);
  }
  return chain;
}

function watchLaunchers() {
  const chain = launchers();
  const initialParent = process.ppid;
  const timer = setInterval(() => {
    const gone =
      chain.find((launcher) => processInfo(launcher.pid)?.started !== launcher.started) ??
      // Without /proc: the parent npm or nx ran (they set these) and it is gone.
      (chain.length === 0 && (process.env.npm_lifecycle_event || process.env.NX_TASK_TARGET_PROJECT) && process.ppid !== initialParent
        ? { pid: initialParent, argv: ['the parent process'] }
        : undefined);
    if (!gone) return;
    clearInterval(timer);
    process.stderr.write(`start: ${gone.argv.join(' ')} (pid ${gone.pid}) has exited; stopping\n`);
    process.kill(process.pid, 'SIGTERM');
  }, 500);
  timer.unref();
}

if (process.env.START_SKIP_BUILD !== '1') {
  const built = spawnSync(process.execPath, [join(root, 'tools/build/bundle.mjs'), app], { stdio: 'inherit', cwd: root });
  if (built.status !== 0) process.exit(built.status ?? 1);
}

watchLaunchers();
const bundle = join(root, 'dist/apps', app, 'main.js');
process.setSourceMapsEnabled(true);
// The app reads its flags from process.argv.slice(2), as if started with `node dist/apps/<app>/main.js`.
process.argv = [process.argv[0], bundle, ...args];
createRequire(import.meta.url)(bundle);
