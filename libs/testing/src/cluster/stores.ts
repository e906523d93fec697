import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findMongoBinary, type MongoBinary } from '../mongo-server';
import { mongoAnswersPing, redisInlineProbe } from '../probes';
import { findExecutable } from '../suites';
import { ManagedProcess, sleep, waitFor } from './processes';

/**
 * The local cluster's own Redis and MongoDB wire-protocol server, on ports of
 * their own, so stopping them hurts nobody else. Redis runs as the chart's
 * bundled one does (password read from stdin, no persistence, memory cap);
 * the store is FerretDB on PostgreSQL (a database of its own, created fresh)
 * when PostgreSQL answers, FerretDB on SQLite when not, or a `mongod` when
 * that is all there is.
 */

const run = promisify(execFile);
const HOST = '127.0.0.1';

export interface RestartableServer {
  readonly url: string;
  readonly port: number;
  readonly process: ManagedProcess;
  /** Starts it and waits until it answers. */
  start(): Promise<void>;
  /** SIGTERM (or `signal`), and waits until it is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export class ClusterRedis implements RestartableServer {
  readonly process: ManagedProcess;
  private readonly password = randomBytes(18).toString('base64url');

  constructor(
    readonly port: number,
    dir: string,
    logDir: string,
    settings: { maxmemory: string; maxmemoryPolicy: string } = { maxmemory: '192mb', maxmemoryPolicy: 'volatile-lru' },
  ) {
    const binary = findExecutable('redis-server');
    if (!binary) throw new Error('redis-server is not on PATH (sudo apt-get install redis-server)');
    mkdirSync(dir, { recursive: true });
    this.process = new ManagedProcess({
      name: 'redis',
      command: binary,
      // As the chart's bundled Redis: no persistence, a memory cap; the password comes on stdin ("-" last).
      args: ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory', settings.maxmemory, '--maxmemory-policy', settings.maxmemoryPolicy, '--loglevel', 'warning', '-'],
      env: { PATH: process.env['PATH'] ?? '' },
      cwd: dir,
      logFile: join(logDir, 'redis.log'),
      stdin: `requirepass "${this.password}"\n`,
    });
  }

  get url(): string {
    return `redis://default:${this.password}@${HOST}:${this.port}`;
  }

  async start(): Promise<void> {
    this.process.spawn();
    await waitFor(
      async () => {
        if (!this.process.running) throw new Error(`redis-server ${this.process.describeExit()}:\n${this.process.lastOutput()}`);
        return this.ping();
      },
      10_000,
      () => `redis-server on port ${this.port} did not answer:\n${this.process.lastOutput()}`,
      50,
    );
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (signal === 'SIGTERM') await this.process.stop(5_000);
    else await this.process.kill(signal);
  }

  /** AUTH and PING over a raw connection. */
  ping(): Promise<boolean> {
    return redisInlineProbe(this.port, `AUTH default ${this.password}\r\nPING\r\n`, (reply) =>
      reply.split('\r\n').length >= 3 ? reply.startsWith('+OK\r\n+PONG') : undefined,
    );
  }
}

export interface StoreOptions {
  port: number;
  dir: string;
  logDir: string;
  /** The PostgreSQL database FerretDB keeps its data in (created fresh, dropped by `destroy`). */
  postgresDatabase: string;
  /** Where PostgreSQL is: `postgres://user@host:port`. Default `WALLET_CLUSTER_POSTGRES_URL` or postgres://postgres@127.0.0.1:5432. */
  postgresUrl?: string;
}

export class ClusterStore implements RestartableServer {
  readonly process: ManagedProcess;
  /** What serves the wire protocol: `ferretdb on postgresql`, `ferretdb on sqlite` or `mongod`. */
  readonly description: string;

