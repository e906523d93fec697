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
 *
 * Access tokens are minted here with auth's own access-token key ring, read
 * from the all-in-one's SQLite store (`openServiceKeyRing`, purpose
 * `ACCESS_TOKEN_KEY_PURPOSE`), with the claims `AccessTokenVerifier` checks.
 *
 * Run: node tools/scripts/run-ts.mjs bench/engine.bench.ts [--seconds 8] [--phases idle,handshakes,flows]
 *      [--connections 1000,5000,10000] [--in-flight 64] [--clients 32]
 * Build first (`node tools/build/bundle.mjs all-in-one`).
 */
import { loadConfig } from '@wallet/config';
import { ACCESS_TOKEN_KEY_PURPOSE, openServiceKeyRing } from '@wallet/platform';
import { createStore } from '@wallet/persistence';
import { processCpuSeconds, startBuiltApp, type ServiceProcess } from '@wallet/testing';
import { EngineClient, createKeyring, webSocketTransport, type EngineTransport, type FlowResult } from '@wallet/wallet-client';
import { fork, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomUUID, sign, verify } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import type { PeerMessage, PeerRequest } from './lib/engine-issuer-peer';
import { maskedTextFrame, runHandshakeLoad } from './lib/raw-ws-handshake';

// ---------------------------------------------------------------- arguments

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
/** Length of each timed throughput phase (handshakes, flows). */
const SECONDS = Number(arg('--seconds')) || 8;
const PHASES = new Set((arg('--phases') ?? 'idle,handshakes,flows').split(','));
const CONNECTION_STEPS = (arg('--connections') ?? '1000,5000,10000').split(',').map(Number);
const IN_FLIGHT = Number(arg('--in-flight')) || 64;
const FLOW_CLIENTS = Number(arg('--clients')) || 32;
/** Untimed handshakes before the timed phase (and before the idle baseline). */
const HANDSHAKE_WARM_UP = 4_000;
/** Untimed flows before the timed phase. */
const FLOW_WARM_UP = 400;
/** Idle connections are opened this many at a time. */
const OPEN_IN_FLIGHT = 64;
/** The engine's per-user limits this bench raises for the flows phase (16-64 users run hundreds of flows a minute). */
const ENGINE_ENV: Record<string, string> = {
  WALLET_ENGINE_FLOW_STARTS_PER_MINUTE: '10000',
  WALLET_ENGINE_MAX_CONCURRENT_FLOWS: '100',
  WALLET_ENGINE_MESSAGES_PER_SECOND: '1000',
  WALLET_ENGINE_MESSAGE_BURST: '2000',
};
const root = resolve(__dirname, '..');

// ---------------------------------------------------------------- measuring

/** Raw ES256 (P-256, SHA-256) verifications per second, on one core, for 3 s (as in verifier.bench.ts). */
function rawEs256PerSecond(): number {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = Buffer.alloc(300, 7);
  const signature = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  let count = 0;
  const started = process.hrtime.bigint();
  const deadline = Date.now() + 3_000;
  while (Date.now() < deadline) {
    for (let i = 0; i < 100; i++) if (verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)) count++;
  }
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

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

/** CPU seconds per thread name (`node` is the main thread; V8 and libuv name theirs), from /proc. */
function cpuByThreadName(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = tid === String(pid) ? 'main' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const { user, system } = cpuSplit(`/proc/${pid}/task/${tid}/stat`);
      out.set(name, (out.get(name) ?? 0) + user + system);
    } catch {
      // the thread ended between listing and reading
    }
  }
  return out;
}

/** `after - before` per thread name, in µs per unit of work, largest first; threads that ended are left out. */
function threadShares(before: Map<string, number>, after: Map<string, number>, units: number): string {
  return [...after]
    .map(([name, seconds]): [string, number] => [name, ((seconds - (before.get(name) ?? 0)) * 1e6) / units])
    .filter(([, us]) => us >= 1)
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => `${name} ${fmt(us)}`)
    .join(', ');
}

/** The whole machine's CPU seconds so far (all cores, /proc/stat): busy in all, and of that in softirq (loopback TCP is processed there). */
interface MachineCpu {
  busy: number;
  softirq: number;
}
function machineCpu(): MachineCpu {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = ticks.slice(0, 8).map(Number) as [number, number, number, number, number, number, number, number];
  void idle;
  void iowait;
  return { busy: (user + nice + system + irq + softirq + steal) / 100, softirq: softirq / 100 };
}

