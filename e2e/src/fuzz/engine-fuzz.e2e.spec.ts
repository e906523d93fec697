import { CI_BUDGET_MS, CI_SEED, ENGINE_CI_RUNS, formatReports, WATCH_INTERVAL_MS } from './lib/fuzz-suite';
import { clientMessageShapes, RAW_FRAMES } from './lib/engine-frames';
import { EngineFuzzTarget } from './lib/engine-target';
import { engineGroups, fuzzEngine, type EngineCoverage } from './lib/fuzz-engine';
import type { ServiceReport } from './lib/fuzz-service';
import type { HealthWatcher } from './lib/health-watcher';

/**
 * The engine's WebSocket API (`/api/v2/wallet`) under the fuzzer in CI
 * (docs/testing.md, "The WebSocket fuzzer"): the built all-in-one with an
 * issuer and a verifier peer on loopback, a fixed seed and ENGINE_CI_RUNS
 * generated cases per client message type (from the zod union), hostile
 * frames and connections, then the fixed sweep. Fails on a frame from the
 * engine that is not a server message, an `internal` error, a request with a
 * `message_id` left unanswered (unless a documented close came), a close
 * code CLOSE_CODES does not document, a forged, expired or foreign token
 * accepted, a token repeated, a stall over the budget that comes back when
 * replayed, a crash, or any change to the flows of users B and C.
 * `npm run fuzz -- --service engine` runs longer with any seed.
 */
describe('fuzzing the engine WebSocket API (built all-in-one)', () => {
  const target = new EngineFuzzTarget();
  let watcher: HealthWatcher;
  let report: (ServiceReport & { coverage: EngineCoverage }) | undefined;

  beforeAll(async () => {
    await target.start();
    watcher = await target.base.watch(WATCH_INTERVAL_MS);
  }, 120_000);

  afterAll(async () => {
    await watcher?.stop();
    const code = await target.stop();
    if (report) process.stdout.write(`\nengine fuzz (seed ${CI_SEED}, ${ENGINE_CI_RUNS} per group):\n${formatReports([report], CI_BUDGET_MS)}\n`);
    expect(code).toBe(0);
  }, 60_000);

  it('answers every frame with valid, typed frames and documented closes; no stall, no crash, other users untouched', async () => {
    report = await fuzzEngine(target, watcher, { seed: CI_SEED, runs: ENGINE_CI_RUNS, budgetMs: CI_BUDGET_MS, replayPrefix: 'npm run fuzz --' });
    expect(target.alive()).toBe(true);
    expect(report.findings.map((f) => `${f.kind} ${f.route}: ${f.detail.slice(0, 1500)}\n  replay: ${f.replay}`)).toEqual([]);
    // Every group ran its full count (a finding ends a group early), then the sweep; the watcher saw the answers.
    expect(report.requests).toBeGreaterThan(engineGroups().length * ENGINE_CI_RUNS);
    expect(report.worstHealth.ms).toBeGreaterThan(0);
  }, 300_000);

  it('sent every client message type, hostile frame and token, and reached every question', () => {
    if (!report) throw new Error('the fuzzing did not run');
    const { coverage } = report;
    expect(coverage.cases).toBeGreaterThanOrEqual(engineGroups().length * ENGINE_CI_RUNS);
    // Every message type of the zod union (a new one is fuzzed as soon as it is added there).
    expect(Object.keys(coverage.messages).sort()).toEqual(clientMessageShapes().map((s) => s.type).sort());
    for (const count of Object.values(coverage.messages)) expect(count).toBeGreaterThanOrEqual(ENGINE_CI_RUNS);
    expect(Object.keys(coverage.raw)).toEqual(expect.arrayContaining([...RAW_FRAMES]));
    expect(Object.keys(coverage.handshakes).sort()).toEqual(['A', 'empty', 'expired', 'forged-none', 'forged-payload', 'forged-signature', 'garbage', 'other-user']);
    expect(coverage.expiredHandshakes).toBeGreaterThan(0);
    expect(Object.keys(coverage.questions).sort()).toEqual(['authorization_request', 'consent_request', 'presentation_request', 'selection_request', 'sign_request', 'tx_code_request']);
    // The engine answered: typed refusals of every kind the fuzzer provokes, and the documented closes.
    for (const seen of ['error:invalid_message', 'error:unknown_flow', 'error:unexpected_reply', 'error:rate_limited', 'error:unauthenticated', 'flow_complete', 'notification_result', 'close:4401', 'close:4429', 'close:1009', 'close:1007', 'close:4408', 'upgrade:400', 'upgrade:404']) {
      expect([seen, (coverage.received[seen] ?? 0) > 0]).toEqual([seen, true]);
    }
    expect(report.routes).toBe(engineGroups().length + 1); // and the sweep
  });
});
