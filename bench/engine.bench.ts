/**
 * Engine benchmarks (results go to docs/benchmarks.md), against one built
 * all-in-one process (SQLite, in-memory cache) whose wallet server carries the
 * engine's WebSocket API v2 (`/api/v2/wallet`):
 *
 *  - idle: authenticated idle connections one engine process holds, and the
 *    memory they cost: the process's RSS (/proc/<pid>/status VmRSS) and V8
 *    heap (its /metrics) before and after opening N connections (each one
 *    handshake, then idle), at N = 1,000, 5,000 and 10,000 (cumulative), as
 *    ΔRSS/N. Each reading follows a full GC in the engine (through its
 *    inspector, which the bench turns on at a free loopback port), so it does
 *    not depend on when V8 last collected. Every connection is its own user (a distinct `sub`), so the
 *    per-user limit (`engine.maxConnectionsPerUser`, 16) stays at its default
 *    and each connection also costs what a user costs (hub entry, pub/sub
 *    subscription). Target: 10,000 connections at under 30 KB each. At the end
 *    every connection is asked an engine-level `ping` and must answer `pong`.
 *    Clients: `ws` sockets in this process, permessage-deflate off.
 *  - handshakes: connect + upgrade + `handshake` + `handshake_ok` (+ a clean
 *    close) per second, every token distinct (the verifier's token cache never
 *    hits), 64 in flight, through a lean raw-socket client
 *    (`lib/raw-ws-handshake.ts`), after an untimed warm-up. Target: at least
 *    half of the raw ES256 verification rate (node:crypto, P-256, one core),
 *    measured in this process right before and right after the timed phase
 *    (their mean is the reference, as in verifier.bench.ts). Engine CPU per
 *    handshake from /proc (user and kernel, by thread), and how busy the
 *    whole machine was meanwhile (other processes share it).
 *  - frames: the handshake alone, on connections that are already open.
 *    Untimed, the bench opens a round of connections (TCP + upgrade, no
 *    handshake; `lib/raw-ws-open.ts`); timed, it sends each one a `handshake`
 *    frame with a distinct token, 64 unanswered at a time (`--frames-in-flight`), and counts
 *    `handshake_ok`s; then (untimed) it closes them and opens the next round,
 *    from another loopback address. Rounds of up to 10,000 connections
 *    (`--frames-round`), as many as the warm-up rate says fill the configured
 *    seconds; rate = handshakes / the sum of the timed windows. Same target
 *    and reference as above. The engine would close a connection that sends
 *    no handshake within `engine.handshakeTimeoutMs` (10 s): the bench raises
 *    it to 120 s (WALLET_ENGINE_HANDSHAKE_TIMEOUT_MS, see ENGINE_ENV).
 *  - floor: the frames phase's clients, frames and tokens against a bare
 *    server in a process of its own (`lib/bare-ws-server.ts`) that does only
 *    what no engine can skip: read the frame, `JSON.parse`, decode the token,
 *    check its ES256 signature against auth's JWKS on libuv's pool, send a
 *    `handshake_ok` of the engine's size. Twice: on raw `node:net` sockets
 *    (Node itself) and on `node:http` + `ws` as the gateway uses them (the
 *    engine's transport before any engine code), each also with full
 *    handshakes as in the handshakes phase (connect, upgrade, frame, close).
 *    What each costs on this machine, the engine's CPU as a multiple of it,
 *    and whether even they reach half the raw ES256 rate.
 *  - flows: complete pre-authorized OpenID4VCI issuance flows per second
 *    against the issuer peer (`startTestIssuer()` defaults: Bearer tokens, no
 *    tx_code; trusted through an AuthZEN PDP double), driven by 32
 *    `EngineClient`s (each its own user, one flow at a time: start, consent,
 *    proof signature, result, ack), after an untimed warm-up. The issuer peer
 *    and PDP run in a child process of their own (`lib/engine-issuer-peer.ts`)
 *    so their CPU is read apart; they, this process (the clients) and the
 *    engine share the machine's 2 cores. The bench raises the engine's
 *    per-user flow limits for this phase (flow starts per minute, concurrent
 *    flows, messages per second): see ENGINE_ENV.
 *  - presentations: complete OpenID4VP presentations per second to the
 *    all-in-one's own verifier (same process, its verifier port), configured
 *    with a services file (`app`, scope `login`: DCQL for the issuer peer's
 *    PID with `given_name`, trusting the peer). 32 `EngineClient`s
 *    (`--presenters`), each its own user, first receive one PID each through
 *    the engine (untimed), then loop: `GET /api/v1/startsiop` → `present(link)`
 *    (the engine fetches the signed request, asks the PDP about the verifier,
 *    the client matches, consents with the suggestion, signs the KB-JWT, the
 *    engine posts the response, the verifier checks it) → the application's
 *    code exchange (`/api/v1/sessions/<id>/status`, `POST /services/app/token`;
 *    `--token-exchange no` leaves it out). CPU per presentation of the
 *    all-in-one (engine and verifier together; by thread: the verifier's
 *    worker thread is split out), of the issuer peer + PDP, and of the clients.
 *
 * Engine CPU by thread: Node 20 names every thread `node`; `lib/thread-roles.ts`
 * tells them apart by what they wait in (main, libuv pool, V8 platform, JS
 * worker), right before each timed phase.
 *
 * Access tokens are minted here with auth's own access-token key ring, read
 * from the all-in-one's SQLite store (`openServiceKeyRing`, purpose
 * `ACCESS_TOKEN_KEY_PURPOSE`), with the claims `AccessTokenVerifier` checks.
 *
 * Run: node tools/scripts/run-ts.mjs bench/engine.bench.ts [--seconds 8]
 *      [--phases idle,handshakes,frames,floor,flows,presentations] [--connections 1000,5000,10000]
 *      [--in-flight 64] [--frames-in-flight 64] [--frames-round 10000] [--clients 32] [--presenters 32] [--token-exchange yes|no]
 *      [--ping-probe] [--profile <dir>] [--perf <dir>]
 * Build first (`node tools/build/bundle.mjs all-in-one`).
 */
import { loadConfig } from '@wallet/config';
import { ACCESS_TOKEN_KEY_PURPOSE, openServiceKeyRing } from '@wallet/platform';
import { createStore } from '@wallet/persistence';
import { processCpuSeconds, startBuiltApp, type ServiceProcess } from '@wallet/testing';
import { EngineClient, createKeyring, webSocketTransport, type EngineTransport, type FlowResult, type HeldStoredCredential } from '@wallet/wallet-client';
import { fork, spawn, type ChildProcess, type Serializable } from 'node:child_process';
import { generateKeyPairSync, randomUUID, sign, verify, type JsonWebKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import type { BareMessage, BareRequest, BareTransport } from './lib/bare-ws-server';
import type { PeerMessage, PeerRequest } from './lib/engine-issuer-peer';
import { maskedTextFrame, runHandshakeLoad } from './lib/raw-ws-handshake';
import { exchangeFrames, openConnections, type OpenConnection } from './lib/raw-ws-open';
import { classifyThreads, cpuByRole, describeRoles } from './lib/thread-roles';

// ---------------------------------------------------------------- arguments

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
/** Length of each timed throughput phase (handshakes, flows). */
const SECONDS = Number(arg('--seconds')) || 8;
const PHASES = new Set((arg('--phases') ?? 'idle,handshakes,frames,floor,flows,presentations').split(','));
const CONNECTION_STEPS = (arg('--connections') ?? '1000,5000,10000').split(',').map(Number);
const IN_FLIGHT = Number(arg('--in-flight')) || 64;
/** Handshake frames unanswered at a time in the frames phase. */
const FRAMES_IN_FLIGHT = Number(arg('--frames-in-flight')) || 64;
const FLOW_CLIENTS = Number(arg('--clients')) || 32;
/** Connections per round of the frames phase (open, then timed handshakes, then close). */
const FRAMES_ROUND = Number(arg('--frames-round')) || 10_000;
const PRESENTERS = Number(arg('--presenters')) || 32;
/** Whether each timed presentation includes the application's code exchange at the verifier. */
const TOKEN_EXCHANGE = arg('--token-exchange') !== 'no';
/**
 * `--ping-probe`: the idle phase also times an engine-level `ping` every 10 ms on one more
 * connection for 12 s, before the first step and with every connection open, with the keep-alive
 * interval at 5 s (WALLET_ENGINE_KEEPALIVE_INTERVAL_MS) so that two keep-alive rounds fall into each
 * window: how long a round holds up other messages. Off by default (it changes the interval for
 * every phase of the run).
 */
const PING_PROBE = argv.includes('--ping-probe');
/** Untimed handshakes before the timed phase (and before the idle baseline). */
const HANDSHAKE_WARM_UP = 4_000;
/** Untimed flows before the timed phase. */
const FLOW_WARM_UP = 400;
/** Untimed handshakes on open connections (one round) before the timed rounds. */
const FRAMES_WARM_UP = 4_000;
/** Untimed presentations before the timed phase. */
const PRESENTATION_WARM_UP = 300;
/** The application's redirect URI at the verifier (any https URL the services file lists). */
const APP_CALLBACK = 'https://app.example/callback';
/** Idle connections are opened this many at a time. */
const OPEN_IN_FLIGHT = 64;
/**
 * The engine's limits this bench raises: the per-user flow limits for the flows
 * and presentations phases (32 users run hundreds of flows a minute each), and
 * the handshake deadline for the frames phase (a round of connections waits,
 * open and unauthenticated, while the rest of the round opens).
 */
const ENGINE_ENV: Record<string, string> = {
  ...(PING_PROBE ? { WALLET_ENGINE_KEEPALIVE_INTERVAL_MS: '5000' } : {}),
  WALLET_ENGINE_HANDSHAKE_TIMEOUT_MS: '120000',
  WALLET_ENGINE_FLOW_STARTS_PER_MINUTE: '10000',
  WALLET_ENGINE_MAX_CONCURRENT_FLOWS: '100',
  WALLET_ENGINE_MESSAGES_PER_SECOND: '1000',
  WALLET_ENGINE_MESSAGE_BURST: '2000',
};
const root = resolve(__dirname, '..');

// ---------------------------------------------------------------- measuring

/**
 * Raw ES256 (P-256, SHA-256) verifications on one core for 3 s (as in
 * verifier.bench.ts): per second of wall time (the target's reference, which
 * drops when other processes take the core), and per CPU-second of this
 * process (which hardly depends on them).
 */
interface RawEs256 {
  perSecond: number;
  perCpuSecond: number;
}
function rawEs256PerSecond(): RawEs256 {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = Buffer.alloc(300, 7);
  const signature = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  let count = 0;
  const started = process.hrtime.bigint();
  const cpu0 = cpuSelf();
  const deadline = Date.now() + 3_000;
  while (Date.now() < deadline) {
    for (let i = 0; i < 100; i++) if (verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)) count++;
  }
  return { perSecond: count / (Number(process.hrtime.bigint() - started) / 1e9), perCpuSecond: count / (cpuSelf() - cpu0) };
}

