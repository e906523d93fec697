import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { Pool } from 'undici';
import { PROTECTED_TENANT, type FuzzService, type FuzzTarget, type ProtectedSnapshot } from './fuzz-target';
import { describeRequest, headBytes, requestPlans, wireRequest, type RequestPlan, type WireRequest } from './fuzz-requests';
import type { HealthWatcher } from './health-watcher';
import { documentsProblemJson, type FuzzOperation } from './openapi-operations';
import type { ValuePools } from './values';

/**
 * The options every fuzzer takes (`npm run fuzz` passes the same ones to the
 * HTTP fuzzer and the engine's WebSocket fuzzer).
 */
export interface FuzzRunOptions {
  seed: number;
  /** Generated cases per route (HTTP: requests per route; engine: cases per group). */
  runs: number;
  /** A health answer slower than this (and again when the case is replayed) fails the run. */
  budgetMs: number;
  /** Only this route (HTTP: `METHOD /path`; engine: a message type, `frames` or `connect`). */
  route?: string;
  /** fast-check's counterexample path, to replay one failure. */
  path?: string;
  /** Shrink a failure to a smaller case (more cases; off in CI). */
  shrink?: boolean;
  /** Print every case and its answer (long). */
  trace?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
  /** How `npm run fuzz` is invoked, for replay commands. */
  replayPrefix?: string;
}

export interface FuzzOptions extends FuzzRunOptions {
  /** Vault records A has while storage is fuzzed (query cost grows with them). */
  vaultRecords?: number;
  /** The server's body limit in bytes. */
  bodyLimit?: number;
}

export type FindingKind =
  | '5xx'
  | 'crash'
  | 'stall'
  | 'no-answer'
  | 'not-problem-json'
  | 'secret-in-error'
  | 'protected-data-changed'
  | 'fuzzer-error'
  // The engine's WebSocket API (fuzz-engine.ts):
  | 'invalid-frame'
  | 'internal-error'
  | 'undocumented-close'
  | 'bad-token-accepted';

/** The HTTP services, and the engine's WebSocket API. */
export type FuzzedService = FuzzService | 'engine';

export interface Finding {
  service: FuzzedService;
  route: string;
  kind: FindingKind;
  detail: string;
  replay: string;
}

export interface ServiceReport {
  service: FuzzedService;
  source: string;
  routes: number;
  requests: number;
  /** The slowest /health/live answer per port while this service was fuzzed, and the request it overlapped. */
  worstHealth: { ms: number; port: string; request: string };
  /** Health answers over the budget that did not come back when the request was replayed alone (noise). */
  unconfirmedSpikes: Array<{ ms: number; request: string }>;
  /** Largest `nodejs_eventloop_lag_max_seconds` from /metrics over the service's run, in ms. */
  worstLoopLagMs: number;
  /** The slowest single answer (wall time of the request itself). */
  slowestAnswer: { ms: number; request: string };
  statuses: Record<string, number>;
  /** `route -> statuses` answered but not documented (reported, not failed). */
  undocumented: Record<string, number[]>;
  findings: Finding[];
}

/** A stable 32-bit seed per route, from the run's seed and the route, so one route can be replayed alone. */
export function routeSeed(seed: number, route: string): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < route.length; i++) h = Math.imul(h ^ route.charCodeAt(i), 0x01000193) >>> 0;
  return h | 0;
}

const LAG = /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? ([0-9.eE+-]+)$/gm;
function lagFrom(metrics: string): number {
  let worst = 0;
  for (const match of metrics.matchAll(LAG)) worst = Math.max(worst, Number(match[1]) * 1000);
  return worst;
}

export class FindingError extends Error {
  constructor(
    readonly kind: FindingKind,
    detail: string,
  ) {
    super(detail);
  }
}

interface Sent {
  status: number;
  type: string;
  text: string;
  ms: number;
  from: number;
  to: number;
  error?: Error;
}

