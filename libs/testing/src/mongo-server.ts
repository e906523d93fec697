import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mongoAnswersPing } from './probes';
import { freePort, sleep, spawnServerProcess, stopChild } from './processes';
import { findExecutable } from './suites';

/**
 * MongoDB wire-protocol servers for driver suites. With `MONGODB_URI` set,
 * every `startMongo()` gets its own database on that server (dropped at
 * `stop()`); otherwise it spawns a throwaway FerretDB v1 on SQLite (or a
 * `mongod`) on a free loopback port, in a temporary directory removed at
 * `stop()`. Build FerretDB with `tools/ferretdb/build.sh`.
 */

const START_TIMEOUT_MS = 20_000;
const FERRETDB_VERSION = 'v1.24.0';

export interface MongoHandle {
  /** A URI whose database no other `startMongo()` call uses. */
  readonly uri: string;
  /** Stops the spawned server and removes its files, or drops the database on `MONGODB_URI`. */
  stop(): Promise<void>;
}

export type MongoBinary = { kind: 'ferretdb' | 'mongod'; path: string };

/** Where a FerretDB binary may be: `$FERRETDB_BIN`, PATH, the build script's cache, `/opt/ferretdb`. */
export function findMongoBinary(): MongoBinary | null {
  const candidates = [
    process.env['FERRETDB_BIN'],
    'ferretdb',
    join(process.env['HOME'] ?? homedir(), '.cache', 'wallet', `ferretdb-${FERRETDB_VERSION}`),
    '/opt/ferretdb/bin/ferretdb',
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    const path = findExecutable(candidate);
    if (path) return { kind: 'ferretdb', path };
  }
  const mongod = findExecutable('mongod');
  return mongod ? { kind: 'mongod', path: mongod } : null;
}

/** True when a MongoDB suite can run: `MONGODB_URI` is set, or FerretDB or `mongod` is found. */
export function mongoAvailable(): boolean {
  return Boolean(process.env['MONGODB_URI']) || findMongoBinary() !== null;
}

/**
 * `uri` with its database replaced by `database` (host list, credentials and
 * options kept). With credentials, the user is still authenticated against the
 * original database (or `admin`), as it was before the replacement.
 */
export function withDatabase(uri: string, database: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/)([^/?]+)(?:\/([^?]*))?(?:\?(.*))?$/.exec(uri);
  if (!match) throw new Error('MONGODB_URI is not a mongodb:// or mongodb+srv:// URI');
  const [, scheme, hosts = '', original = '', query = ''] = match;
  const params = query ? query.split('&') : [];
  if (hosts.includes('@') && !params.some((param) => param.toLowerCase().startsWith('authsource='))) {
    params.push(`authSource=${original || 'admin'}`);
  }
  return `${scheme}${hosts}/${database}${params.length > 0 ? `?${params.join('&')}` : ''}`;
}

/** A database name no other test run uses. */
export function uniqueDatabaseName(): string {
  return `wallet_test_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Drops the database named in `uri` (used at `stop()` when the server is shared). */
export async function dropMongoDatabase(uri: string): Promise<void> {
  const { default: mongoose } = await import('mongoose');
  const connection = mongoose.createConnection(uri, { bufferCommands: false, serverSelectionTimeoutMS: 5000 });
  try {
    await connection.asPromise();
    await connection.db?.dropDatabase();
  } finally {
    await connection.close();
  }
}

/** A database of its own on `MONGODB_URI`, or a freshly spawned server. */
export async function startMongo(): Promise<MongoHandle> {
  const shared = process.env['MONGODB_URI'];
  if (shared) {
    const uri = withDatabase(shared, uniqueDatabaseName());
    return { uri, stop: () => dropMongoDatabase(uri) };
  }
  const binary = findMongoBinary();
  if (!binary) throw new Error('no MONGODB_URI, FerretDB or mongod: run tools/ferretdb/build.sh or set MONGODB_URI');
  const dir = mkdtempSync(join(tmpdir(), 'wallet-mongo-'));
  try {
    const port = await freePort();
    const child = await spawnServer(binary, port, dir);
    return {
      uri: `mongodb://127.0.0.1:${port}/${uniqueDatabaseName()}`,
      async stop() {
        await stopChild(child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function serverArgs(binary: MongoBinary, port: number, dir: string): string[] {
  if (binary.kind === 'mongod') {
    return ['--dbpath', dir, '--port', String(port), '--bind_ip', '127.0.0.1', '--quiet'];
  }
  return [
    '--handler=sqlite',
    `--sqlite-url=file:${dir}/`,
    `--listen-addr=127.0.0.1:${port}`,
    // The default debug listener (127.0.0.1:8088) collides with any other FerretDB.
    '--debug-addr=-',
    '--telemetry=disable',
    '--log-level=error',
    `--state-dir=${dir}`,
  ];
}

async function spawnServer(binary: MongoBinary, port: number, dir: string): Promise<ChildProcess> {
  const server = spawnServerProcess(binary.path, serverArgs(binary, port, dir));
  const child = server.child;

  const name = `${binary.kind} on port ${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.exited()) throw new Error(`${name} ${server.exited()}:\n${server.output()}`);
    if ((await acceptsConnections(port)) && (await mongoAnswersPing(port))) return child;
    await sleep(50);
  }
  await stopChild(child);
  throw new Error(`${name} did not answer ping within ${START_TIMEOUT_MS} ms:\n${server.output()}`);
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => finish(true));
  });
}