/** The mean of the readings before and after a phase. */
const meanRaw = (a: RawEs256, b: RawEs256): RawEs256 => ({ perSecond: (a.perSecond + b.perSecond) / 2, perCpuSecond: (a.perCpuSecond + b.perCpuSecond) / 2 });

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const fmt = (n: number, digits = 0) => n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const cpuSelf = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

/** User and system CPU seconds of a process, or of one of its threads, from /proc (clock ticks of 1/100 s). */
interface CpuSplit {
  user: number;
  system: number;
}
function cpuSplit(statPath: string): CpuSplit {
  const fields = readFileSync(statPath, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

/** `after - before` per thread role (`lib/thread-roles.ts`), in µs per unit of work, largest first. */
function threadShares(before: Map<string, number>, after: Map<string, number>, units: number): string {
  return [...after]
    .map(([name, seconds]): [string, number] => [name, ((seconds - (before.get(name) ?? 0)) * 1e6) / units])
    .filter(([, us]) => us >= 1)
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => `${name} ${fmt(us)}`)
    .join(', ');
}

/**
 * The whole machine's CPU seconds so far (all cores, /proc/stat): busy in all, and of that in
 * softirq (loopback TCP is processed there); and every process's own (user + system, /proc/<pid>/stat,
 * kernel threads included), to name the other processes that were busy.
 */
interface MachineCpu {
  busy: number;
  softirq: number;
  processes: Map<number, { name: string; seconds: number }>;
}
function machineCpu(): MachineCpu {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = ticks.slice(0, 8).map(Number) as [number, number, number, number, number, number, number, number];
  void idle;
  void iowait;
  const processes = new Map<number, { name: string; seconds: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(') ');
      const fields = stat.slice(close + 2).split(' ');
      processes.set(Number(entry), { name: stat.slice(stat.indexOf('(') + 1, close), seconds: (Number(fields[11]) + Number(fields[12])) / 100 });
    } catch {
      // the process ended between listing and reading
    }
  }
  return { busy: (user + nice + system + irq + softirq + steal) / 100, softirq: softirq / 100, processes };
}

/** `after - before`; processes that started meanwhile count from zero, those that ended are left out. */
function machineDelta(before: MachineCpu, after: MachineCpu): MachineCpu {
  const processes = new Map<number, { name: string; seconds: number }>();
  for (const [pid, { name, seconds }] of after.processes) processes.set(pid, { name, seconds: seconds - (before.processes.get(pid)?.seconds ?? 0) });
  return { busy: after.busy - before.busy, softirq: after.softirq - before.softirq, processes };
}

/** Two deltas added up (the frames phase's timed windows). */
function machineSum(a: MachineCpu, b: MachineCpu): MachineCpu {
  const processes = new Map(a.processes);
  for (const [pid, { name, seconds }] of b.processes) processes.set(pid, { name, seconds: seconds + (processes.get(pid)?.seconds ?? 0) });
  return { busy: a.busy + b.busy, softirq: a.softirq + b.softirq, processes };
}

/** A process's command line, shortened (`node …/jest --config libs/x/jest.config.js`), or null once it has ended. */
function commandOf(pid: number): string | null {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    if (!args.length) return null;
    return args
      .slice(0, 3)
      .map((a) => (a.includes('/') ? `…/${a.split('/').slice(-2).join('/')}` : a))
      .join(' ')
      .slice(0, 80);
  } catch {
    return null;
  }
}

/**
 * How busy the machine was over a timed phase (`delta`, from machineDelta), in cores, and who was
 * busy: the processes named, softirq, everything else, and the busiest of the others by name.
 */
function machineShare(delta: MachineCpu, seconds: number, ours: Record<string, number>, ourPids: number[]): string {
  const busy = delta.busy / seconds;
  const softirq = delta.softirq / seconds;
  const named = Object.values(ours).reduce((a, b) => a + b, 0) / seconds;
  const parts = Object.entries(ours).map(([name, cpu]) => `${name} ${(cpu / seconds).toFixed(2)}`);
  const others = [...delta.processes]
    .filter(([pid, p]) => !ourPids.includes(pid) && p.seconds / seconds >= 0.02)
    .sort((a, b) => b[1].seconds - a[1].seconds)
    .slice(0, 4)
    .map(([pid, p]) => `${commandOf(pid) ?? p.name}[${pid}] ${(p.seconds / seconds).toFixed(2)}`);
  return (
    `${busy.toFixed(2)} of ${cpus().length} cores busy: ${parts.join(', ')}, softirq ${softirq.toFixed(2)}, other processes ${Math.max(0, busy - named - softirq).toFixed(2)}` +
    (others.length ? ` (${others.join(', ')})` : '')
  );
}

/** Resident memory of a process, in KiB (VmRSS of /proc/<pid>/status). */
interface Rss {
  rss: number;
}
function rssOf(pid: number): Rss {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) };
}

/** The figures of the engine process's /metrics this bench reads (bytes, or a count). */
interface EngineMetrics {
  heapUsed: number;
  external: number;
  connections: number;
  /** Handshake frames the engine has handled (`engine_messages_total{type="handshake"}`). */
  handshakes: number;
}
async function engineMetrics(base: string): Promise<EngineMetrics> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (name: string) => {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
    return match ? Number(match[1]) : NaN;
  };
  return {
    heapUsed: value('nodejs_heap_size_used_bytes'),
    external: value('nodejs_external_memory_bytes'),
    connections: value('engine_connections'),
    handshakes: Number(/^engine_messages_total\{type="handshake"\} ([0-9.e+-]+)$/m.exec(text)?.[1] ?? 0),
  };
}

/**
 * A full garbage collection in the engine, through its inspector (the bench
 * starts it with `--inspect=127.0.0.1:0`), so that memory readings do not
 * depend on when V8 last collected.
 */
async function collectGarbage(inspectorUrl: string): Promise<void> {
  const socket = new WebSocket(inspectorUrl, { perMessageDeflate: false });
  await new Promise<void>((resolveOpen, rejectOpen) => {
    socket.once('open', () => resolveOpen());
    socket.once('error', rejectOpen);
  });
  await new Promise<void>((resolveGc) => {
    socket.on('message', (data) => {
      if ((JSON.parse(String(data)) as { id?: number }).id === 1) resolveGc();
    });
    socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
  });
  socket.close();
}

/**
 * `--profile <dir>`: a V8 CPU profile of the engine over each timed window
 * (200 µs sampling, through its inspector), written to
 * `<dir>/<phase>.cpuprofile`. V8 samples wall time: on a busy machine a
 * thread that lost its core is counted where it stopped. `--perf <dir>`
 * samples CPU time instead, every thread, with Linux `perf record -g` (1,999
 * Hz, the engine started with `--perf-basic-prof-only-functions` so
 * JavaScript frames have names), written to `<dir>/<phase>.perf.data`; read
 * it with `perf report` or `perf script`. Profiling costs the engine time:
 * the figures of a profiled run are not the bench's results.
 */
const PROFILE_DIR = arg('--profile');
const PERF_DIR = arg('--perf');
/** The engine's inspector and pid, once known; the session and `perf` process of the current window. */
let inspectorForProfiles: string | undefined;
let pidForProfiles: number | undefined;
let profileSession: WebSocket | null = null;
let perfRecorder: ChildProcess | null = null;

/** Sends one inspector command on `session` and resolves with its result. */
function inspectorRequest(session: WebSocket, id: number, method: string, params: Record<string, unknown> = {}): Promise<unknown> {
  return new Promise((resolveCall, rejectCall) => {
    const onMessage = (data: WebSocket.RawData) => {
      const answer = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
      if (answer.id !== id) return;
      session.off('message', onMessage);
      if (answer.error) rejectCall(new Error(`${method}: ${answer.error.message}`));
      else resolveCall(answer.result);
    };
    session.on('message', onMessage);
    session.send(JSON.stringify({ id, method, params }));
  });
}

