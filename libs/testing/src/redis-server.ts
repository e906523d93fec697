import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { freePort, sleep, spawnServerProcess, stopChild } from './processes';
import { redisInlineProbe } from './probes';
import { findExecutable } from './suites';

/**
 * Real Redis servers for driver suites. `startRedis()` uses `REDIS_URL` when
 * set (a shared server: use `uniquePrefix()` for every key and channel) and
 * otherwise spawns a throwaway `redis-server` on a free loopback port with
 * persistence off. `startOwnRedis()` always spawns one, for tests that stop
 * and restart the server.
 */

const START_TIMEOUT_MS = 10_000;

export interface RedisHandle {
  /** `redis://127.0.0.1:<port>` or `REDIS_URL`. */
  readonly url: string;
  /** Stops the spawned server; a no-op for `REDIS_URL`. */
  stop(): Promise<void>;
}

export interface OwnRedis extends RedisHandle {
  readonly port: number;
  /** Starts the server again on the same port after `stop()`. */
  start(): Promise<void>;
}

/** True when a Redis suite can run: `REDIS_URL` is set or `redis-server` is on PATH. */
export function redisAvailable(): boolean {
  return Boolean(process.env['REDIS_URL']) || findExecutable('redis-server') !== null;
}

/** A key/channel prefix no other test run uses, e.g. `test:4242:9f2c1a7e:`. */
export function uniquePrefix(label = 'test'): string {
  return `${label}:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

/** `REDIS_URL` when set, otherwise a freshly spawned server. */
export async function startRedis(): Promise<RedisHandle> {
  const shared = process.env['REDIS_URL'];
  if (shared) return { url: shared, stop: async () => undefined };
  const own = await startOwnRedis();
  return { url: own.url, stop: () => own.stop() };
}

/** Always spawns a server (on `port`, or a free one) that the caller can stop and start again. */
export async function startOwnRedis(port?: number): Promise<OwnRedis> {
  const binary = findExecutable('redis-server');
  if (!binary) throw new Error('redis-server was not found on PATH');
  const chosenPort = port ?? (await freePort());
  let child: ChildProcess | null = null;

  const handle: OwnRedis = {
    url: `redis://127.0.0.1:${chosenPort}`,
    port: chosenPort,
    async start() {
      if (child) throw new Error(`redis-server on port ${chosenPort} is already running`);
      child = await spawnRedis(binary, chosenPort);
    },
    async stop() {
      const running = child;
      child = null;
      if (running) await stopChild(running);
    },
  };
  await handle.start();
  return handle;
}

async function spawnRedis(binary: string, port: number): Promise<ChildProcess> {
  // No persistence: a stopped server comes back empty, like a fresh one.
  const settings: Record<string, string> = {
    port: String(port),
    bind: '127.0.0.1',
    save: '',
    appendonly: 'no',
    dir: tmpdir(),
    daemonize: 'no',
    loglevel: 'warning',
  };
  const args = Object.entries(settings).flatMap(([name, value]) => [`--${name}`, value]);
  const server = spawnServerProcess(binary, args);
  const child = server.child;

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.exited()) throw new Error(`redis-server on port ${port} ${server.exited()}:\n${server.output()}`);
    if (await answersPing(port)) return child;
    await sleep(50);
  }
  await stopChild(child);
  throw new Error(
    `redis-server on port ${port} did not answer PING within ${START_TIMEOUT_MS} ms:\n${server.output()}`,
  );
}

/** Sends an inline `PING` and resolves true on `+PONG`. */
function answersPing(port: number): Promise<boolean> {
  return redisInlineProbe(port, 'PING\r\n', (reply) => (reply.includes('\r\n') ? reply.startsWith('+PONG') : undefined));
}
