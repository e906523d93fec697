import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { request } from 'node:http';
import { createConnection, createServer } from 'node:net';
import { trackChild } from '../processes';

/**
 * The processes of the local cluster: each keeps the tail of its output in
 * memory (for error messages) and all of it in a log file, and can be killed
 * with any signal and started again with the same command, environment and
 * port, as Kubernetes restarts a container.
 */

/** Built apps hang here so the e2e environment kills what a failed test file left running (see built-app.ts). */
const LIVE_KEY = '__walletBuiltAppChildren';
const live = ((globalThis as { [LIVE_KEY]?: Set<ChildProcess> })[LIVE_KEY] ??= new Set<ChildProcess>());

const TAIL_LINES = 300;

export interface ProcessSpec {
  /** Shown in messages and log file names, e.g. `wallet-auth-0`. */
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
  /** Written to stdin, which is then closed (Redis reads its password this way). */
  stdin?: string;
}

export class ManagedProcess {
  child: ChildProcess | null = null;
  /** The last lines of output (stdout and stderr), across restarts. */
  readonly tail: string[] = [];
  /** How often it was started. */
  starts = 0;
  private exited: Promise<void> = Promise.resolve();
  private log: WriteStream | null = null;
  private readonly lineListeners = new Set<(line: string) => void>();
  private readonly exitListeners = new Set<(code: number | null, signal: NodeJS.Signals | null) => void>();

  constructor(readonly spec: ProcessSpec) {}

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  onLine(listener: (line: string) => void): () => void {
    this.lineListeners.add(listener);
    return () => this.lineListeners.delete(listener);
  }

  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  /** Spawns the process (it must not be running). */
  spawn(): ChildProcess {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.starts += 1;
    this.log ??= createWriteStream(this.spec.logFile, { flags: 'a' });
    this.log.write(`--- start ${this.starts} at ${new Date().toISOString()}\n`);
    const child = spawn(this.spec.command, this.spec.args, {
      cwd: this.spec.cwd,
      env: this.spec.env,
      stdio: [this.spec.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      // A process group of its own: a Ctrl-C in the terminal reaches only the launcher, which
      // stops everything in order (nginx first, then the replicas drain, then Redis and the store).
      // If the launcher dies, the exit hook of trackChild kills what it started.
      detached: true,
    });
    this.child = child;
    trackChild(child);
    live.add(child);
    if (this.spec.stdin !== undefined) child.stdin?.end(this.spec.stdin);
    let buffered = '';
    const collect = (chunk: Buffer) => {
      this.log?.write(chunk);
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (!line) continue;
        this.tail.push(line);
        if (this.tail.length > TAIL_LINES) this.tail.shift();
        for (const listener of this.lineListeners) listener(line);
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise<void>((resolve) => {
      child.once('error', (error) => {
        this.tail.push(`failed to start: ${error.message}`);
      });
      child.once('close', (code, signal) => {
        live.delete(child);
        this.log?.write(`--- exited with ${signal ?? code} at ${new Date().toISOString()}\n`);
        for (const listener of this.exitListeners) listener(code, signal);
        resolve();
      });
    });
    return child;
  }

  /** Sends a signal; resolves once the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) this.child!.kill(signal);
    await this.exited;
  }

  /** SIGTERM, SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 20_000): Promise<void> {
    if (!this.running) return this.exited;
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the log file (after the last stop). */
  async close(): Promise<void> {
    const log = this.log;
    this.log = null;
    if (log) await new Promise<void>((resolve) => log.end(resolve));
  }

  /** Why it is not running, for messages. */
  describeExit(): string {
    const child = this.child;
    if (!child) return 'was never started';
    if (child.exitCode !== null) return `exited with ${child.exitCode}`;
    if (child.signalCode !== null) return `was killed by ${child.signalCode}`;
    return 'is running';
  }

  /** The tail of the output, for error messages. */
  lastOutput(lines = 40): string {
    return this.tail.slice(-lines).join('\n');
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `intervalMs` until it resolves true; throws `describe()` after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, describe: () => string, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(describe());
    await sleep(intervalMs);
  }
}

/** True when something accepts TCP connections on host:port. */
export function accepts(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => finish(true));
  });
}

/** True when nothing listens on host:port and this process may bind it. */
export function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export interface PlainAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One plain HTTP request (to a replica, a Service listener or the ingress with a Host header). */
export function httpGet(url: string, options: { host?: string; timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<PlainAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: 'GET',
        headers: { ...(options.host ? { host: options.host } : {}), ...options.headers },
        timeout: options.timeoutMs ?? 3000,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${options.timeoutMs ?? 3000} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The HTTP status of GET url, or 0 when no answer came. */
export async function statusOf(url: string, options: { host?: string; timeoutMs?: number } = {}): Promise<number> {
  try {
    return (await httpGet(url, options)).status;
  } catch {
    return 0;
  }
}