/** Starts the engine's CPU profiler (with `--profile`, on a session held open until profileStop) and `perf` (with `--perf`). */
async function profileStart(): Promise<void> {
  if (PERF_DIR && pidForProfiles) {
    mkdirSync(PERF_DIR, { recursive: true });
    perfRecorder = spawn('perf', ['record', '--quiet', '-F', '1999', '-g', '-p', String(pidForProfiles), '-o', join(PERF_DIR, 'current.perf.data')], { stdio: 'ignore' });
    await sleep(500); // attaching to every thread takes a moment
  }
  if (!PROFILE_DIR || !inspectorForProfiles) return;
  const session = new WebSocket(inspectorForProfiles, { perMessageDeflate: false, maxPayload: 1 << 30 });
  await new Promise<void>((resolveOpen, rejectOpen) => {
    session.once('open', () => resolveOpen());
    session.once('error', rejectOpen);
  });
  await inspectorRequest(session, 1, 'Profiler.enable');
  await inspectorRequest(session, 2, 'Profiler.setSamplingInterval', { interval: 200 });
  await inspectorRequest(session, 3, 'Profiler.start');
  profileSession = session;
}

/** Stops the profiler and writes `<PROFILE_DIR>/<name>.cpuprofile`. */
async function profileStop(name: string): Promise<void> {
  const recorder = perfRecorder;
  if (PERF_DIR && recorder) {
    perfRecorder = null;
    const exited = new Promise<void>((resolveExit) => recorder.once('exit', () => resolveExit()));
    recorder.kill('SIGINT');
    await exited;
    renameSync(join(PERF_DIR, 'current.perf.data'), join(PERF_DIR, `${name}.perf.data`));
  }
  const session = profileSession;
  if (!PROFILE_DIR || !session) return;
  profileSession = null;
  const { profile } = (await inspectorRequest(session, 4, 'Profiler.stop')) as { profile: unknown };
  session.close();
  mkdirSync(PROFILE_DIR, { recursive: true });
  writeFileSync(join(PROFILE_DIR, `${name}.cpuprofile`), JSON.stringify(profile));
}

/** Memory of the engine after full collections: the median of three readings, each after a GC and half a second. */
async function settledMemory(pid: number, base: string, inspectorUrl: string): Promise<Rss & EngineMetrics> {
  const samples: Array<Rss & EngineMetrics> = [];
  for (let i = 0; i < 3; i++) {
    await collectGarbage(inspectorUrl);
    await sleep(500);
    samples.push({ ...rssOf(pid), ...(await engineMetrics(base)) });
  }
  samples.sort((a, b) => a.rss - b.rss);
  return samples[1]!;
}

/** CPU seconds per second a process uses over 5 s of doing nothing asked of it. */
async function idleCpu(pid: number): Promise<number> {
  const cpu0 = processCpuSeconds(pid);
  await sleep(5_000);
  return (processCpuSeconds(pid) - cpu0) / 5;
}

// ---------------------------------------------------------------- tokens

/** Mints access tokens with auth's key ring, read from the all-in-one's store. */
async function tokenMinter(proc: ServiceProcess): Promise<{ mint(sub: string): Promise<string>; close(): Promise<void> }> {
  const { config } = loadConfig({ argv: [], env: { WALLET_DATA_DIR: proc.dataDir } });
  const store = await createStore({ type: 'sqlite', path: join(proc.dataDir, 'wallet.db'), busyTimeoutMs: 5_000 });
  const ring = await openServiceKeyRing(store, config, ACCESS_TOKEN_KEY_PURPOSE);
  return {
    mint: (sub) =>
      ring.sign(
        { iss: config.auth.issuer, aud: config.auth.audience, sub, tenant: 'default', jti: randomUUID(), sid: randomUUID() },
        { typ: 'at+jwt', expiresInSeconds: 3_600 },
      ),
    close: () => store.close(),
  };
}

const handshakeText = (token: string, messageId = 'h1') => JSON.stringify({ type: 'handshake', token, message_id: messageId });

// ---------------------------------------------------------------- idle connections

/** One authenticated `ws` connection, with a way to ask it an engine-level ping. */
interface IdleConnection {
  socket: WebSocket;
  ping(timeoutMs: number): Promise<boolean>;
}

function openIdle(url: string, token: string): Promise<IdleConnection> {
  return new Promise((resolveOpen, rejectOpen) => {
    const socket = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
    let waiting: ((text: string) => void) | null = null;
    let handshaken = false;
    const timer = setTimeout(() => fail(new Error('no handshake_ok within 30 s')), 30_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.terminate();
      rejectOpen(error);
    };
    socket.on('error', (error) => {
      if (!handshaken) fail(error);
    });
    socket.on('open', () => socket.send(handshakeText(token)));
    socket.on('message', (data) => {
      const text = String(data);
      if (!handshaken) {
        if (!text.startsWith('{"type":"handshake_ok"')) return fail(new Error(`handshake refused: ${text.slice(0, 200)}`));
        handshaken = true;
        clearTimeout(timer);
        resolveOpen({
          socket,
          ping: (timeoutMs) =>
            new Promise<boolean>((resolvePing) => {
              if (socket.readyState !== WebSocket.OPEN) return resolvePing(false);
              const pingTimer = setTimeout(() => {
                waiting = null;
                resolvePing(false);
              }, timeoutMs);
              waiting = (answer) => {
                clearTimeout(pingTimer);
                waiting = null;
                resolvePing(answer.startsWith('{"type":"pong"'));
              };
              socket.send(JSON.stringify({ type: 'ping', message_id: 'p1' }));
            }),
        });
        return;
      }
      waiting?.(text);
    });
  });
}

interface IdleStep {
  n: number;
  openSeconds: number;
  openEngineCpu: number;
  memory: Rss & EngineMetrics;
}

/** Round trips of engine-level pings, one every 10 ms on one connection, in ms. */
interface ProbeResult {
  count: number;
  p50: number;
  p999: number;
  max: number;
  /** Pings slower than 20 ms. */
  slow: number;
}

async function probePings(connection: IdleConnection, seconds: number): Promise<ProbeResult> {
  const times: number[] = [];
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    const t0 = process.hrtime.bigint();
    if (!(await connection.ping(10_000))) throw new Error('the probe connection did not answer a ping');
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await sleep(10);
  }
  times.sort((a, b) => a - b);
  return { count: times.length, p50: percentile(times, 50), p999: percentile(times, 99.9), max: times[times.length - 1] ?? 0, slow: times.filter((t) => t > 20).length };
}

const describeProbe = (p: ProbeResult) => `${p.count} pings: p50 ${p.p50.toFixed(1)} ms, p99.9 ${p.p999.toFixed(1)} ms, max ${p.max.toFixed(1)} ms, ${p.slow} over 20 ms`;

interface IdleResult {
  probeBefore?: ProbeResult;
  probeAfter?: ProbeResult;
  baseline: Rss & EngineMetrics;
  steps: IdleStep[];
  alive: number;
  pingSeconds: number;
  idleCpuPerSecond: number;
  idleCpuBaseline: number;
  failures: string[];
}

async function benchIdle(proc: ServiceProcess, base: string, url: string, mint: (sub: string) => Promise<string>, inspectorUrl: string): Promise<IdleResult> {
  const pid = proc.child.pid!;
  const target = Math.max(...CONNECTION_STEPS);
  console.log(`idle: minting ${fmt(target)} tokens (one user each)...`);
  const tokens: string[] = [];
  for (let i = 0; i < target; i++) tokens.push(await mint(`bench-idle-${i}`));
  const probe = PING_PROBE ? await openIdle(url, await mint('bench-idle-probe')) : null;
  const baseline = await settledMemory(pid, base, inspectorUrl);
  const idleCpuBaseline = await idleCpu(pid);
  console.log(`  baseline: RSS ${fmt(baseline.rss / 1024, 1)} MiB, heap used ${fmt(baseline.heapUsed / 1048576, 1)} MiB, ${baseline.connections} connections`);
  const probeBefore = probe ? await probePings(probe, 12) : undefined;
  if (probeBefore) console.log(`  ping probe, no other connection: ${describeProbe(probeBefore)}`);
  const open: IdleConnection[] = [];
  const failures: string[] = [];
  const steps: IdleStep[] = [];
  for (const n of [...CONNECTION_STEPS].sort((a, b) => a - b)) {
    const from = open.length;
    const cpu0 = processCpuSeconds(pid);
    const started = process.hrtime.bigint();
    let next = from;
    await Promise.all(
      Array.from({ length: OPEN_IN_FLIGHT }, async () => {
        while (next < n) {
          const token = tokens[next++]!;
          try {
            open.push(await openIdle(url, token));
          } catch (error) {
            failures.push(error instanceof Error ? error.message : String(error));
          }
        }
      }),
    );
    const openSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const openEngineCpu = processCpuSeconds(pid) - cpu0;
    const memory = await settledMemory(pid, base, inspectorUrl);
    steps.push({ n: open.length, openSeconds, openEngineCpu, memory });
    const delta = memory.rss - baseline.rss;
    console.log(
      `  ${fmt(open.length)} open (${fmt((open.length - from) / openSeconds)}/s with ws clients, engine ${fmt(((openEngineCpu * 1e6) / (open.length - from)))} µs CPU each): ` +
        `RSS +${fmt(delta / 1024, 1)} MiB = ${fmt(delta / open.length, 1)} KB per connection; heap used +${fmt((memory.heapUsed - baseline.heapUsed) / 1024 / open.length, 1)} KB, ` +
        `external +${fmt((memory.external - baseline.external) / 1024 / open.length, 1)} KB per connection; engine counts ${memory.connections}`,
    );
  }
  // What the idle connections cost the engine in CPU: the sweep every second, and the keep-alive ping
  // round (every 30 s) when it falls into the 5 s window.
  const idleCpuPerSecond = await idleCpu(pid);
  const probeAfter = probe ? await probePings(probe, 12) : undefined;
  if (probeAfter) console.log(`  ping probe, ${fmt(open.length)} idle connections: ${describeProbe(probeAfter)}`);
  probe?.socket.terminate();
  // Still alive? Every connection answers an engine-level ping.
  const pingStarted = process.hrtime.bigint();
  let alive = 0;
  for (let i = 0; i < open.length; i += 500) {
    const answers = await Promise.all(open.slice(i, i + 500).map((c) => c.ping(10_000)));
    alive += answers.filter(Boolean).length;
  }
  const pingSeconds = Number(process.hrtime.bigint() - pingStarted) / 1e9;
  console.log(
    `  alive at the end: ${fmt(alive)}/${fmt(open.length)} answered an engine ping (in ${pingSeconds.toFixed(1)} s); ` +
      `engine CPU while idle: ${fmt(idleCpuPerSecond * 1000, 1)} ms/s (${fmt(idleCpuBaseline * 1000, 1)} ms/s with no connection)`,
  );
  for (const c of open) c.socket.terminate();
  for (let i = 0; i < 100 && (await engineMetrics(base)).connections > 0; i++) await sleep(100);
  return { baseline, steps, alive, pingSeconds, idleCpuPerSecond, idleCpuBaseline, failures, ...(probeBefore ? { probeBefore } : {}), ...(probeAfter ? { probeAfter } : {}) };
}

