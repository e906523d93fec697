import { spawn, type ChildProcess } from 'node:child_process';

import { createServer } from 'node:net';

const STOP_TIMEOUT_MS = 5_000;
const spawned = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Makes sure no test server outlives the test process, even when a suite forgets `stop()`. */
export function trackChild(child: ChildProcess): void {
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const running of spawned) running.kill('SIGKILL');
    });
  }
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not find a free port'))));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface SpawnedServer {
  child: ChildProcess;
  /** The last 4000 characters of stdout and stderr, for error messages. */
  output(): string;
  /** Why the process is gone (`exited with 1`, `failed to start: ...`), or null while it runs. */
  exited(): string | null;
}

/** Spawns a test server, tracked so it dies with the test process, keeping the tail of its output. */
export function spawnServerProcess(binary: string, args: string[]): SpawnedServer {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });
  child.once('error', (error) => {
    exited = `failed to start: ${error.message}`;
  });
  return { child, output: () => output, exited: () => exited };
}
