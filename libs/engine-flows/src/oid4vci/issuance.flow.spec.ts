import { createCache, type Cache } from '@wallet/cache';
import type { FlowStatus, ServerMessage } from '@wallet/engine-protocol';
import { startTestIssuer, type TestIssuer } from '@wallet/testing';
import type { FlowLimits } from '../engine-core';
import { deferredIssuanceFrames, label as frameLabel, runIssuance } from './issuance-harness.contract';

/** A frame the engine sent, with the status the stored flow record had at that moment. */
interface Seen {
  frame: ServerMessage;
  stored: FlowStatus | undefined;
}

/** Step names for progress frames, types for the rest (deferred_polled with its poll and pending). */
const label = ({ frame }: Seen): string => frameLabel(frame);

/**
 * Deferred issuance through the issuance flow and the runner, against the
 * test issuer (one pending poll, then the credential). The emitter reads the
 * stored record as each frame goes out: what a client that drops its socket
 * on that frame and resumes at once on another replica would be told.
 */
describe('issuance flow, deferred issuance', () => {
  let issuer: TestIssuer;
  let cache: Cache;

  beforeAll(async () => {
    issuer = await startTestIssuer({ deferred: { pendingPolls: 1, intervalSeconds: 1 } });
  });
  afterAll(async () => issuer.close());
  beforeEach(async () => {
    cache = await createCache({ type: 'memory' });
  });
  afterEach(async () => cache.close());

  async function receive(limits: Partial<FlowLimits>): Promise<Seen[]> {
    const seen: Seen[] = [];
    await runIssuance(cache, {
      issuer,
      offer: { grant: 'pre-authorized_code' },
      limits,
      observe: async (frame, flowId, core) => {
        seen.push({ frame, stored: (await core.store.load(flowId))?.record.status });
      },
    });
    return seen;
  }

  it('announces the deferral, and each pending poll, only once the flow is stored as deferred, and every step once', async () => {
    const seen = await receive({ deferredIntervalMs: { min: 20, max: 20 } });
    expect(seen.map(label)).toEqual(deferredIssuanceFrames);
    const announced = seen.filter((s) => label(s) === 'deferred' || label(s) === 'deferred_polled:1:pending');
    expect(announced.map((s) => s.stored)).toEqual(['deferred', 'deferred']);
    expect(seen.at(-1)?.frame).toMatchObject({ type: 'flow_complete', credentials: [expect.objectContaining({ checks: expect.objectContaining({ verified: true }) })] });
  });

  it('sends the same frames in the same order when no poll has to wait', async () => {
    const seen = await receive({ deferredIntervalMs: { min: 0, max: 0 } });
    expect(seen.map(label)).toEqual(deferredIssuanceFrames);
    // Never deferred: the flow ran through.
    expect(seen.every((s) => s.stored !== 'deferred')).toBe(true);
  });

  it('announces the last pending poll before the flow fails when the polls run out', async () => {
    const seen = await receive({ deferredIntervalMs: { min: 20, max: 20 }, maxDeferredPolls: 1 });
    expect(seen.slice(6).map(label)).toEqual(['credential_requested', 'deferred', 'deferred_polled:1:pending', 'flow_error']);
    expect(seen.find((s) => label(s) === 'deferred')?.stored).toBe('deferred');
    expect(seen.at(-1)?.frame).toMatchObject({ type: 'flow_error', code: 'deferred_failed' });
  });
});
