import { createCache, type Cache } from '@wallet/cache';
import type { ServerMessage } from '@wallet/engine-protocol';
import { startTestIssuer, type TestIssuer } from '@wallet/testing';
import type { EngineCore } from '../engine-core';
import { deferredIssuanceFrames, label, runIssuance, type Issuance } from './issuance-harness.contract';

const progressOf = (frames: ServerMessage[]) => frames.filter((f) => f.type === 'flow_progress').map(label);

interface Receive extends Pick<Issuance, 'issuer' | 'offer' | 'limits' | 'replicas'> {
  /** Runs once, when the flow is first stored as deferred (before any poll). */
  onDeferred?: (core: EngineCore, flowId: string) => Promise<void>;
}

/**
 * Issuance through the issuance flow and the runner, against the test
 * issuer, with a client that answers every question later (as over a socket)
 * and a deferred poller. Returns every frame the engine sent, in order.
 */
async function receive(cache: Cache, { onDeferred, ...input }: Receive): Promise<ServerMessage[]> {
  let deferred: Promise<void> | undefined;
  const { frames } = await runIssuance(cache, {
    ...input,
    ...(onDeferred
      ? {
          beforePoll: async (core, flowId, sent) => {
            if (!deferred && sent.some((f) => f.type === 'flow_progress' && f.step === 'deferred')) deferred = onDeferred(core, flowId);
            if (deferred) await deferred;
          },
        }
      : {}),
  });
  return frames;
}

/**
 * Each progress frame goes out once per flow, when its step first completes,
 * however often the flow runs again: after each answered question, each
 * deferred wake-up, on another replica.
 */
describe('issuance flow progress frames', () => {
  let cache: Cache;
  beforeEach(async () => {
    cache = await createCache({ type: 'memory' });
  });
  afterEach(async () => cache.close());

  describe('deferred issuance', () => {
    let issuer: TestIssuer;
    beforeAll(async () => {
      issuer = await startTestIssuer({ deferred: { pendingPolls: 1, intervalSeconds: 1 } });
    });
    afterAll(async () => issuer.close());

    const once = deferredIssuanceFrames;

    it('sends each step once, in order, across two deferred wake-ups', async () => {
      const frames = await receive(cache, { issuer, limits: { deferredIntervalMs: { min: 20, max: 20 } } });
      expect(frames.map(label)).toEqual(once);
    });

    it('sends each step once when the answers and the polls reach other replicas', async () => {
      const frames = await receive(cache, { issuer, limits: { deferredIntervalMs: { min: 20, max: 20 } }, replicas: 3 });
      expect(frames.map(label)).toEqual(once);
    });

    it('sends each step once when no poll has to wait', async () => {
      const frames = await receive(cache, { issuer, limits: { deferredIntervalMs: { min: 0, max: 0 } } });
      expect(frames.map(label)).toEqual(once);
    });

    // A rolling deploy: the record was stored by a version that journalled no progress frames.
    // The steps it had sent go out once more on the next run, and never again after that.
    it('resumes a record stored without progress entries with at most one extra frame per step', async () => {
      const frames = await receive(cache, {
        issuer,
        limits: { deferredIntervalMs: { min: 20, max: 20 } },
        onDeferred: async (core, id) => {
          const loaded = (await core.store.load(id))!;
          const stages = Object.fromEntries(Object.entries(loaded.record.stages).filter(([key]) => !key.startsWith('progress:')));
          expect(Object.keys(stages).length).toBeLessThan(Object.keys(loaded.record.stages).length);
          expect(await core.store.replace(loaded.raw, { ...loaded.record, stages }, loaded.record.status)).not.toBeNull();
        },
      });
      expect(frames.map(label)).toEqual([
        ...once.slice(0, once.indexOf('deferred') + 1),
        'token_obtained',
        'credential_requested',
        ...once.slice(once.indexOf('deferred') + 1),
      ]);
    });
  });

  describe('questions to the client', () => {
    // DPoP: the token and credential stages ask the client for proofs, and run again with each answer.
    let issuer: TestIssuer;
    let parIssuer: TestIssuer;
    beforeAll(async () => {
      // Server nonces too: one more question at the token endpoint and at the credential endpoint.
      issuer = await startTestIssuer({ dpop: 'nonce' });
      parIssuer = await startTestIssuer({ dpop: true, par: 'required' });
    });
    afterAll(async () => Promise.all([issuer.close(), parIssuer.close()]));

    it('sends each step once in a pre-authorized issuance with a transaction code', async () => {
      const frames = await receive(cache, { issuer, offer: { grant: 'pre-authorized_code', txCode: true } });
      expect(frames.filter((f) => f.type === 'tx_code_request')).toHaveLength(1);
      expect(frames.filter((f) => f.type === 'sign_request').length).toBeGreaterThanOrEqual(2);
      expect(frames.at(-1)?.type).toBe('flow_complete');
      expect(progressOf(frames)).toEqual(['offer_resolved', 'metadata_resolved', 'trust_evaluated', 'token_obtained', 'credential_requested', 'credential_verified']);
    });

    it('sends each step once in an authorization code issuance', async () => {
      const frames = await receive(cache, { issuer: parIssuer, offer: { grant: 'authorization_code' }, replicas: 2 });
      expect(frames.filter((f) => f.type === 'authorization_request')).toHaveLength(1);
      expect(frames.filter((f) => f.type === 'sign_request').length).toBeGreaterThanOrEqual(2);
      expect(frames.at(-1)?.type).toBe('flow_complete');
      expect(progressOf(frames)).toEqual(['offer_resolved', 'metadata_resolved', 'trust_evaluated', 'authorized', 'token_obtained', 'credential_requested', 'credential_verified']);
    });
  });
});