// ---------------------------------------------------------------- handshakes

interface HandshakeResult {
  rate: number;
  ok: number;
  failed: number;
  seconds: number;
  p50: number;
  p99: number;
  engineCpuUs: number;
  /** Of which in the kernel (sockets). */
  engineSystemUs: number;
  mainThreadUs: number;
  /** Engine CPU per handshake by thread name. */
  threads: string;
  clientCpuUs: number;
  /** Who kept the machine busy during the timed phase. */
  machine: string;
  rawBefore: RawEs256;
  rawAfter: RawEs256;
  firstFailure?: string | undefined;
}

async function handshakeFrames(mint: (sub: string) => Promise<string>, count: number, prefix: string): Promise<Buffer[]> {
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) frames.push(maskedTextFrame(handshakeText(await mint(`${prefix}-${i}`))));
  return frames;
}

/** Where the handshakes phase connects: the engine (recorded with --perf/--profile), or a floor's bare server. */
interface HandshakesTarget {
  label: string;
  pid: number;
  url: string;
  profile: boolean;
}

async function benchHandshakes(target: HandshakesTarget, mint: (sub: string) => Promise<string>): Promise<HandshakeResult> {
  const { pid, url } = target;
  // Warm-up, untimed; its rate sizes the timed phase's token supply.
  const warm = await runHandshakeLoad(url, await handshakeFrames(mint, HANDSHAKE_WARM_UP, 'bench-warm'), IN_FLIGHT);
  if (warm.failures.length) throw new Error(`warm-up handshakes failed: ${warm.failures[0]}`);
  const warmRate = warm.answers.length / warm.seconds;
  const count = Math.ceil(Math.max(warmRate, 2_000) * SECONDS * 1.3);
  console.log(`${target.label}: warm-up ${fmt(warmRate)}/s; minting ${fmt(count)} distinct tokens for ~${SECONDS} s...`);
  const frames = await handshakeFrames(mint, count, 'bench-hs');
  const rawBefore = rawEs256PerSecond();
  const roles = await classifyThreads(pid);
  console.log(`  engine threads: ${describeRoles(roles)}`);
  if (target.profile) await profileStart();
  const machine0 = machineCpu();
  const split0 = cpuSplit(`/proc/${pid}/stat`);
  const threads0 = cpuByRole(pid, roles);
  const client0 = cpuSelf();
  const result = await runHandshakeLoad(url, frames, IN_FLIGHT);
  const clientCpu = cpuSelf() - client0;
  const split1 = cpuSplit(`/proc/${pid}/stat`);
  const threads1 = cpuByRole(pid, roles);
  if (target.profile) await profileStop('handshakes');
  const machine = machineShare(
    machineDelta(machine0, machineCpu()),
    result.seconds,
    { engine: split1.user + split1.system - split0.user - split0.system, 'bench (clients)': clientCpu },
    [pid, process.pid],
  );
  const rawAfter = rawEs256PerSecond();
  const ok = result.answers.filter((a) => a.startsWith('{"type":"handshake_ok"')).length;
  const refused = result.answers.find((a) => !a.startsWith('{"type":"handshake_ok"'));
  const latencies = [...result.latencies].sort((a, b) => a - b);
  const engineUser = split1.user - split0.user;
  const engineSystem = split1.system - split0.system;
  return {
    rate: ok / result.seconds,
    ok,
    failed: result.failures.length + (result.answers.length - ok),
    seconds: result.seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    engineCpuUs: ((engineUser + engineSystem) * 1e6) / ok,
    engineSystemUs: (engineSystem * 1e6) / ok,
    mainThreadUs: (((threads1.get('main') ?? 0) - (threads0.get('main') ?? 0)) * 1e6) / ok,
    threads: threadShares(threads0, threads1, ok),
    clientCpuUs: (clientCpu * 1e6) / ok,
    machine,
    rawBefore,
    rawAfter,
    ...(result.failures[0] || refused ? { firstFailure: result.failures[0] ?? refused } : {}),
  };
}

// ---------------------------------------------------------------- handshakes on open connections

interface FramesResult {
  rate: number;
  ok: number;
  failed: number;
  /** The timed windows, summed. */
  seconds: number;
  rounds: number;
  p50: number;
  p99: number;
  engineCpuUs: number;
  engineSystemUs: number;
  mainThreadUs: number;
  /** Engine CPU per handshake by thread role. */
  threads: string;
  clientCpuUs: number;
  /** Untimed: opening (connect + upgrade) and closing, engine CPU per connection. */
  openUs: number;
  closeUs: number;
  /** Connections opened per second by this client, 64 at a time. */
  openRate: number;
  machine: string;
  rawBefore: RawEs256;
  rawAfter: RawEs256;
  firstFailure?: string;
}

interface FramesAccumulator {
  ok: number;
  failed: number;
  seconds: number;
  latencies: number[];
  user: number;
  system: number;
  threads: Map<string, number>;
  client: number;
  machine: MachineCpu;
  openCpu: number;
  opened: number;
  openSeconds: number;
  closeCpu: number;
  firstFailure?: string | undefined;
}

/**
 * One round: opens `frames.length` connections (untimed), sends each its
 * handshake frame `FRAMES_IN_FLIGHT` at a time (timed, added to `acc`), closes them
 * all and waits until the engine counts none (untimed).
 */
/** Where the frames phase sends its handshakes: the engine, or the bare server of the floor phase. */
interface FramesTarget {
  /** `frames` or `floor`, for the log. */
  label: string;
  pid: number;
  url: string;
  /** Connections the server still holds (the round waits for none before the next). */
  openConnections(): Promise<number>;
  /** The perf/profile recording name prefix (none: not recorded). */
  profilePrefix?: string;
}

async function framesRound(
  target: FramesTarget,
  frames: Buffer[],
  localAddress: string,
  roles: Map<string, string>,
  acc: FramesAccumulator,
  profileName?: string,
): Promise<void> {
  const { pid, url } = target;
  const openCpu0 = processCpuSeconds(pid);
  const opened = await openConnections(url, frames.length, OPEN_IN_FLIGHT, localAddress);
  acc.openCpu += processCpuSeconds(pid) - openCpu0;
  acc.opened += opened.connections.length;
  acc.openSeconds += opened.seconds;
  let connections: OpenConnection[] = opened.connections;
  try {
    if (opened.failures.length) throw new Error(`${opened.failures.length} of ${frames.length} connections failed to open: ${opened.failures[0]}`);
    await sleep(300);
    if (profileName) await profileStart();
    const machine0 = machineCpu();
    const split0 = cpuSplit(`/proc/${pid}/stat`);
    const threads0 = cpuByRole(pid, roles);
    const client0 = cpuSelf();
    const result = await exchangeFrames(connections, frames, FRAMES_IN_FLIGHT);
    const client1 = cpuSelf();
    const split1 = cpuSplit(`/proc/${pid}/stat`);
    const threads1 = cpuByRole(pid, roles);
    const machine1 = machineCpu();
    if (profileName) await profileStop(profileName);
    const ok = result.answers.filter((a) => a.startsWith('{"type":"handshake_ok"')).length;
    acc.ok += ok;
    acc.failed += result.failures.length + (result.answers.length - ok);
    acc.firstFailure ??= result.failures[0] ?? result.answers.find((a) => !a.startsWith('{"type":"handshake_ok"'));
    acc.seconds += result.seconds;
    acc.latencies.push(...result.latencies);
    acc.user += split1.user - split0.user;
    acc.system += split1.system - split0.system;
    for (const [role, seconds] of threads1) acc.threads.set(role, (acc.threads.get(role) ?? 0) + seconds - (threads0.get(role) ?? 0));
    acc.client += client1 - client0;
    acc.machine = machineSum(acc.machine, machineDelta(machine0, machine1));
  } finally {
    const closeCpu0 = processCpuSeconds(pid);
    await Promise.all(connections.map((c) => c.close()));
    connections = [];
    for (let i = 0; i < 200 && (await target.openConnections()) > 0; i++) await sleep(100);
    acc.closeCpu += processCpuSeconds(pid) - closeCpu0;
  }
}

