import { createCache, type Cache } from '@wallet/cache';
import type { FlowStatus, ServerMessage } from '@wallet/engine-protocol';
import { startTestIssuer, type TestIssuer } from '@wallet/testing';
import { createKeyring } from '@wallet/wallet-client';
import { directRegistry } from '../direct-registry';
import { createEngineCore, type EngineCore, type FlowLimits } from '../engine-core';
import type { GuardedFetch } from '../ports';

const principal = { tenantId: 't1', userId: 'u1' };

/** Plain fetch, for the loopback test issuer only. */
const loopbackFetch: GuardedFetch = async (url, init = {}) => {
  if (new URL(url).hostname !== '127.0.0.1') throw new Error(`this test fetches from 127.0.0.1 only, not ${url}`);
  const response = await fetch(url, { method: init.method ?? 'GET', ...(init.headers ? { headers: init.headers } : {}), ...(init.body !== undefined ? { body: init.body } : {}) });
  return { status: response.status, headers: Object.fromEntries(response.headers), body: new Uint8Array(await response.arrayBuffer()) };
};

/** A frame the engine sent, with the status the stored flow record had at that moment. */
interface Seen {
  frame: ServerMessage;
  stored: FlowStatus | undefined;
}

/** Step names for progress frames, types for the rest (deferred_polled with its poll and pending). */
const label = ({ frame }: Seen): string => {
  if (frame.type !== 'flow_progress') return frame.type;
  if (frame.step !== 'deferred_polled') return frame.step;
  return `deferred_polled:${String(frame.detail?.['poll'])}:${frame.detail?.['pending'] ? 'pending' : 'issued'}`;
};

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
    const keyring = createKeyring();
    const seen: Seen[] = [];
    const answer = (reply: Parameters<EngineCore['flows']['answer']>[1]) => void core.flows.answer(principal, reply).catch(() => undefined);
    const core: EngineCore = createEngineCore({
      cache,
      fetch: loopbackFetch,
      allowHttp: true,
      replica: 'r1',
      registry: directRegistry({ fetch: loopbackFetch, trust: () => ({ trusted: true, reason: 'test', source: 'static' }) }),
      limits,
      emit: async (flow, frame) => {
        seen.push({ frame, stored: (await core.store.load(flow.id))?.record.status });
        // The client's answers arrive later, as over a socket.
        if (frame.type === 'consent_request') {
          setImmediate(() => answer({ type: 'consent_response', flow_id: frame.flow_id, message_id: frame.message_id, accept: true }));
        } else if (frame.type === 'sign_request') {
          setImmediate(() =>
            void Promise.all(frame.items.map(async (item) => ({ id: item.id, jws: await keyring.sign(item, { flowId: frame.flow_id }) }))).then((signatures) =>
              answer({ type: 'sign_response', flow_id: frame.flow_id, message_id: frame.message_id, signatures }),
            ),
          );
        }
      },
    });
    const { link } = await issuer.createOffer({ grant: 'pre-authorized_code' });
    const id = await core.flows.start(principal, { type: 'flow_start', message_id: 'm1', protocol: 'oid4vci', params: { offer: link } });
    core.flows.run(id);
    const done = () => seen.some((s) => s.frame.type === 'flow_complete' || s.frame.type === 'flow_error');
    // The deferred poller, as the engine runs it.
    for (let i = 0; i < 1000 && !done(); i++) {
      await core.flows.pollDue();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return seen;
  }

  it('announces the deferral, and each pending poll, only once the flow is stored as deferred, and every step once', async () => {
    const seen = await receive({ deferredIntervalMs: { min: 20, max: 20 } });
    expect(seen.map(label)).toEqual([
      'offer_resolved',
      'metadata_resolved',
      'trust_evaluated',
      'consent_request',
      'token_obtained',
      'sign_request',
      'credential_requested',
      'deferred',
      'deferred_polled:1:pending',
      'deferred_polled:2:issued',
      'credential_verified',
      'flow_complete',
    ]);
    const announced = seen.filter((s) => label(s) === 'deferred' || label(s) === 'deferred_polled:1:pending');
    expect(announced.map((s) => s.stored)).toEqual(['deferred', 'deferred']);
    expect(seen.at(-1)?.frame).toMatchObject({ type: 'flow_complete', credentials: [expect.objectContaining({ checks: expect.objectContaining({ verified: true }) })] });
  });

  it('sends the same frames in the same order when no poll has to wait', async () => {
    const seen = await receive({ deferredIntervalMs: { min: 0, max: 0 } });
    expect(seen.map(label)).toEqual([
      'offer_resolved',
      'metadata_resolved',
      'trust_evaluated',
      'consent_request',
      'token_obtained',
      'sign_request',
      'credential_requested',
      'deferred',
      'deferred_polled:1:pending',
      'deferred_polled:2:issued',
      'credential_verified',
      'flow_complete',
    ]);
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
