import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../../..');

/**
 * Every process `startBuiltApp` spawned that has not exited yet. It hangs on
 * the test file's global so the e2e test environment (e2e/jest.environment.js)
 * can kill what a failed test left running once the file is done; otherwise
 * the live child keeps the Jest worker, and so the whole run, from exiting.
 */
const LIVE_KEY = '__walletBuiltAppChildren';
const globals = globalThis as { [LIVE_KEY]?: Set<ChildProcess> };
const live = (globals[LIVE_KEY] ??= new Set<ChildProcess>());

export interface ServerAddress {
  name: string;
  url: string;
}

export interface ServiceProcess {
  /** Milliseconds from spawn to the `ready` log line. */
  readyMs: number;
  child: ChildProcess;
  servers: Map<string, string>;
  /** Every stdout/stderr line so far. */
  output: string[];
  dataDir: string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts a built bundle (`dist/apps/<app>/main.js`) with ephemeral ports and a
 * fresh data directory, and waits for its `ready` log line, which lists the URL
 * of each of its HTTP servers.
 */
export async function startBuiltApp(app: string, env: Record<string, string> = {}): Promise<ServiceProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), `wallet-e2e-${app}-`));
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [join(root, 'dist/apps', app, 'main.js')], {
    cwd: dataDir,
    env: {
      PATH: process.env['PATH'] ?? '',
      WALLET_DATA_DIR: dataDir,
      WALLET_SERVER_HOST: '127.0.0.1',
      WALLET_SERVICES_AUTH_PORT: '0',
      WALLET_SERVICES_STORAGE_PORT: '0',
      WALLET_SERVICES_ENGINE_PORT: '0',
      WALLET_SERVICES_REGISTRY_PORT: '0',
      WALLET_SERVICES_ADMIN_PORT: '0',
      WALLET_SERVICES_VERIFIER_PORT: '0',
      WALLET_ALL_IN_ONE_WALLET_PORT: '0',
      WALLET_ALL_IN_ONE_ADMIN_PORT: '0',
      WALLET_ALL_IN_ONE_VERIFIER_PORT: '0',
      // The ports are ephemeral, so the derived default (`http://localhost:<wallet port>`) would
      // change every run: tests use the fixed origin PasskeyTestClient reports. Pass '' for the default.
      WALLET_AUTH_ORIGINS: 'http://localhost:8080',
      // BENCH_NODE_OPTIONS (e.g. `--require ./profile.cjs`) instruments the child, for profiling a bench.
      ...(process.env['BENCH_NODE_OPTIONS'] ? { NODE_OPTIONS: process.env['BENCH_NODE_OPTIONS'] } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const output: string[] = [];
  const exited = new Promise<number | null>((res) =>
    child.once('exit', (code) => {
      live.delete(child);
      res(code);
    }),
  );
  const servers = await new Promise<Map<string, string>>((res, rej) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`${app} did not become ready:\n${output.join('\n')}`));
    }, 20_000);
    const onLine = (line: string) => {
      output.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; servers?: ServerAddress[] };
        if (entry.msg === 'ready' && entry.servers) {
          clearTimeout(timer);
          res(new Map(entry.servers.map((s) => [s.name, s.url])));
        }
      } catch {
        // not a JSON line
      }
    };
    let buffered = '';
    const collect = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      lines.filter(Boolean).forEach(onLine);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`${app} exited with ${code} before it was ready:\n${output.join('\n')}`));
    });
  });
  return {
    readyMs: Number(process.hrtime.bigint() - started) / 1e6,
    child,
    servers,
    output,
    dataDir,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

export function logEntries(output: string[]): Array<Record<string, unknown>> {
  return output.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** utime + stime from a /proc stat file, in seconds (clock ticks of 1/100 s). */
function statCpuSeconds(statPath: string): number {
  const fields = readFileSync(statPath, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds (user + system) a process has used so far, from Linux's /proc. */
export function processCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/** CPU seconds per thread of a process (Linux /proc), keyed by thread id; the main thread's id is the pid. */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(Number(tid), statCpuSeconds(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // the thread ended between listing and reading
    }
  }
  return out;
}