async function benchFrames(target: FramesTarget, mint: (sub: string) => Promise<string>): Promise<FramesResult> {
  const { pid } = target;
  const fresh = (): FramesAccumulator => ({
    ok: 0,
    failed: 0,
    seconds: 0,
    latencies: [],
    user: 0,
    system: 0,
    threads: new Map(),
    client: 0,
    machine: { busy: 0, softirq: 0, processes: new Map() },
    openCpu: 0,
    opened: 0,
    openSeconds: 0,
    closeCpu: 0,
  });
  // Warm-up, untimed: one round; its rate sizes the timed rounds.
  const warm = fresh();
  await framesRound(target, await handshakeFrames(mint, FRAMES_WARM_UP, 'bench-frames-warm'), '127.0.0.10', await classifyThreads(pid), warm);
  if (warm.failed) throw new Error(`warm-up handshakes on open connections failed (${warm.failed}): ${warm.firstFailure}`);
  const warmRate = warm.ok / warm.seconds;
  const count = Math.ceil(Math.max(warmRate, 2_000) * SECONDS * 1.1);
  const rounds = Math.ceil(count / FRAMES_ROUND);
  const perRound = Math.ceil(count / rounds);
  console.log(`${target.label}: warm-up ${fmt(warmRate)}/s; ${rounds} round(s) of ${fmt(perRound)} open connections for ~${SECONDS} s of handshakes...`);
  const rawBefore = rawEs256PerSecond();
  const acc = fresh();
  for (let round = 0; round < rounds; round++) {
    // Minted before the round opens, so no connection waits for them.
    const frames = await handshakeFrames(mint, perRound, `bench-frames-${round}`);
    const roles = await classifyThreads(pid);
    if (round === 0) console.log(`  engine threads: ${describeRoles(roles)}`);
    await framesRound(target, frames, `127.0.0.${11 + (round % 200)}`, roles, acc, target.profilePrefix ? `${target.profilePrefix}-${round}` : undefined);
  }
  const rawAfter = rawEs256PerSecond();
  const latencies = acc.latencies.sort((a, b) => a - b);
  const engineCpu = acc.user + acc.system;
  const machine = machineShare(acc.machine, acc.seconds, { engine: engineCpu, 'bench (clients)': acc.client }, [pid, process.pid]);
  return {
    rate: acc.ok / acc.seconds,
    ok: acc.ok,
    failed: acc.failed,
    seconds: acc.seconds,
    rounds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    engineCpuUs: (engineCpu * 1e6) / acc.ok,
    engineSystemUs: (acc.system * 1e6) / acc.ok,
    mainThreadUs: ((acc.threads.get('main') ?? 0) * 1e6) / acc.ok,
    threads: threadShares(new Map(), acc.threads, acc.ok),
    clientCpuUs: (acc.client * 1e6) / acc.ok,
    openUs: (acc.openCpu * 1e6) / acc.opened,
    closeUs: (acc.closeCpu * 1e6) / acc.opened,
    openRate: acc.opened / acc.openSeconds,
    machine,
    rawBefore,
    rawAfter,
    ...(acc.firstFailure ? { firstFailure: acc.firstFailure } : {}),
  };
}

// ---------------------------------------------------------------- issuance flows

/** The issuer peer's child process, and a typed request/answer over its IPC channel. */
interface Peer {
  child: ChildProcess;
  issuerUrl: string;
  pdpUrl: string;
  ask<T extends PeerMessage['type']>(request: PeerRequest, answer: T): Promise<Extract<PeerMessage, { type: T }>>;
  stop(): Promise<void>;
}

/**
 * A bench helper process (`node tools/scripts/run-ts.mjs <script>`) with a
 * typed IPC channel: `next` waits for its next message of a type, `stop` ends
 * it (with `farewell`, else by closing the channel; killed after 5 s).
 */
