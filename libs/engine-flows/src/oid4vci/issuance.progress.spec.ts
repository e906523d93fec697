import { createCache, type Cache } from '@wallet/cache';
import type { ServerMessage } from '@wallet/engine-protocol';
import { startTestIssuer, type TestIssuer } from '@wallet/testing';
import { createKeyring } from '@wallet/wallet-client';
import { directRegistry } from '../direct-registry';
import { createEngineCore, type EngineCore, type FlowLimits } from '../engine-core';
import type { GuardedFetch } from '../ports';

const principal = { tenantId: 't1', userId: 'u1' };
const REDIRECT_URI = 'https://wallet.example/callback';

/** Plain fetch, for the loopback test issuer only (redirects are not followed). */
const loopbackFetch: GuardedFetch = async (url, init = {}) => {
  if (new URL(url).hostname !== '127.0.0.1') throw new Error(`this test fetches from 127.0.0.1 only, not ${url}`);
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    redirect: 'manual',
    ...(init.headers ? { headers: init.headers } : {}),
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  return { status: response.status, headers: Object.fromEntries(response.headers), body: new Uint8Array(await response.arrayBuffer()) };
};

/** Step names for progress frames (deferred_polled with its poll and pending), types for the rest. */
const label = (frame: ServerMessage): string => {
  if (frame.type !== 'flow_progress') return frame.type;
  if (frame.step !== 'deferred_polled') return frame.step;
  return `deferred_polled:${String(frame.detail?.['poll'])}:${frame.detail?.['pending'] ? 'pending' : 'issued'}`;
};
const progressOf = (frames: ServerMessage[]) => frames.filter((f) => f.type === 'flow_progress').map(label);

interface Receive {
  issuer: TestIssuer;
  offer?: Parameters<TestIssuer['createOffer']>[0];
  limits?: Partial<FlowLimits>;
  /** Engine replicas over one cache: the flow starts on the first; answers and deferred polls go round them in turn. */
  replicas?: number;
  /** Runs once, when the flow is first stored as deferred (before any poll). */
  onDeferred?: (core: EngineCore, flowId: string) => Promise<void>;
}

/**
 * Issuance through the issuance flow and the runner, against the test
 * issuer, with a client that answers every question later (as over a socket)
 * and a deferred poller. Returns every frame the engine sent, in order.
 */
async function receive(cache: Cache, input: Receive): Promise<ServerMessage[]> {
  const keyring = createKeyring();
  const frames: ServerMessage[] = [];
  let turn = 0;
  const next = () => cores[turn++ % cores.length]!;
  const answer = (reply: Parameters<EngineCore['flows']['answer']>[1]) => void next().flows.answer(principal, reply).catch(() => undefined);
  const offer = await input.issuer.createOffer(input.offer);
  let deferredSeen = false;
  let onDeferred: Promise<void> | undefined;
  const emit: Parameters<typeof createEngineCore>[0]['emit'] = async (_flow, frame) => {
    frames.push(frame);
    if (frame.type === 'flow_progress' && frame.step === 'deferred') deferredSeen = true;
    if (frame.type === 'consent_request') {
      setImmediate(() => answer({ type: 'consent_response', flow_id: frame.flow_id, message_id: frame.message_id, accept: true }));
    } else if (frame.type === 'tx_code_request') {
      setImmediate(() => answer({ type: 'tx_code_response', flow_id: frame.flow_id, message_id: frame.message_id, tx_code: offer.txCode! }));
    } else if (frame.type === 'authorization_request') {
      // The browser: the test authorization server approves at once and redirects with the code.
      setImmediate(() =>
        void loopbackFetch(frame.url).then((response) => {
          const back = new URL(response.headers['location']!);
          const param = (name: string) => back.searchParams.get(name) ?? undefined;
          const iss = param('iss');
          answer({ type: 'authorization_response', flow_id: frame.flow_id, message_id: frame.message_id, code: param('code')!, state: param('state')!, ...(iss ? { iss } : {}) });
        }),
      );
    } else if (frame.type === 'sign_request') {
      setImmediate(() =>
        void Promise.all(frame.items.map(async (item) => ({ id: item.id, jws: await keyring.sign(item, { flowId: frame.flow_id }) }))).then((signatures) =>
          answer({ type: 'sign_response', flow_id: frame.flow_id, message_id: frame.message_id, signatures }),
        ),
      );
    }
  };
  const cores: EngineCore[] = Array.from({ length: input.replicas ?? 1 }, (_, i) =>
    createEngineCore({
      cache,
      fetch: loopbackFetch,
      allowHttp: true,
      replica: `r${i + 1}`,
      registry: directRegistry({ fetch: loopbackFetch, trust: () => ({ trusted: true, reason: 'test', source: 'static' }) }),
      limits: input.limits ?? {},
      redirectUris: [REDIRECT_URI],
      emit,
    }),
  );
  const redirect = input.offer?.grant === 'authorization_code' ? { redirect_uri: REDIRECT_URI } : {};
  const id = await cores[0]!.flows.start(principal, { type: 'flow_start', message_id: 'm1', protocol: 'oid4vci', params: { offer: offer.link, ...redirect } });
  cores[0]!.flows.run(id);
  const done = () => frames.some((f) => f.type === 'flow_complete' || f.type === 'flow_error');
  for (let i = 0; i < 1000 && !done(); i++) {
    if (deferredSeen && input.onDeferred && !onDeferred) onDeferred = input.onDeferred(cores[0]!, id);
    if (onDeferred) await onDeferred;
    // The deferred poller, as the engine runs it (on each replica in turn).
    await next().flows.pollDue();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
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

    const once = [
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
    ];

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