/** How busy the machine was over a timed phase, in cores, and who was busy: the processes named, softirq, and everything else. */
function machineShare(before: MachineCpu, after: MachineCpu, seconds: number, ours: Record<string, number>): string {
  const busy = (after.busy - before.busy) / seconds;
  const softirq = (after.softirq - before.softirq) / seconds;
  const named = Object.values(ours).reduce((a, b) => a + b, 0) / seconds;
  const parts = Object.entries(ours).map(([name, cpu]) => `${name} ${(cpu / seconds).toFixed(2)}`);
  return `${busy.toFixed(2)} of ${cpus().length} cores busy: ${parts.join(', ')}, softirq ${softirq.toFixed(2)}, other processes ${Math.max(0, busy - named - softirq).toFixed(2)}`;
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

interface IdleResult {
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
  const baseline = await settledMemory(pid, base, inspectorUrl);
  const idleCpuBaseline = await idleCpu(pid);
  console.log(`  baseline: RSS ${fmt(baseline.rss / 1024, 1)} MiB, heap used ${fmt(baseline.heapUsed / 1048576, 1)} MiB, ${baseline.connections} connections`);
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
  return { baseline, steps, alive, pingSeconds, idleCpuPerSecond, idleCpuBaseline, failures };
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
  rawBefore: number;
  rawAfter: number;
  firstFailure?: string;
}

async function handshakeFrames(mint: (sub: string) => Promise<string>, count: number, prefix: string): Promise<Buffer[]> {
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) frames.push(maskedTextFrame(handshakeText(await mint(`${prefix}-${i}`))));
  return frames;
}