  private constructor(
    readonly port: number,
    binary: MongoBinary,
    args: string[],
    options: StoreOptions,
    private readonly postgres: { url: string; database: string } | null,
  ) {
    this.description = binary.kind === 'mongod' ? 'mongod' : `FerretDB on ${postgres ? 'PostgreSQL' : 'SQLite'}`;
    this.process = new ManagedProcess({
      name: 'store',
      command: binary.path,
      args,
      env: { PATH: process.env['PATH'] ?? '', HOME: options.dir },
      cwd: options.dir,
      logFile: join(options.logDir, 'store.log'),
    });
  }

  /** Finds a server binary and prepares its data (a fresh PostgreSQL database); does not start it. */
  static async create(options: StoreOptions): Promise<ClusterStore> {
    const binary = findMongoBinary();
    if (!binary) throw new Error('no FerretDB or mongod: run tools/ferretdb/build.sh (builds FerretDB with Go into ~/.cache/wallet)');
    mkdirSync(options.dir, { recursive: true });
    const listen = `${HOST}:${options.port}`;
    if (binary.kind === 'mongod') {
      return new ClusterStore(options.port, binary, ['--dbpath', options.dir, '--port', String(options.port), '--bind_ip', HOST, '--quiet'], options, null);
    }
    const common = [`--listen-addr=${listen}`, `--state-dir=${options.dir}`, '--telemetry=disable', '--log-level=warn', '--debug-addr=-'];
    const postgresUrl = (options.postgresUrl ?? process.env['WALLET_CLUSTER_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
    if (await postgresAnswers(postgresUrl)) {
      await psql(postgresUrl, `drop database if exists ${options.postgresDatabase} with (force)`);
      await psql(postgresUrl, `create database ${options.postgresDatabase}`);
      const postgres = { url: postgresUrl, database: options.postgresDatabase };
      return new ClusterStore(options.port, binary, ['--handler=postgresql', `--postgresql-url=${postgresUrl}/${options.postgresDatabase}`, ...common], options, postgres);
    }
    mkdirSync(join(options.dir, 'sqlite'), { recursive: true });
    return new ClusterStore(options.port, binary, ['--handler=sqlite', `--sqlite-url=file:${join(options.dir, 'sqlite')}/`, ...common], options, null);
  }

  get url(): string {
    return `mongodb://${HOST}:${this.port}`;
  }

  async start(): Promise<void> {
    this.process.spawn();
    await waitFor(
      async () => {
        if (!this.process.running) throw new Error(`the store (${this.description}) ${this.process.describeExit()}:\n${this.process.lastOutput()}`);
        return mongoAnswersPing(this.port);
      },
      30_000,
      () => `the store (${this.description}) on port ${this.port} did not answer:\n${this.process.lastOutput()}`,
      100,
    );
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (signal === 'SIGTERM') await this.process.stop(10_000);
    else await this.process.kill(signal);
  }

  /** Drops the PostgreSQL database (after `stop`). */
  async destroy(): Promise<void> {
    if (!this.postgres) return;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await psql(this.postgres.url, `drop database if exists ${this.postgres.database} with (force)`);
        return;
      } catch {
        await sleep(500);
      }
    }
  }
}

function pgArgs(url: string): string[] {
  const parsed = new URL(url);
  return ['-h', parsed.hostname, '-p', parsed.port || '5432', '-U', decodeURIComponent(parsed.username || 'postgres'), '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-Atq'];
}

async function psql(url: string, sql: string): Promise<string> {
  const parsed = new URL(url);
  const env = { ...process.env, PGCONNECT_TIMEOUT: '3', ...(parsed.password ? { PGPASSWORD: decodeURIComponent(parsed.password) } : {}) };
  const { stdout } = await run('psql', [...pgArgs(url), '-c', sql], { env, timeout: 30_000 });
  return stdout;
}

async function postgresAnswers(url: string): Promise<boolean> {
  if (!findExecutable('psql')) return false;
  try {
    return (await psql(url, 'select 1')).trim() === '1';
  } catch {
    return false;
  }
}