/** Runs the fuzzing of one service against a started target; never throws for a finding, returns it. */
export async function fuzzService(target: FuzzTarget, watcher: HealthWatcher, service: FuzzService, options: FuzzOptions): Promise<ServiceReport> {
  const log = options.log ?? (() => undefined);
  const bodyLimit = options.bodyLimit ?? 1_048_576;
  const { operations, source } = await target.operations(service);
  const selected = operations.filter((op) => !options.route || op.key === options.route);
  const base = target.baseUrl(service);
  const pool = new Pool(base, { connections: 2, pipelining: 1, headersTimeout: 120_000, bodyTimeout: 120_000 });
  const ports = ['wallet', 'admin', 'verifier'] as const;
  const scrapeLag = async () => {
    let worst = 0;
    for (const port of ports) worst = Math.max(worst, lagFrom(await (await fetch(`${target.urls[port]}/metrics`)).text()));
    return worst;
  };
  const report: ServiceReport = {
    service,
    source,
    routes: selected.length,
    requests: 0,
    worstHealth: { ms: 0, port: '', request: '' },
    unconfirmedSpikes: [],
    worstLoopLagMs: 0,
    slowestAnswer: { ms: 0, request: '' },
    statuses: {},
    undocumented: {},
    findings: [],
  };
  // The admin token may change any tenant: on admin routes the protected tenant and its user are
  // not offered as values (the admin's own changes to them are not a finding), only as the snapshot.
  const offLimits = new Set<string>(service === 'admin' ? [PROTECTED_TENANT, target.userB.uuid] : []);
  const byName = Object.fromEntries(Object.entries(target.knownIds).map(([name, values]) => [name, values.filter((v) => !offLimits.has(v))]));
  const pools: ValuePools = { byName, closedPort: target.closedPort };
  if (service === 'storage') await target.fillVaultOfA(options.vaultRecords ?? 100);
  let before: ProtectedSnapshot = await target.snapshot();
  await scrapeLag(); // starts the service's window of the event-loop metric

  const send = async (wire: WireRequest): Promise<Sent> => {
    const from = watcher.now();
    try {
      const answer = await pool.request({ method: wire.method as 'GET', path: wire.path, headers: wire.headers, body: wire.body ?? null });
      const text = await answer.body.text();
      const to = watcher.now();
      return { status: answer.statusCode, type: String(answer.headers['content-type'] ?? ''), text, ms: to - from, from, to };
    } catch (error) {
      const to = watcher.now();
      return { status: 0, type: '', text: '', ms: to - from, from, to, error: error as Error };
    }
  };

  const worstHealth = async (sent: Sent) => {
    const ports = await watcher.window(sent.from, sent.to, options.budgetMs * 4 + 5000);
    return ports.reduce((worst, p) => (p.worstMs > worst.worstMs || p.failed ? p : worst), { port: '', worstMs: 0, failed: false });
  };

  const check = async (op: FuzzOperation, plan: RequestPlan) => {
    if (target.staleA) {
      await target.renewA();
      if (service === 'storage') await target.fillVaultOfA(options.vaultRecords ?? 100);
    }
    const credentials =
      service === 'admin' ? { valid: target.adminToken, otherKind: target.userA.appToken } : { valid: target.userA.appToken, otherKind: target.adminToken };
    const wire = wireRequest(op, plan, credentials, bodyLimit);
    const description = describeRequest(wire);
    const sent = await send(wire);
    report.requests++;
    if (options.trace) log(`${sent.status} ${description.slice(0, 400)}`);
    report.statuses[String(sent.status)] = (report.statuses[String(sent.status)] ?? 0) + 1;
    if (sent.ms > report.slowestAnswer.ms) report.slowestAnswer = { ms: sent.ms, request: description };
    if (!target.alive()) throw new FindingError('crash', `the process exited (${target.proc.child.exitCode ?? target.proc.child.signalCode}) on ${description}`);

    const health = await worstHealth(sent);
    if (health.failed && !target.alive()) throw new FindingError('crash', `the process exited on ${description}`);
    if (health.worstMs > report.worstHealth.ms) report.worstHealth = { ms: health.worstMs, port: health.port, request: description };
    if (health.worstMs > options.budgetMs) {
      // Confirm: a request that holds the event loop does it again, twice, when sent alone; a
      // scheduler hiccup of a loaded machine does not.
      const replays: number[] = [];
      for (let i = 0; i < 2; i++) replays.push((await worstHealth(await send(wire))).worstMs);
      if (replays.every((ms) => ms > options.budgetMs)) {
        throw new FindingError('stall', `/health/live took ${health.worstMs.toFixed(0)} ms (replayed alone: ${replays.map((ms) => ms.toFixed(0)).join(', ')} ms; budget ${options.budgetMs} ms) during ${description}`);
      }
      report.unconfirmedSpikes.push({ ms: health.worstMs, request: description });
    }

    if (sent.error) {
      // The server may answer 413 to a body over its limit (or 431 to a head over Node's 16 KiB) and
      // close before it has read everything; the client then sees EPIPE or a reset.
      const over = Buffer.byteLength(wire.body ?? '') > bodyLimit || headBytes(wire) >= 16_384;
      if (!over) throw new FindingError('no-answer', `${sent.error.message} on ${description}`);
      return;
    }
    if (sent.status >= 500) {
      await new Promise((resolve) => setTimeout(resolve, 100)); // the service's log lines are flushed every 50 ms
      const errors = target.proc.output.filter((line) => /"level":(50|60)/.test(line)).slice(-2);
      throw new FindingError('5xx', `${sent.status} ${sent.text.slice(0, 300)} on ${description}${errors.length ? `\n    log: ${errors.join('\n    log: ').slice(0, 1500)}` : ''}`);
    }
    if (wire.method === 'GET' && /\/metrics$/.test(wire.path.split('?')[0]!) && sent.status === 200) {
      report.worstLoopLagMs = Math.max(report.worstLoopLagMs, lagFrom(sent.text));
    }
    if (sent.status >= 400 && sent.status < 500) {
      for (const secret of [target.adminToken, target.userA.appToken, target.userA.refreshToken]) {
        if (secret && sent.text.includes(secret)) throw new FindingError('secret-in-error', `the ${sent.status} answer repeats a token, on ${description}`);
      }
      const documented = documentsProblemJson(op, sent.status);
      if (documented === undefined) {
        const list = (report.undocumented[op.key] ??= []);
        if (!list.includes(sent.status)) list.push(sent.status);
      }
      if (documented === true) {
        if (!sent.type.startsWith('application/problem+json')) {
          throw new FindingError('not-problem-json', `${sent.status} with content-type "${sent.type}" (documented: application/problem+json) on ${description}`);
        }
        let problem: { status?: unknown; code?: unknown } = {};
        try {
          problem = JSON.parse(sent.text) as typeof problem;
        } catch {
          // checked below
        }
        if (problem.status !== sent.status || typeof problem.code !== 'string') {
          throw new FindingError('not-problem-json', `${sent.status} problem document without matching status and code: ${sent.text.slice(0, 200)} on ${description}`);
        }
      }
    }
    // A fuzzed logout, session delete or passkey delete may end A: make a new A before the next request needs it.
    if (service === 'auth' && sent.status < 300 && wire.method !== 'GET') await target.checkA();
  };

  for (const op of selected) {
    const seed = routeSeed(options.seed, op.key);
    const started = Date.now();
    const countBefore = report.requests;
    const result = await fc.check(
      fc.asyncProperty(requestPlans(op, pools), async (plan) => {
        await check(op, plan);
      }),
      { seed, numRuns: options.runs, endOnFailure: !options.shrink, ...(options.path ? { path: options.path } : {}) },
    );
    if (result.failed) {
      const error = result.errorInstance;
      // Anything but a FindingError is the fuzzer's own failure: report it with its stack.
      const kind = error instanceof FindingError ? error.kind : 'fuzzer-error';
      const replay = `${options.replayPrefix ?? 'npm run fuzz --'} --seed ${options.seed} --service ${service} --route "${op.key}" --path "${result.counterexamplePath ?? ''}" --runs ${options.runs}`;
      report.findings.push({ service, route: op.key, kind, detail: error instanceof FindingError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error), replay });
      log(`FAIL ${service} ${op.key}: ${kind}: ${error instanceof Error ? error.message.slice(0, 600) : String(error)}\n  replay: ${replay}`);
      if (kind === 'crash') break;
    }
    // B's data and the protected tenant, after every route, so a change is pinned to the route that made it.
    const after = await target.snapshot();
    if (!isDeepStrictEqual(before, after)) {
      const changed = (Object.keys(after) as Array<keyof ProtectedSnapshot>).filter((k) => !isDeepStrictEqual(before[k], after[k]));
      report.findings.push({
        service,
        route: op.key,
        kind: 'protected-data-changed',
        detail: `changed: ${changed.join(', ')}: ${changed.map((k) => `${JSON.stringify(before[k]).slice(0, 300)} -> ${JSON.stringify(after[k]).slice(0, 300)}`).join('; ')}`,
        replay: `${options.replayPrefix ?? 'npm run fuzz --'} --seed ${options.seed} --service ${service} --route "${op.key}" --runs ${options.runs}`,
      });
      before = after;
    }
    target.proc.output.splice(0, Math.max(0, target.proc.output.length - 200));
    log(`${service} ${op.key}: ${report.requests - countBefore} requests, ${Date.now() - started} ms`);
  }
  report.worstLoopLagMs = Math.max(report.worstLoopLagMs, await scrapeLag());
  await pool.close();
  return report;
}
