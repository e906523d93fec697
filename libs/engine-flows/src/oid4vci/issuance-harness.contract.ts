import type { Cache } from '@wallet/cache';
import type { ServerMessage, ServerMessageOf } from '@wallet/engine-protocol';
import type { TestIssuer } from '@wallet/testing';
import { createKeyring, type Keyring } from '@wallet/wallet-client';
import { directRegistry } from '../direct-registry';
import { createEngineCore, type EngineCore, type FlowLimits } from '../engine-core';
import type { GuardedFetch } from '../ports';

// The harness the issuance flow specs share: test code only (named *.contract.ts, so lint treats it as
// test code, like the cache's redis-topology-suite.contract.ts; the library's index never exports it).

export const principal = { tenantId: 't1', userId: 'u1' };
export const REDIRECT_URI = 'https://wallet.example/callback';

/** Refuses any host but the loopback test issuer's. */
export function assertLoopback(url: string): void {
  if (new URL(url).hostname !== '127.0.0.1') throw new Error(`this test fetches from 127.0.0.1 only, not ${url}`);
}

/** Plain fetch of a loopback URL (redirects are not followed): the Response itself. */
export async function loopbackResponse(url: string, init: Parameters<GuardedFetch>[1] = {}): Promise<Response> {
  assertLoopback(url);
  return fetch(url, {
    method: init.method ?? 'GET',
    redirect: 'manual',
    ...(init.headers ? { headers: init.headers } : {}),
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
}

/** A Response as the guarded fetch returns it. */
export async function fetched(response: Response): ReturnType<GuardedFetch> {
  return { status: response.status, headers: Object.fromEntries(response.headers), body: new Uint8Array(await response.arrayBuffer()) };
}

/** Plain fetch, for the loopback test issuer only (redirects are not followed). */
export const loopbackFetch: GuardedFetch = async (url, init = {}) => fetched(await loopbackResponse(url, init));

/** Step names for progress frames (deferred_polled with its poll and pending), types for the rest. */
export const label = (frame: ServerMessage): string => {
  if (frame.type !== 'flow_progress') return frame.type;
  if (frame.step !== 'deferred_polled') return frame.step;
  return `deferred_polled:${String(frame.detail?.['poll'])}:${frame.detail?.['pending'] ? 'pending' : 'issued'}`;
};

/**
 * Every frame of a pre-authorized issuance (consent, one proof) from the test
 * issuer with one pending deferred poll, in order: each step once.
 */
export const deferredIssuanceFrames: readonly string[] = [
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

/** Waits until a frame matches, running `tick` (the deferred poller) meanwhile. */
export async function until(frames: ServerMessage[], match: (frame: ServerMessage) => boolean, tick: () => Promise<unknown> = async () => undefined): Promise<void> {
  for (let i = 0; i < 1000 && !frames.some(match); i++) {
    await tick();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface Issuance {
  issuer: TestIssuer;
  /** The offer to create at the issuer (its default one when absent); ignored with `reissue`. */
  offer?: Parameters<TestIssuer['createOffer']>[0];
  /** A refresh to re-issue with, instead of an offer. */
  reissue?: NonNullable<ServerMessageOf<'flow_complete'>['refresh']>;
  /** Signs every proof the client is asked for (a new keyring when absent). */
  keyring?: Keyring;
  limits?: Partial<FlowLimits>;
  /** Engine replicas over one cache: the flow starts on the first; answers and deferred polls go round them in turn. */
  replicas?: number;
  /** The engine's fetch, and the browser's at the authorization endpoint (loopbackFetch when absent). */
  fetch?: GuardedFetch;
  /** Each frame as it goes out, before it is counted in `frames` and answered. */
  observe?: (frame: ServerMessage, flowId: string, core: EngineCore) => Promise<void>;
  /** Before each round of the deferred poller. */
  beforePoll?: (core: EngineCore, flowId: string, frames: ServerMessage[]) => Promise<void>;
}

export interface Issued {
  /** Every frame the engine sent, in order. */
  frames: ServerMessage[];
  /** The engine replicas the flow ran on (for follow-ups). */
  cores: EngineCore[];
  flowId: string;
}

/**
 * Issuance through the real issuance flow and runner, against the test
 * issuer, with a client that answers every question later (as over a socket)
 * and the deferred poller as the engine runs it, until the flow completes or
 * fails.
 */
export async function runIssuance(cache: Cache, input: Issuance): Promise<Issued> {
  const keyring = input.keyring ?? createKeyring();
  const fetch = input.fetch ?? loopbackFetch;
  const frames: ServerMessage[] = [];
  let turn = 0;
  const next = () => cores[turn++ % cores.length]!;
  const answer = (reply: Parameters<EngineCore['flows']['answer']>[1]) => void next().flows.answer(principal, reply).catch(() => undefined);
  const offer = input.reissue ? undefined : await input.issuer.createOffer(input.offer);
  const emit: Parameters<typeof createEngineCore>[0]['emit'] = async (flow, frame) => {
    if (input.observe) await input.observe(frame, flow.id, cores[0]!);
    frames.push(frame);
    if (frame.type === 'consent_request') {
      setImmediate(() => answer({ type: 'consent_response', flow_id: frame.flow_id, message_id: frame.message_id, accept: true }));
    } else if (frame.type === 'tx_code_request') {
      setImmediate(() => answer({ type: 'tx_code_response', flow_id: frame.flow_id, message_id: frame.message_id, tx_code: offer!.txCode! }));
    } else if (frame.type === 'authorization_request') {
      // The browser: the test authorization server approves at once and redirects with the code.
      setImmediate(() =>
        void fetch(frame.url).then((response) => {
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
      fetch,
      allowHttp: true,
      replica: `r${i + 1}`,
      registry: directRegistry({ fetch, trust: () => ({ trusted: true, reason: 'test', source: 'static' }) }),
      limits: input.limits ?? {},
      redirectUris: [REDIRECT_URI],
      emit,
    }),
  );
  const params: Record<string, unknown> = offer
    ? { offer: offer.link, ...(input.offer?.grant === 'authorization_code' ? { redirect_uri: REDIRECT_URI } : {}) }
    : { reissue: input.reissue };
  const flowId = await cores[0]!.flows.start(principal, { type: 'flow_start', message_id: 'm1', protocol: 'oid4vci', params } as Parameters<EngineCore['flows']['start']>[1]);
  cores[0]!.flows.run(flowId);
  await until(
    frames,
    (f) => f.type === 'flow_complete' || f.type === 'flow_error',
    async () => {
      if (input.beforePoll) await input.beforePoll(cores[0]!, flowId, frames);
      // The deferred poller, as the engine runs it (on each replica in turn).
      await next().flows.pollDue();
    },
  );
  return { frames, cores, flowId };
}
