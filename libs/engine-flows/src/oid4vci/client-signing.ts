import type { FlowErrorCode, JsonObject, SignItem } from '@wallet/engine-protocol';
import { decodeCompactJws } from '@wallet/crypto';
import { randomToken } from '@wallet/crypto';
import { createHash } from 'node:crypto';
import { FlowFailure } from '../errors';
import type { FlowContext } from '../flow-runner';
import { checkSignatures, type ClientSignature } from './client-signatures';
import type { ResponseFilter } from './library-fetch';
import type { JwtSignerJwk, LibrarySign, RequestDpopOptions } from './openid4vc';

/** A library asked to sign something no client answer covers yet: ask the client, then run the step again. */
export class NeedSignature extends Error {
  constructor(
    readonly item: SignItem,
    /** Asked because the server challenged the proof just sent (`use_dpop_nonce`). */
    readonly retry = false,
  ) {
    super('the client must sign first');
    this.name = 'NeedSignature';
  }
}

/**
 * Asks the client to sign `items` (built once: a later run re-reads the items
 * of the question already asked, so the signatures match), and returns the
 * checked signatures.
 */
export async function askSignatures(ctx: FlowContext, key: string, build: () => SignItem[], timeoutMs?: number): Promise<ClientSignature[]> {
  const asked = ctx.asked(key, 'sign_request');
  const items = asked ? asked.items : build();
  const answer = await ctx.ask(key, 'sign_request', { items }, timeoutMs === undefined ? {} : { timeoutMs });
  return checkSignatures(items, answer);
}

/** `base64url(sha256(access token))`, the DPoP `ath`. */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest('base64url');
}

/** The `htu` of a request: its URL without query and fragment (RFC 9449 §4.2). */
export function htuOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

export interface DpopRequest {
  htm: 'POST' | 'GET';
  url: string;
  accessToken?: string;
}

/** What the flow knows about DPoP towards one server. */
export interface DpopState {
  /** Algorithms the server accepts. */
  algs: string[];
  /** The nonce the server last handed out, if any. */
  nonce?: string;
  /** The key DPoP proofs must use before the flow has one of its own (a bound refresh token's). */
  jkt?: string;
}

/** A DPoP proof for the client to sign. */
export function dpopItem(id: string, request: DpopRequest, state: DpopState, nowMs: number, jkt?: string): SignItem {
  const payload: JsonObject = {
    htm: request.htm,
    htu: htuOf(request.url),
    iat: Math.floor(nowMs / 1000),
    jti: randomToken(16),
  };
  if (state.nonce !== undefined) payload['nonce'] = state.nonce;
  if (request.accessToken !== undefined) payload['ath'] = accessTokenHash(request.accessToken);
  return { id, purpose: 'dpop', header: { typ: 'dpop+jwt' }, payload, algs: state.algs, ...(jkt ? { jkt } : {}) };
}

/** A DPoP signature the client already made, with what it covers. */
interface SignedDpop {
  signature: ClientSignature;
  payload: Record<string, unknown>;
}

/** The key the flow's DPoP proofs are signed with: the one of the first DPoP proof the client signed in this flow. */
export function flowDpopKey(ctx: FlowContext): ClientSignature | null {
  for (const { question, answer } of ctx.answered('', 'sign_request', { wholeFlow: true })) {
    const dpop = question.items.find((item) => item.purpose === 'dpop');
    if (!dpop) continue;
    const signature = checkSignatures(question.items, answer).find((s) => s.id === dpop.id);
    if (signature) return signature;
  }
  return null;
}

/** The DPoP proof of an answered signing question, if it has one. */
function signedDpop(entry: { question: { items: SignItem[] }; answer: Parameters<typeof checkSignatures>[1] }): SignedDpop | null {
  const item = entry.question.items.find((i) => i.purpose === 'dpop');
  const signature = item ? checkSignatures(entry.question.items, entry.answer).find((s) => s.id === item.id) : undefined;
  return signature ? { signature, payload: decodeCompactJws(signature.jws).payload } : null;
}