function startHelper<M extends { type: string }>(script: string, what: string) {
  const child = fork(join(root, 'tools/scripts/run-ts.mjs'), [join(root, script)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <T extends M['type']>(type: T) =>
    new Promise<Extract<M, { type: T }>>((resolveMessage, rejectMessage) => {
      const onMessage = (message: M) => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolveMessage(message as Extract<M, { type: T }>);
      };
      const onExit = (code: number | null) => rejectMessage(new Error(`${what} exited with ${code}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  /** Sends `request` and waits for the answer of type `type`. */
  const ask = <T extends M['type']>(request: unknown, type: T) => {
    const answered = next(type);
    child.send(request as Serializable);
    return answered;
  };
  const stop = async (farewell?: unknown) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
    if (farewell === undefined) child.disconnect();
    else child.send(farewell as Serializable);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  return { child, next, ask, stop };
}

async function startPeer(): Promise<Peer> {
  const { child, next, ask, stop } = startHelper<PeerMessage>('bench/lib/engine-issuer-peer.ts', 'the issuer peer');
  const ready = await next('ready');
  return {
    child,
    issuerUrl: ready.issuerUrl,
    pdpUrl: ready.pdpUrl,
    ask: (request: PeerRequest, answer) => ask(request, answer),
    stop: () => stop({ type: 'close' } satisfies PeerRequest),
  };
}

/**
 * The floor phase's bare server (`lib/bare-ws-server.ts`) in a process of its
 * own, given auth's published keys (the engine's JWKS) so it checks the same
 * tokens' signatures the engine does.
 */
async function startBareServer(base: string, transport: BareTransport): Promise<{ pid: number; url: string; openConnections(): Promise<number>; stop(): Promise<void> }> {
  const jwks = (await (await fetch(`${base}/auth/.well-known/jwks.json`)).json()) as { keys: JsonWebKey[] };
  const { child, ask: askAny, stop } = startHelper<BareMessage>('bench/lib/bare-ws-server.ts', 'the bare server');
  const ask = <T extends BareMessage['type']>(request: BareRequest, type: T) => askAny(request, type);
  const { port } = await ask({ type: 'start', transport, jwks }, 'ready');
  return {
    pid: child.pid!,
    url: `ws://127.0.0.1:${port}/api/v2/wallet`,
    openConnections: async () => (await ask({ type: 'connections' }, 'connections')).open,
    stop: () => stop(),
  };
}

/** A `ws` transport without permessage-deflate (the engine refuses it anyway). */
const leanTransport = (url: string) => (): EngineTransport => webSocketTransport(new WebSocket(url, { perMessageDeflate: false }));

interface FlowPhase {
  done: number;
  failed: number;
  seconds: number;
  latencies: number[];
  firstFailure?: string;
}

/** Runs the offers through the clients, one flow at a time per client, until the offers or the time run out. */
async function runFlows(clients: EngineClient[], offers: Array<Record<string, unknown>>, untilMs: number): Promise<FlowPhase> {
  const latencies: number[] = [];
  let failed = 0;
  let firstFailure: string | undefined;
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    clients.map(async (client) => {
      while (next < offers.length && Date.now() < untilMs) {
        const offer = offers[next++]!;
        const t0 = process.hrtime.bigint();
        try {
          const result: FlowResult = await client.receiveCredential(offer);
          if (result.credentials.length !== 1 || !result.credentials[0]!.checks.verified) throw new Error('the credential was not verified');
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        } catch (error) {
          failed++;
          firstFailure ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        }
      }
    }),
  );
  return { done: latencies.length, failed, seconds: Number(process.hrtime.bigint() - started) / 1e9, latencies, ...(firstFailure ? { firstFailure } : {}) };
}

interface FlowResultSummary {
  rate: number;
  done: number;
  failed: number;
  seconds: number;
  p50: number;
  p99: number;
  engineCpuMs: number;
  engineMainMs: number;
  engineSystemMs: number;
  /** Engine CPU per flow by thread name, in µs. */
  threads: string;
  peerCpuMs: number;
  clientCpuMs: number;
  peerStats: Extract<PeerMessage, { type: 'stats' }>;
  /** Handshakes the engine saw during the timed phase (the clients connected before it). */
  reconnects: number;
  /** Who kept the machine busy during the timed phase. */
  machine: string;
  firstFailure?: string;
}

async function benchFlows(proc: ServiceProcess, peer: Peer, base: string, url: string, mint: (sub: string) => Promise<string>): Promise<FlowResultSummary> {
  const pid = proc.child.pid!;
  const clients: EngineClient[] = [];
  for (let i = 0; i < FLOW_CLIENTS; i++) {
    const token = await mint(`bench-flows-${i}`);
    const keyring = createKeyring();
    const client = new EngineClient({
      transport: leanTransport(url),
      getToken: () => token,
      handlers: { sign: keyring.sign, consent: async () => true },
      timeoutMs: 60_000,
      pingIntervalMs: 0,
      reconnect: { attempts: 3, baseDelayMs: 50, maxDelayMs: 200 },
    });
    await client.connect();
    clients.push(client);
  }
  try {
    const warmOffers = (await peer.ask({ type: 'offers', count: FLOW_WARM_UP }, 'offers')).offers;
    const warm = await runFlows(clients, warmOffers, Date.now() + 600_000);
    if (warm.failed) throw new Error(`warm-up flows failed (${warm.failed}): ${warm.firstFailure}`);
    const warmRate = warm.done / warm.seconds;
    const count = Math.ceil(Math.max(warmRate, 100) * SECONDS * 2.5);
    console.log(`flows: warm-up ${fmt(warmRate, 1)}/s (${warm.done} flows); ${fmt(count)} offers ready for ~${SECONDS} s...`);
    const offers = (await peer.ask({ type: 'offers', count }, 'offers')).offers;
    await peer.ask({ type: 'stats' }, 'stats'); // resets the peer's counters
    await sleep(500);
    const roles = await classifyThreads(pid);
    const handshakes0 = (await engineMetrics(base)).handshakes;
    await profileStart();
    const machine0 = machineCpu();
    const engine0 = cpuSplit(`/proc/${pid}/stat`);
    const threads0 = cpuByRole(pid, roles);
    const peer0 = processCpuSeconds(peer.child.pid!);
    const client0 = cpuSelf();
    const timed = await runFlows(clients, offers, Date.now() + SECONDS * 1000);
    const clientCpu = cpuSelf() - client0;
    const engine1 = cpuSplit(`/proc/${pid}/stat`);
    const threads1 = cpuByRole(pid, roles);
    await profileStop('flows');
    const engineCpu = engine1.user + engine1.system - engine0.user - engine0.system;
    const engineMain = (threads1.get('main') ?? 0) - (threads0.get('main') ?? 0);
    const peerCpu = processCpuSeconds(peer.child.pid!) - peer0;
    const machine = machineShare(machineDelta(machine0, machineCpu()), timed.seconds, { engine: engineCpu, 'issuer peer': peerCpu, 'bench (clients)': clientCpu }, [
      pid,
      peer.child.pid!,
      process.pid,
    ]);
    const peerStats = await peer.ask({ type: 'stats' }, 'stats');
    // The clients connected before the clock: a handshake in the timed phase is a reconnect.
    const reconnects = (await engineMetrics(base)).handshakes - handshakes0;
    const latencies = [...timed.latencies].sort((a, b) => a - b);
    return {
      rate: timed.done / timed.seconds,
      done: timed.done,
      failed: timed.failed,
      seconds: timed.seconds,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      engineCpuMs: (engineCpu * 1e3) / timed.done,
      engineMainMs: (engineMain * 1e3) / timed.done,
      engineSystemMs: ((engine1.system - engine0.system) * 1e3) / timed.done,
      threads: threadShares(threads0, threads1, timed.done),
      peerCpuMs: (peerCpu * 1e3) / timed.done,
      clientCpuMs: (clientCpu * 1e3) / timed.done,
      peerStats,
      reconnects,
      machine,
      ...(timed.firstFailure ? { firstFailure: timed.firstFailure } : {}),
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

// ---------------------------------------------------------------- presentation flows

/** The verifier's services file: application `app`, scope `login`, the issuer peer's PID with `given_name`, trusting the peer. */
function writeServicesFile(dir: string, issuerUrl: string): string {
  const pid = `${issuerUrl}/vct/pid`;
  const path = join(dir, 'services.json');
  writeFileSync(
    path,
    JSON.stringify({
      services: [
        {
          id: 'app',
          defaultScope: 'login',
          scopes: {
            login: {
              dcql: { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: [pid] }, claims: [{ path: ['given_name'] }] }] },
              trust: [{ type: pid, issuers: [{ id: issuerUrl }] }],
              token: { type: 'mapping', claims: { first_name: 'pid.given_name' } },
            },
          },
          redirectUris: [APP_CALLBACK],
        },
      ],
    }),
  );
  return path;
}

/** A presenting client: its engine client and the one credential it holds. */
interface Presenter {
  client: EngineClient;
  held: HeldStoredCredential[];
}

/**
 * One presentation as an application starts it and a wallet answers it:
 * `startsiop` at the verifier, `present(link)` through the engine, then (with
 * TOKEN_EXCHANGE) the application's code exchange.
 */
async function presentOnce(presenter: Presenter, verifierBase: string, n: number): Promise<void> {
  const started = await fetch(`${verifierBase}/api/v1/startsiop?${new URLSearchParams({ client_id: 'app', state: `s${n}`, client_callback: APP_CALLBACK })}`);
  const link = await started.text();
  if (started.status !== 200) throw new Error(`startsiop answered ${started.status}: ${link.slice(0, 200)}`);
  const sessionId = started.headers.get('x-session-id');
  await presenter.client.present(link);
  if (!TOKEN_EXCHANGE) return;
  const status = (await (await fetch(`${verifierBase}/api/v1/sessions/${sessionId}/status`)).json()) as { status?: string; redirectTo?: string };
  if (status.status !== 'answered' || !status.redirectTo) throw new Error(`the verifier's session is ${JSON.stringify(status).slice(0, 200)}`);
  const code = new URL(status.redirectTo).searchParams.get('code') ?? '';
  const exchanged = await fetch(`${verifierBase}/services/app/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: APP_CALLBACK }),
  });
  const body = (await exchanged.json()) as { access_token?: string };
  if (exchanged.status !== 200 || !body.access_token) throw new Error(`the token endpoint answered ${exchanged.status}: ${JSON.stringify(body).slice(0, 200)}`);
}

/** Runs presentations through the presenters, one at a time each, until `count` were started or the time runs out. */
async function runPresentations(presenters: Presenter[], verifierBase: string, count: number, untilMs: number): Promise<FlowPhase> {
  const latencies: number[] = [];
  let failed = 0;
  let firstFailure: string | undefined;
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    presenters.map(async (presenter) => {
      while (next < count && Date.now() < untilMs) {
        const n = next++;
        const t0 = process.hrtime.bigint();
        try {
          await presentOnce(presenter, verifierBase, n);
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        } catch (error) {
          failed++;
          firstFailure ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        }
      }
    }),
  );
  return { done: latencies.length, failed, seconds: Number(process.hrtime.bigint() - started) / 1e9, latencies, ...(firstFailure ? { firstFailure } : {}) };
}

interface PresentationSummary {
  rate: number;
  done: number;
  failed: number;
  seconds: number;
  p50: number;
  p99: number;
  /** The all-in-one process (engine and verifier), per presentation. */
  processCpuMs: number;
  processSystemMs: number;
  mainMs: number;
  /** The verifier's verification thread(s): JS workers that started with the first presentation. */
  workerMs: number;
  threads: string;
  threadRoles: string;
  peerCpuMs: number;
  clientCpuMs: number;
  peerStats: Extract<PeerMessage, { type: 'stats' }>;
  reconnects: number;
  machine: string;
  firstFailure?: string;
}

async function benchPresentations(proc: ServiceProcess, peer: Peer, base: string, url: string, mint: (sub: string) => Promise<string>): Promise<PresentationSummary> {
  const pid = proc.child.pid!;
  const verifierBase = proc.servers.get('verifier');
  if (!verifierBase) throw new Error('the all-in-one runs no verifier server');
  // The verifier's verification thread starts with its first presentation: a JS worker that is not here yet.
  const rolesBefore = await classifyThreads(pid);
  const presenters: Presenter[] = [];
  for (let i = 0; i < PRESENTERS; i++) {
    const token = await mint(`bench-vp-${i}`);
    const keyring = createKeyring();
    const held: HeldStoredCredential[] = [];
    const client = new EngineClient({
      transport: leanTransport(url),
      getToken: () => token,
      handlers: {
        sign: keyring.sign,
        consent: async () => true,
        signWith: keyring.signWith,
        credentials: async () => held,
        consentToPresentation: async (request) => request.suggestion ?? 'decline',
      },
      timeoutMs: 60_000,
      pingIntervalMs: 0,
      reconnect: { attempts: 3, baseDelayMs: 50, maxDelayMs: 200 },
    });
    await client.connect();
    presenters.push({ client, held });
  }
  try {
    // One PID each, through the engine (untimed), bound to the client's own key.
    const offers = (await peer.ask({ type: 'offers', count: PRESENTERS }, 'offers')).offers;
    await Promise.all(
      presenters.map(async (presenter, i) => {
        const received = await presenter.client.receiveCredential(offers[i]!);
        const credential = received.credentials[0];
        if (!credential?.checks.verified) throw new Error('the PID was not issued or not verified');
        presenter.held.push({ id: 'pid', format: credential.format, credential: String(credential.credential) });
      }),
    );
    const warm = await runPresentations(presenters, verifierBase, PRESENTATION_WARM_UP, Date.now() + 600_000);
    if (warm.failed) throw new Error(`warm-up presentations failed (${warm.failed}): ${warm.firstFailure}`);
    console.log(`presentations: warm-up ${fmt(warm.done / warm.seconds, 1)}/s (${warm.done}); ${PRESENTERS} clients for ~${SECONDS} s...`);
    await peer.ask({ type: 'stats' }, 'stats'); // resets the peer's counters
    await sleep(500);
    const roles = await classifyThreads(pid);
    for (const [tid, role] of roles) if (role === 'js worker' && !rolesBefore.has(tid)) roles.set(tid, 'verifier worker');
    const handshakes0 = (await engineMetrics(base)).handshakes;
    await profileStart();
    const machine0 = machineCpu();
    const split0 = cpuSplit(`/proc/${pid}/stat`);
    const threads0 = cpuByRole(pid, roles);
    const peer0 = processCpuSeconds(peer.child.pid!);
    const client0 = cpuSelf();
    const timed = await runPresentations(presenters, verifierBase, Number.MAX_SAFE_INTEGER, Date.now() + SECONDS * 1000);
    const clientCpu = cpuSelf() - client0;
    const split1 = cpuSplit(`/proc/${pid}/stat`);
    const threads1 = cpuByRole(pid, roles);
    await profileStop('presentations');
    const peerCpu = processCpuSeconds(peer.child.pid!) - peer0;
    const processCpu = split1.user + split1.system - split0.user - split0.system;
    const machine = machineShare(machineDelta(machine0, machineCpu()), timed.seconds, { 'all-in-one': processCpu, 'issuer peer': peerCpu, 'bench (clients)': clientCpu }, [
      pid,
      peer.child.pid!,
      process.pid,
    ]);
    const peerStats = await peer.ask({ type: 'stats' }, 'stats');
    const reconnects = (await engineMetrics(base)).handshakes - handshakes0;
    const latencies = [...timed.latencies].sort((a, b) => a - b);
    const per = (seconds: number) => (seconds * 1e3) / timed.done;
    return {
      rate: timed.done / timed.seconds,
      done: timed.done,
      failed: timed.failed,
      seconds: timed.seconds,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      processCpuMs: per(processCpu),
      processSystemMs: per(split1.system - split0.system),
      mainMs: per((threads1.get('main') ?? 0) - (threads0.get('main') ?? 0)),
      workerMs: per((threads1.get('verifier worker') ?? 0) - (threads0.get('verifier worker') ?? 0)),
      threads: threadShares(threads0, threads1, timed.done),
      threadRoles: describeRoles(roles),
      peerCpuMs: per(peerCpu),
      clientCpuMs: per(clientCpu),
      peerStats,
      reconnects,
      machine,
      ...(timed.firstFailure ? { firstFailure: timed.firstFailure } : {}),
    };
  } finally {
    await Promise.all(presenters.map((p) => p.client.close()));
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const bundle = join(root, 'dist/apps/all-in-one/main.js');
  console.log(`node ${process.version}; phases ${[...PHASES].join(', ')}; ${SECONDS} s per timed phase; bundle built ${statSync(bundle).mtime.toISOString()}`);
  console.log(`machine before the start: load average ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  const peer = await startPeer();
  const servicesDir = mkdtempSync(join(tmpdir(), 'wallet-engine-bench-'));
  const proc = await startBuiltApp('all-in-one', {
    // The all-in-one's own verifier, for the presentations phase.
    WALLET_VERIFIER_SERVICES_FILE: writeServicesFile(servicesDir, peer.issuerUrl),
    WALLET_OUTBOUND_ALLOW_HTTP: 'true',
    WALLET_OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8',
    WALLET_TRUST_PDP_URL: peer.pdpUrl,
    WALLET_TRUST_PDP_ALLOW_HTTP: 'true',
    WALLET_TRUST_PDP_ALLOW_CIDRS: '127.0.0.0/8',
    ...ENGINE_ENV,
    // The inspector on a free loopback port, for full GCs before memory readings (no session is attached otherwise).
    NODE_OPTIONS: `${process.env['BENCH_NODE_OPTIONS'] ?? ''} --inspect=127.0.0.1:0${PERF_DIR ? ' --perf-basic-prof-only-functions' : ''}`.trim(),
  });
  const inspectorUrl = proc.output.map((line) => /Debugger listening on (ws:\/\/\S+)/.exec(line)?.[1]).find(Boolean);
  // startBuiltApp keeps every log line; a long bench does not need them.
  const keepOutput = setInterval(() => proc.output.splice(0, Math.max(0, proc.output.length - 200)), 1_000);
  const base = proc.servers.get('wallet')!;
  const url = `${base.replace(/^http/, 'ws')}/api/v2/wallet`;
  const rows: Array<[string, string, string, string]> = [];
  let minter: Awaited<ReturnType<typeof tokenMinter>> | undefined;
  /** The engine's CPU per handshake frame, when the frames phase ran (compared with the floor). */
  let framesCpuUs = 0;
  /** The engine's CPU per full handshake, when the handshakes phase ran. */
  let handshakeCpuUs = 0;
  try {
    if (!inspectorUrl) throw new Error('the engine did not say where its inspector listens');
    inspectorForProfiles = inspectorUrl;
    pidForProfiles = proc.child.pid;
    minter = await tokenMinter(proc);
    // Warm-up for everything: the handshake path, JIT and lazily loaded modules, before any baseline.
    const warm = await runHandshakeLoad(url, await handshakeFrames(minter.mint, HANDSHAKE_WARM_UP, 'bench-first'), IN_FLIGHT);
    if (warm.failures.length || !warm.answers.every((a) => a.startsWith('{"type":"handshake_ok"'))) {
      throw new Error(`warm-up handshakes failed: ${warm.failures[0] ?? warm.answers.find((a) => !a.startsWith('{"type":"handshake_ok"'))}`);
    }

    if (PHASES.has('idle')) {
      const idle = await benchIdle(proc, base, url, minter.mint, inspectorUrl);
      for (const step of idle.steps) {
        const perConnection = (step.memory.rss - idle.baseline.rss) / step.n;
        const heap = (step.memory.heapUsed - idle.baseline.heapUsed) / 1024 / step.n;
        rows.push([
          `idle connections: ${fmt(step.n)} (one user each)`,
          `ΔRSS ${fmt((step.memory.rss - idle.baseline.rss) / 1024, 1)} MiB = ${fmt(perConnection, 1)} KB/conn (heap used ${fmt(heap, 1)} KB/conn)`,
          step.n >= 10_000 ? '10,000 at < 30 KB each' : '< 30 KB each',
          perConnection < 30 ? 'yes' : 'no',
        ]);
      }
      const last = idle.steps[idle.steps.length - 1];
      rows.push([
        'idle connections alive at the end (engine ping)',
        `${fmt(idle.alive)}/${fmt(last?.n ?? 0)}; engine CPU while idle ${fmt(idle.idleCpuPerSecond * 1000, 1)} ms/s (${fmt(idle.idleCpuBaseline * 1000, 1)} with none)`,
        'all',
        idle.alive === (last?.n ?? -1) && idle.failures.length === 0 ? 'yes' : `no (${idle.failures.length} failed to open${idle.failures[0] ? `: ${idle.failures[0]}` : ''})`,
      ]);
      if (idle.probeBefore && idle.probeAfter) {
        rows.push([
          'engine ping round trip, keep-alive every 5 s (probe)',
          `alone: ${describeProbe(idle.probeBefore)}; with ${fmt(last?.n ?? 0)} idle: ${describeProbe(idle.probeAfter)}`,
          '',
          '',
        ]);
      }
    }

    if (PHASES.has('handshakes')) {
      const hs = await benchHandshakes({ label: 'handshakes', pid: proc.child.pid!, url, profile: true }, minter.mint);
      handshakeCpuUs = hs.engineCpuUs;
      const rawBoth = meanRaw(hs.rawBefore, hs.rawAfter);
      const raw = rawBoth.perSecond;
      console.log(
        `  ${fmt(hs.ok)} handshakes in ${hs.seconds.toFixed(1)} s = ${fmt(hs.rate)}/s (${hs.failed} failed${hs.firstFailure ? `: ${hs.firstFailure}` : ''}); ` +
          `p50 ${hs.p50.toFixed(1)} ms, p99 ${hs.p99.toFixed(1)} ms; engine ${fmt(hs.engineCpuUs)} µs CPU each (${fmt(hs.engineSystemUs)} µs in the kernel; by thread, µs: ${hs.threads}); ` +
          `client ${fmt(hs.clientCpuUs)} µs each; raw ES256 ${fmt(hs.rawBefore.perSecond)} before, ${fmt(hs.rawAfter.perSecond)} after (per CPU-second ${fmt(hs.rawBefore.perCpuSecond)}, ${fmt(hs.rawAfter.perCpuSecond)})`,
      );
      console.log(`  machine during the phase: ${hs.machine}`);
      rows.push([
        `raw ES256 verifications (node:crypto, one core)`,
        `${fmt(raw)}/s (${fmt(hs.rawBefore.perSecond)} before, ${fmt(hs.rawAfter.perSecond)} after); ${fmt(rawBoth.perCpuSecond)} per CPU-second`,
        '',
        '',
      ]);
      rows.push([
        `handshakes/s (connect+upgrade+handshake_ok+close, distinct tokens, ${IN_FLIGHT} in flight)`,
        `${fmt(hs.rate)}/s = ${fmt((hs.rate / raw) * 100, 1)}% of raw; p50 ${hs.p50.toFixed(1)} ms, p99 ${hs.p99.toFixed(1)} ms`,
        `>= raw/2 = ${fmt(raw / 2)}/s`,
        hs.rate >= raw / 2 && hs.failed === 0 ? 'yes' : 'no',
      ]);
      rows.push([
        'engine CPU per handshake',
        `${fmt(hs.engineCpuUs)} µs (kernel ${fmt(hs.engineSystemUs)}; main thread ${fmt(hs.mainThreadUs)}; ${fmt(1e6 / hs.engineCpuUs)} per CPU-second = ${fmt((1e6 / hs.engineCpuUs / rawBoth.perCpuSecond) * 100, 1)}% of raw per CPU-second); client ${fmt(hs.clientCpuUs)} µs`,
        '',
        '',
      ]);
    }

    if (PHASES.has('frames')) {
      const fr = await benchFrames(
        { label: 'frames', pid: proc.child.pid!, url, openConnections: async () => (await engineMetrics(base)).connections, profilePrefix: 'frames' },
        minter.mint,
      );
      framesCpuUs = fr.engineCpuUs;
      const rawBoth = meanRaw(fr.rawBefore, fr.rawAfter);
      const raw = rawBoth.perSecond;
      console.log(
        `  ${fmt(fr.ok)} handshakes on open connections in ${fr.seconds.toFixed(1)} s (${fr.rounds} rounds) = ${fmt(fr.rate)}/s (${fr.failed} failed${fr.firstFailure ? `: ${fr.firstFailure}` : ''}); ` +
          `p50 ${fr.p50.toFixed(1)} ms, p99 ${fr.p99.toFixed(1)} ms; engine ${fmt(fr.engineCpuUs)} µs CPU each (${fmt(fr.engineSystemUs)} µs in the kernel; by thread, µs: ${fr.threads}); ` +
          `client ${fmt(fr.clientCpuUs)} µs each; raw ES256 ${fmt(fr.rawBefore.perSecond)} before, ${fmt(fr.rawAfter.perSecond)} after (per CPU-second ${fmt(fr.rawBefore.perCpuSecond)}, ${fmt(fr.rawAfter.perCpuSecond)})`,
      );
      console.log(
        `  untimed: opening (connect + upgrade) ${fmt(fr.openRate)}/s, engine ${fmt(fr.openUs)} µs CPU per connection; closing ${fmt(fr.closeUs)} µs per connection`,
      );
      console.log(`  machine during the timed windows: ${fr.machine}`);
      rows.push([
        `raw ES256 verifications (node:crypto, one core), frames phase`,
        `${fmt(raw)}/s (${fmt(fr.rawBefore.perSecond)} before, ${fmt(fr.rawAfter.perSecond)} after); ${fmt(rawBoth.perCpuSecond)} per CPU-second`,
        '',
        '',
      ]);
      rows.push([
        `handshakes/s on open connections (handshake frame → handshake_ok, distinct tokens, ${FRAMES_IN_FLIGHT} in flight)`,
        `${fmt(fr.rate)}/s = ${fmt((fr.rate / raw) * 100, 1)}% of raw; p50 ${fr.p50.toFixed(1)} ms, p99 ${fr.p99.toFixed(1)} ms`,
        `>= raw/2 = ${fmt(raw / 2)}/s`,
        fr.rate >= raw / 2 && fr.failed === 0 ? 'yes' : 'no',
      ]);
      rows.push([
        'engine CPU per handshake on an open connection',
        `${fmt(fr.engineCpuUs)} µs (kernel ${fmt(fr.engineSystemUs)}; main thread ${fmt(fr.mainThreadUs)}; ${fmt(1e6 / fr.engineCpuUs)} per CPU-second = ${fmt((1e6 / fr.engineCpuUs / rawBoth.perCpuSecond) * 100, 1)}% of raw per CPU-second; ${fr.threads}); client ${fmt(fr.clientCpuUs)} µs`,
        '',
        '',
      ]);
    }

    if (PHASES.has('floor')) {
      for (const transport of ['net', 'ws'] as const) {
        const bare = await startBareServer(base, transport);
        try {
          const fl = await benchFrames({ label: `floor (${transport})`, pid: bare.pid, url: bare.url, openConnections: bare.openConnections }, minter.mint);
          const rawBoth = meanRaw(fl.rawBefore, fl.rawAfter);
          const raw = rawBoth.perSecond;
          console.log(
            `  floor (${transport}): ${fmt(fl.ok)} handshake frames in ${fl.seconds.toFixed(1)} s (${fl.rounds} rounds) = ${fmt(fl.rate)}/s (${fl.failed} failed${fl.firstFailure ? `: ${fl.firstFailure}` : ''}); ` +
              `p50 ${fl.p50.toFixed(1)} ms, p99 ${fl.p99.toFixed(1)} ms; server ${fmt(fl.engineCpuUs)} µs CPU each (${fmt(fl.engineSystemUs)} µs in the kernel; by thread, µs: ${fl.threads}); client ${fmt(fl.clientCpuUs)} µs each; ` +
              `raw ES256 ${fmt(fl.rawBefore.perSecond)} before, ${fmt(fl.rawAfter.perSecond)} after (per CPU-second ${fmt(fl.rawBefore.perCpuSecond)}, ${fmt(fl.rawAfter.perCpuSecond)})`,
          );
          console.log(`  machine during the timed windows: ${fl.machine}`);
          rows.push([
            `floor (${transport === 'net' ? 'node:net, raw frames' : 'node:http + ws, as the gateway'}): only the I/O, JSON and ES256 of a handshake frame (${FRAMES_IN_FLIGHT} in flight)`,
            `${fmt(fl.rate)}/s = ${fmt((fl.rate / raw) * 100, 1)}% of raw (${fmt(raw)}/s); ${fmt(fl.engineCpuUs)} µs CPU each (main thread ${fmt(fl.mainThreadUs)}; ${fl.threads}); client ${fmt(fl.clientCpuUs)} µs` +
              (framesCpuUs ? `; the engine costs ${fmt(framesCpuUs / fl.engineCpuUs, 2)}× this` : ''),
            `>= raw/2 = ${fmt(raw / 2)}/s`,
            fl.rate >= raw / 2 && fl.failed === 0 ? 'yes' : 'no',
          ]);
          const hs = await benchHandshakes({ label: `floor handshakes (${transport})`, pid: bare.pid, url: bare.url, profile: false }, minter.mint);
          const hsRaw = meanRaw(hs.rawBefore, hs.rawAfter).perSecond;
          console.log(
            `  floor handshakes (${transport}): ${fmt(hs.ok)} in ${hs.seconds.toFixed(1)} s = ${fmt(hs.rate)}/s (${hs.failed} failed${hs.firstFailure ? `: ${hs.firstFailure}` : ''}); ` +
              `p50 ${hs.p50.toFixed(1)} ms, p99 ${hs.p99.toFixed(1)} ms; server ${fmt(hs.engineCpuUs)} µs CPU each (${fmt(hs.engineSystemUs)} µs in the kernel; by thread, µs: ${hs.threads}); client ${fmt(hs.clientCpuUs)} µs each`,
          );
          console.log(`  machine during the phase: ${hs.machine}`);
          rows.push([
            `floor (${transport === 'net' ? 'node:net' : 'node:http + ws'}): full handshakes (connect+upgrade+handshake_ok+close, ${IN_FLIGHT} in flight)`,
            `${fmt(hs.rate)}/s = ${fmt((hs.rate / hsRaw) * 100, 1)}% of raw (${fmt(hsRaw)}/s); ${fmt(hs.engineCpuUs)} µs CPU each (main thread ${fmt(hs.mainThreadUs)}); client ${fmt(hs.clientCpuUs)} µs` +
              (handshakeCpuUs ? `; the engine costs ${fmt(handshakeCpuUs / hs.engineCpuUs, 2)}× this` : ''),
            `>= raw/2 = ${fmt(hsRaw / 2)}/s`,
            hs.rate >= hsRaw / 2 && hs.failed === 0 ? 'yes' : 'no',
          ]);
        } finally {
          await bare.stop();
        }
      }
    }

    if (PHASES.has('flows')) {
      const flows = await benchFlows(proc, peer, base, url, minter.mint);
      console.log(
        `  ${fmt(flows.done)} flows in ${flows.seconds.toFixed(1)} s = ${fmt(flows.rate, 1)}/s (${flows.failed} failed${flows.firstFailure ? `: ${flows.firstFailure}` : ''}); ` +
          `p50 ${flows.p50.toFixed(0)} ms, p99 ${flows.p99.toFixed(0)} ms; CPU per flow: engine ${flows.engineCpuMs.toFixed(2)} ms (kernel ${flows.engineSystemMs.toFixed(2)} ms; by thread, µs: ${flows.threads}), ` +
          `issuer peer + PDP ${flows.peerCpuMs.toFixed(2)} ms, clients ${flows.clientCpuMs.toFixed(2)} ms; peer saw ${JSON.stringify(flows.peerStats.statuses)}`,
      );
      console.log(`  machine during the phase: ${flows.machine}; handshakes (reconnects) during it: ${flows.reconnects}`);
      rows.push([
        `pre-authorized issuance flows/s (${FLOW_CLIENTS} EngineClients, 1 flow each at a time)`,
        `${fmt(flows.rate, 1)}/s (${flows.failed} failed); p50 ${flows.p50.toFixed(0)} ms, p99 ${flows.p99.toFixed(0)} ms`,
        '(no number given)',
        flows.failed === 0 ? 'measured' : 'failures',
      ]);
      rows.push([
        'CPU per flow: engine / issuer peer+PDP / clients',
        `${flows.engineCpuMs.toFixed(2)} ms (main thread ${flows.engineMainMs.toFixed(2)}) / ${flows.peerCpuMs.toFixed(2)} ms / ${flows.clientCpuMs.toFixed(2)} ms`,
        '',
        '',
      ]);
    }

    if (PHASES.has('presentations')) {
      const vp = await benchPresentations(proc, peer, base, url, minter.mint);
      console.log(
        `  ${fmt(vp.done)} presentations in ${vp.seconds.toFixed(1)} s = ${fmt(vp.rate, 1)}/s (${vp.failed} failed${vp.firstFailure ? `: ${vp.firstFailure}` : ''}); ` +
          `p50 ${vp.p50.toFixed(0)} ms, p99 ${vp.p99.toFixed(0)} ms; CPU per presentation: all-in-one ${vp.processCpuMs.toFixed(2)} ms (kernel ${vp.processSystemMs.toFixed(2)} ms; ` +
          `by thread, µs: ${vp.threads}; threads: ${vp.threadRoles}), issuer peer + PDP ${vp.peerCpuMs.toFixed(2)} ms, clients ${vp.clientCpuMs.toFixed(2)} ms; peer saw ${JSON.stringify(vp.peerStats.statuses)}, ${vp.peerStats.pdpQueries} PDP queries`,
      );
      console.log(`  machine during the phase: ${vp.machine}; handshakes (reconnects) during it: ${vp.reconnects}`);
      rows.push([
        `presentation flows/s to our verifier (${PRESENTERS} EngineClients; startsiop, present${TOKEN_EXCHANGE ? ', code exchange' : ''})`,
        `${fmt(vp.rate, 1)}/s (${vp.failed} failed); p50 ${vp.p50.toFixed(0)} ms, p99 ${vp.p99.toFixed(0)} ms`,
        '(no number given)',
        vp.failed === 0 ? 'measured' : 'failures',
      ]);
      rows.push([
        'CPU per presentation: all-in-one (engine + verifier) / issuer peer+PDP / clients',
        `${vp.processCpuMs.toFixed(2)} ms (main thread ${vp.mainMs.toFixed(2)}, verifier worker ${vp.workerMs.toFixed(2)}) / ${vp.peerCpuMs.toFixed(2)} ms / ${vp.clientCpuMs.toFixed(2)} ms`,
        '',
        '',
      ]);
    }
  } finally {
    clearInterval(keepOutput);
    await minter?.close();
    await proc.stop('SIGTERM');
    await peer.stop();
    rmSync(servicesDir, { recursive: true, force: true });
  }

  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length), ['measure', 'result', 'target', 'met?'][i]!.length));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n${line(['measure', 'result', 'target', 'met?'])}\n${line(widths.map((w) => '-'.repeat(w)))}`);
  for (const row of rows) console.log(line(row));
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