async function benchHandshakes(proc: ServiceProcess, url: string, mint: (sub: string) => Promise<string>): Promise<HandshakeResult> {
  const pid = proc.child.pid!;
  // Warm-up, untimed; its rate sizes the timed phase's token supply.
  const warm = await runHandshakeLoad(url, await handshakeFrames(mint, HANDSHAKE_WARM_UP, 'bench-warm'), IN_FLIGHT);
  if (warm.failures.length) throw new Error(`warm-up handshakes failed: ${warm.failures[0]}`);
  const warmRate = warm.answers.length / warm.seconds;
  const count = Math.ceil(Math.max(warmRate, 2_000) * SECONDS * 1.3);
  console.log(`handshakes: warm-up ${fmt(warmRate)}/s; minting ${fmt(count)} distinct tokens for ~${SECONDS} s...`);
  const frames = await handshakeFrames(mint, count, 'bench-hs');
  const rawBefore = rawEs256PerSecond();
  const machine0 = machineCpu();
  const split0 = cpuSplit(`/proc/${pid}/stat`);
  const threads0 = cpuByThreadName(pid);
  const client0 = cpuSelf();
  const result = await runHandshakeLoad(url, frames, IN_FLIGHT);
  const clientCpu = cpuSelf() - client0;
  const split1 = cpuSplit(`/proc/${pid}/stat`);
  const threads1 = cpuByThreadName(pid);
  const machine = machineShare(machine0, machineCpu(), result.seconds, {
    engine: split1.user + split1.system - split0.user - split0.system,
    'bench (clients)': clientCpu,
  });
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

// ---------------------------------------------------------------- issuance flows

/** The issuer peer's child process, and a typed request/answer over its IPC channel. */
interface Peer {
  child: ChildProcess;
  issuerUrl: string;
  pdpUrl: string;
  ask<T extends PeerMessage['type']>(request: PeerRequest, answer: T): Promise<Extract<PeerMessage, { type: T }>>;
  stop(): Promise<void>;
}

async function startPeer(): Promise<Peer> {
  const child = fork(join(root, 'tools/scripts/run-ts.mjs'), [join(root, 'bench/lib/engine-issuer-peer.ts')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <T extends PeerMessage['type']>(type: T) =>
    new Promise<Extract<PeerMessage, { type: T }>>((resolveMessage, rejectMessage) => {
      const onMessage = (message: PeerMessage) => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolveMessage(message as Extract<PeerMessage, { type: T }>);
      };
      const onExit = (code: number | null) => rejectMessage(new Error(`the issuer peer exited with ${code}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const ready = await next('ready');
  return {
    child,
    issuerUrl: ready.issuerUrl,
    pdpUrl: ready.pdpUrl,
    ask: (request, answer) => {
      const answered = next(answer);
      child.send(request);
      return answered;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
      child.send({ type: 'close' } satisfies PeerRequest);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
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
    const handshakes0 = (await engineMetrics(base)).handshakes;
    const machine0 = machineCpu();
    const engine0 = cpuSplit(`/proc/${pid}/stat`);
    const threads0 = cpuByThreadName(pid);
    const peer0 = processCpuSeconds(peer.child.pid!);
    const client0 = cpuSelf();
    const timed = await runFlows(clients, offers, Date.now() + SECONDS * 1000);
    const clientCpu = cpuSelf() - client0;
    const engine1 = cpuSplit(`/proc/${pid}/stat`);
    const threads1 = cpuByThreadName(pid);
    const engineCpu = engine1.user + engine1.system - engine0.user - engine0.system;
    const engineMain = (threads1.get('main') ?? 0) - (threads0.get('main') ?? 0);
    const peerCpu = processCpuSeconds(peer.child.pid!) - peer0;
    const machine = machineShare(machine0, machineCpu(), timed.seconds, { engine: engineCpu, 'issuer peer': peerCpu, 'bench (clients)': clientCpu });
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

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  console.log(`node ${process.version}; phases ${[...PHASES].join(', ')}; ${SECONDS} s per timed phase`);
  const peer = await startPeer();
  const proc = await startBuiltApp('all-in-one', {
    WALLET_OUTBOUND_ALLOW_HTTP: 'true',
    WALLET_OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8',
    WALLET_TRUST_PDP_URL: peer.pdpUrl,
    WALLET_TRUST_PDP_ALLOW_HTTP: 'true',
    WALLET_TRUST_PDP_ALLOW_CIDRS: '127.0.0.0/8',
    ...ENGINE_ENV,
    // The inspector on a free loopback port, for full GCs before memory readings (no session is attached otherwise).
    NODE_OPTIONS: `${process.env['BENCH_NODE_OPTIONS'] ?? ''} --inspect=127.0.0.1:0`.trim(),
  });
  const inspectorUrl = proc.output.map((line) => /Debugger listening on (ws:\/\/\S+)/.exec(line)?.[1]).find(Boolean);
  // startBuiltApp keeps every log line; a long bench does not need them.
  const keepOutput = setInterval(() => proc.output.splice(0, Math.max(0, proc.output.length - 200)), 1_000);
  const base = proc.servers.get('wallet')!;
  const url = `${base.replace(/^http/, 'ws')}/api/v2/wallet`;
  const rows: Array<[string, string, string, string]> = [];
  let minter: Awaited<ReturnType<typeof tokenMinter>> | undefined;
  try {
    if (!inspectorUrl) throw new Error('the engine did not say where its inspector listens');
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
    }

    if (PHASES.has('handshakes')) {
      const hs = await benchHandshakes(proc, url, minter.mint);
      const raw = (hs.rawBefore + hs.rawAfter) / 2;
      console.log(
        `  ${fmt(hs.ok)} handshakes in ${hs.seconds.toFixed(1)} s = ${fmt(hs.rate)}/s (${hs.failed} failed${hs.firstFailure ? `: ${hs.firstFailure}` : ''}); ` +
          `p50 ${hs.p50.toFixed(1)} ms, p99 ${hs.p99.toFixed(1)} ms; engine ${fmt(hs.engineCpuUs)} µs CPU each (${fmt(hs.engineSystemUs)} µs in the kernel; by thread, µs: ${hs.threads}); ` +
          `client ${fmt(hs.clientCpuUs)} µs each; raw ES256 ${fmt(hs.rawBefore)} before, ${fmt(hs.rawAfter)} after`,
      );
      console.log(`  machine during the phase: ${hs.machine}`);
      rows.push([`raw ES256 verifications (node:crypto, one core)`, `${fmt(raw)}/s (${fmt(hs.rawBefore)} before, ${fmt(hs.rawAfter)} after)`, '', '']);
      rows.push([
        `handshakes/s (connect+upgrade+handshake_ok+close, distinct tokens, ${IN_FLIGHT} in flight)`,
        `${fmt(hs.rate)}/s = ${fmt((hs.rate / raw) * 100, 1)}% of raw; p50 ${hs.p50.toFixed(1)} ms, p99 ${hs.p99.toFixed(1)} ms`,
        `>= raw/2 = ${fmt(raw / 2)}/s`,
        hs.rate >= raw / 2 && hs.failed === 0 ? 'yes' : 'no',
      ]);
      rows.push([
        'engine CPU per handshake',
        `${fmt(hs.engineCpuUs)} µs (kernel ${fmt(hs.engineSystemUs)}; main thread ${fmt(hs.mainThreadUs)}; ${fmt(1e6 / hs.engineCpuUs)} per CPU-second); client ${fmt(hs.clientCpuUs)} µs`,
        '',
        '',
      ]);
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
  } finally {
    clearInterval(keepOutput);
    await minter?.close();
    await proc.stop('SIGTERM');
    await peer.stop();
  }

  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length), ['measure', 'result', 'target', 'met?'][i]!.length));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n${line(['measure', 'result', 'target', 'met?'])}\n${line(widths.map((w) => '-'.repeat(w)))}`);
  for (const row of rows) console.log(line(row));
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