/** Seconds a client-signed DPoP proof stays usable for a request (servers accept about a minute). */
const DPOP_FRESH_SECONDS = 50;
/** Most signing questions for the DPoP proofs of one step (a first proof, one retry, proofs that went stale). */
const MAX_DPOP_QUESTIONS = 4;
/** The suffix of a signing question asked because the server challenged a proof (`use_dpop_nonce`). */
const RETRY_SUFFIX = ':nonce';

/** The server challenged the retried proof too: a step gets one retry. */
class ChallengedAgain extends Error {
  constructor() {
    super('the server asked for a new DPoP nonce again');
    this.name = 'ChallengedAgain';
  }
}

/** A DPoP step that could not get a proof the server accepts (challenged after its one retry, or proofs kept going stale). */
export class DpopRefused extends FlowFailure {
  constructor(code: FlowErrorCode, message: string) {
    super(code, message);
    this.name = 'DpopRefused';
  }
}

function findInCauses<E>(error: unknown, type: new (...args: never[]) => E): E | null {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    if (current instanceof type) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/** One request (and its one nonce retry) that DPoP proofs signed by the client go with. */
export interface DpopStep {
  /** The stage it runs in; its signing questions are `<stage>:sign:<n>` (`…:nonce` when a challenge asked for it). */
  stage: string;
  request: DpopRequest;
  /** DPoP towards this server, with the nonce it last handed out; null: the request has no DPoP. */
  state: DpopState | null;
  /** The flow error when the server does not accept the proofs (a challenge after the retry). */
  refused: FlowErrorCode;
}

/** What the library call of a DPoP step gets: its `dpop` option, the signer callback, and a response filter that notes `DPoP-Nonce`. */
export type DpopCall<T> = (dpop: RequestDpopOptions | undefined, sign: LibrarySign, observe: ResponseFilter) => Promise<T>;

const passThrough: ResponseFilter = async (_url, response) => response;

/**
 * Runs a library call that may need DPoP proofs, inside a stage, with proofs
 * the client signs (RFC 9449; the key never leaves the client). The library
 * builds each proof and hands it to `sign`:
 *
 * - its first proof starts with the nonce this server last handed out (`state.nonce`,
 *   or the one of the step's latest question), and is the client's answer to the
 *   step's latest signing question when that covers the same method, URL, nonce and
 *   token and is recent; otherwise the run stops with a question for it;
 * - a second proof in the same call means the server challenged the first
 *   (`use_dpop_nonce`, 400 from an authorization server, 401 from a resource
 *   server): the run stops with a question for a new proof with the server's nonce,
 *   and the call runs again with it, once. A challenge after that retry fails the
 *   step with `step.refused`.
 *
 * Each answered proof is sent at most once (every question has a key of its own, and
 * only the step's latest answer is used, by the run that follows it), so every proof a
 * server sees has a jti of its own. Returns the
 * call's value and the nonce the server handed out last (the `DPoP-Nonce` of its
 * latest response, else the nonce last sent), for the step's result: the next
 * request to the same server, in a later step and on any replica, starts with it.
 */
export async function withClientDpop<T>(ctx: FlowContext, step: DpopStep, call: DpopCall<T>): Promise<{ value: T; nonce: string | undefined }> {
  const { stage, request, state } = step;
  if (!state) return { value: await call(undefined, () => Promise.reject(new Error('no DPoP in this request')), passThrough), nonce: undefined };
  const prefix = `${stage}:sign:`;
  let key = flowDpopKey(ctx);
  if (!key) {
    // The library needs the public key before it builds a proof: the first proof the client signs names it.
    const [first] = await askSignatures(ctx, `${prefix}0`, () => [dpopItem('dpop', request, state, ctx.now(), state.jkt)]);
    key = first ?? null;
  }
  if (!key) throw new Error('the client named no DPoP key');
  const pinned = key;
  const asked = ctx.answered(prefix, 'sign_request');
  const retried = asked.some((a) => a.key.endsWith(RETRY_SUFFIX));
  const last = asked.at(-1);
  const latest = last ? signedDpop(last) : null;
  // The step's latest question knows the newest nonce (a challenge's); before any, the one the server last handed out.
  const startNonce = asked.length > 0 ? (latest?.payload['nonce'] as string | undefined) : state.nonce;
  let unused = latest;
  let handed = 0;
  let sentNonce = startNonce;
  let seenNonce: string | undefined;
  const observe: ResponseFilter = async (_url, response) => {
    const nonce = Object.entries(response.headers).find(([name]) => name.toLowerCase() === 'dpop-nonce')?.[1];
    if (nonce) seenNonce = nonce;
    return response;
  };
  const sign: LibrarySign = async (_signer, jwt) => {
    const want = jwt.payload;
    const now = Math.floor(ctx.now() / 1000);
    const { jwk: _jwk, alg: _alg, ...header } = jwt.header;
    const item: SignItem = { id: 'dpop', purpose: 'dpop', header, payload: { ...want, iat: now, jti: randomToken(16) }, algs: state.algs, jkt: pinned.jkt };
    if (handed > 0) {
      // The library signs again within one call only to retry a use_dpop_nonce challenge.
      if (retried) throw new ChallengedAgain();
      throw new NeedSignature(item, true);
    }
    const proof = unused;
    const fits =
      proof !== null &&
      proof.payload['htm'] === want['htm'] &&
      proof.payload['htu'] === want['htu'] &&
      proof.payload['nonce'] === want['nonce'] &&
      proof.payload['ath'] === want['ath'] &&
      typeof proof.payload['iat'] === 'number' &&
      proof.payload['iat'] >= now - DPOP_FRESH_SECONDS;
    if (!proof || !fits) throw new NeedSignature(item, false);
    unused = null;
    handed += 1;
    sentNonce = typeof want['nonce'] === 'string' ? want['nonce'] : undefined;
    return { jwt: proof.signature.jws, signerJwk: pinned.jwk as JwtSignerJwk['publicJwk'] };
  };
  const signer: JwtSignerJwk = { method: 'jwk', publicJwk: pinned.jwk as JwtSignerJwk['publicJwk'], alg: pinned.alg };
  try {
    const value = await call({ signer, ...(startNonce !== undefined ? { nonce: startNonce } : {}) }, sign, observe);
    return { value, nonce: seenNonce ?? sentNonce };
  } catch (error) {
    if (findInCauses(error, ChallengedAgain)) {
      throw new DpopRefused(step.refused, `the server challenged the retried DPoP proof again (use_dpop_nonce); a request gets one retry`);
    }
    const need = findInCauses(error, NeedSignature);
    if (!need) throw error;
    if (asked.length >= MAX_DPOP_QUESTIONS) {
      throw new DpopRefused(step.refused, 'no DPoP proof could be sent: the client\'s proofs went stale before use');
    }
    // A new key each time (never one answered before): the question stops the run, and the call runs again with the answer.
    await askSignatures(ctx, nextKey(ctx, prefix, need.retry), () => [need.item]);
    throw new Error('a new signing question did not stop the run');
  }
}

/** The first free question key of a step: `<prefix><n>`, with the retry suffix when a challenge asked for it. */
function nextKey(ctx: FlowContext, prefix: string, retry: boolean): string {
  let n = 0;
  while (ctx.asked(`${prefix}${n}`, 'sign_request') || ctx.asked(`${prefix}${n}${RETRY_SUFFIX}`, 'sign_request')) n += 1;
  return `${prefix}${n}${retry ? RETRY_SUFFIX : ''}`;
}
