import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { logEntries, startBuiltApp } from '@wallet/testing';

/**
 * How the stack starts and stops as a new user (or a supervisor, or a terminal
 * tool) runs it: `npm start`, `npx nx serve`, a signal to the process that was
 * started, and a port that is already taken. The launchers run the bundles
 * `npm test` built (START_SKIP_BUILD=1): rebuilding them here would race the
 * other e2e files that run them.
 */

const ROOT = resolve(__dirname, '../..');

interface Launched {
  child: ChildProcess;
  output: string[];
  /** The server process's `ready` line: its pid and servers. */
  ready: Promise<{ pid: number; servers: Array<{ name: string; url: string; address: string }> }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The environment of the user's shell, without what the outer `npm test` added. */
function userEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(npm_|WALLET_|NX_|JEST_|TEST_)/i.test(key)) env[key] = value;
  }
  return { ...env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false', START_SKIP_BUILD: '1', ...extra };
}

function launch(command: string, args: string[], dataDir: string): Launched {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: userEnv({
      WALLET_DATA_DIR: dataDir,
      WALLET_SERVER_HOST: '127.0.0.1',
      WALLET_ALL_IN_ONE_WALLET_PORT: '0',
      WALLET_ALL_IN_ONE_ADMIN_PORT: '0',
      WALLET_ALL_IN_ONE_VERIFIER_PORT: '0',
      WALLET_LOGGING_LEVEL: 'info',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal })),
  );
  const ready = new Promise<{ pid: number; servers: Array<{ name: string; url: string; address: string }> }>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${command} ${args.join(' ')} was not ready in time:\n${output.join('\n')}`)), 45_000);
    let buffered = '';
    const collect = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        output.push(line);
        const entry = logEntries([line])[0];
        if (entry?.['msg'] === 'ready') {
          clearTimeout(timer);
          res({ pid: entry['pid'] as number, servers: entry['servers'] as Array<{ name: string; url: string; address: string }> });
        }
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    void exited.then(() => {
      clearTimeout(timer);
      rej(new Error(`${command} exited before it was ready:\n${output.join('\n')}`));
    });
  });
  ready.catch(() => undefined);
  return { child, output, ready, exited };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(2000) });
    return false;
  } catch {
    return true;
  }
}

describe('stopping what was started', () => {
  let dataDir: string;
  const cleanup: number[] = [];
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'wallet-start-stop-'));
  });
  afterEach(() => {
    for (const pid of cleanup.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function expectAllStopped(launched: Launched, server: { pid: number; servers: Array<{ url: string }> }) {
    expect(await gone(server.pid, 10_000)).toBe(true);
    for (const { url } of server.servers) expect(await refused(url)).toBe(true);
    expect(logEntries(launched.output).some((e) => e['msg'] === 'shutdown complete')).toBe(true);
  }

  it('SIGTERM to `npm start` stops npm and the server, and frees every port', async () => {
    const launched = launch('npm', ['start'], dataDir);
    const server = await launched.ready;
    cleanup.push(server.pid, launched.child.pid!);
    expect(server.servers.map((s) => s.name)).toEqual(['wallet', 'admin', 'verifier']);
    launched.child.kill('SIGTERM');
    const exit = await launched.exited;
    // npm waits for the server to finish, then ends the way it did.
    expect(alive(server.pid)).toBe(false);
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    await expectAllStopped(launched, server);
  }, 60_000);

  it('when `npm start` is killed outright, the server notices and stops by itself', async () => {
    const launched = launch('npm', ['start'], dataDir);
    const server = await launched.ready;
    cleanup.push(server.pid);
    launched.child.kill('SIGKILL');
    await launched.exited;
    await expectAllStopped(launched, server);
    expect(launched.output.join('\n')).toMatch(/start: npm start \(pid \d+\) has exited; stopping/);
  }, 60_000);

  it('SIGTERM to `npx nx serve all-in-one` stops nx and the server, and frees every port', async () => {
    const launched = launch('npx', ['nx', 'serve', 'all-in-one'], dataDir);
    const server = await launched.ready;
    cleanup.push(server.pid, launched.child.pid!);
    launched.child.kill('SIGTERM');
    await launched.exited;
    await expectAllStopped(launched, server);
  }, 120_000);
});

describe('a port that is already taken', () => {
  let blocker: Server;
  let port: number;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    port = (blocker.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => blocker.close(() => r()));
  });

  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected the start to fail');
      },
      (error: Error) => error.message,
    );

  it('stops the all-in-one with a message that names the port and the setting to change, and a real error in the log', async () => {
    const output = await failure(startBuiltApp('all-in-one', { WALLET_ALL_IN_ONE_ADMIN_PORT: String(port) }));
    expect(output).toMatch(/exited with 1/);
    expect(output).toContain(
      `all-in-one: failed to start: port ${port} (the admin server) is already in use by another program or another wallet process; ` +
        `stop that one, or choose another port with allInOne.adminPort (WALLET_ALL_IN_ONE_ADMIN_PORT=... or --allInOne.adminPort=...)`,
    );
    const fatal = logEntries(output.split('\n')).find((e) => e['level'] === 'fatal');
    expect(fatal).toMatchObject({
      msg: expect.stringContaining(`failed to start: port ${port} (the admin server) is already in use`),
      err: { type: 'Error', code: 'EADDRINUSE', message: expect.stringContaining('EADDRINUSE') },
    });
    expect((fatal!['err'] as { stack: string }).stack).toMatch(/^Error: listen EADDRINUSE/);
    // A start that failed hands out no admin token.
    expect(output).not.toContain('Admin API token');
  });

  it('names the standalone service port setting too', async () => {
    const output = await failure(startBuiltApp('auth', { WALLET_SERVICES_AUTH_PORT: String(port) }));
    expect(output).toContain(`auth: failed to start: port ${port} (the auth server) is already in use`);
    expect(output).toContain('services.auth.port (WALLET_SERVICES_AUTH_PORT=... or --services.auth.port=...)');
  });
});
