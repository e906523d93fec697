import type { JsonObject, SignItem } from '@wallet/engine-protocol';
import { decodeCompactJws } from '@wallet/crypto';
import { randomToken } from '@wallet/crypto';
import { createHash } from 'node:crypto';
import type { FlowContext } from '../flow-runner';
import { checkSignatures, type ClientSignature } from './client-signatures';
import type { JwtSignerJwk, LibrarySign, RequestDpopOptions } from './openid4vc';

/** A library asked to sign something no client answer covers yet: ask the client, then run the step again. */
export class NeedSignature extends Error {
  constructor(readonly item: SignItem) {
    super('the client must sign first');
    this.name = 'NeedSignature';
  }
}

function findNeed(error: unknown): NeedSignature | null {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    if (current instanceof NeedSignature) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
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

function signedDpops(ctx: FlowContext, prefix: string): SignedDpop[] {
  const out: SignedDpop[] = [];
  for (const { question, answer } of ctx.answered(prefix, 'sign_request')) {
    const checked = checkSignatures(question.items, answer);
    for (const item of question.items) {
      const signature = checked.find((s) => s.id === item.id);
      if (item.purpose === 'dpop' && signature) out.push({ signature, payload: decodeCompactJws(signature.jws).payload });
    }
  }
  return out;
}

/** Seconds a client-signed DPoP proof stays usable for a request (servers accept about a minute). */
const DPOP_FRESH_SECONDS = 50;

/**
 * Runs a library call that may need DPoP proofs, inside a stage. The library
 * builds each proof and hands it to `sign`; a proof the client already signed
 * for the same method, URL, nonce and token (and recently) is returned,
 * anything else stops the run with a question to the client (the call runs
 * again once it is answered). The server's nonce challenges therefore cost
 * one question each, and the nonce the client last signed is used first.
 */
export async function withClientDpop<T>(
  ctx: FlowContext,
  stage: string,
  request: DpopRequest,
  state: DpopState | null,
  call: (dpop: RequestDpopOptions | undefined, sign: LibrarySign) => Promise<T>,
): Promise<T> {
  const refuseSigning: LibrarySign = () => Promise.reject(new Error('no DPoP in this request'));
  if (!state) return call(undefined, refuseSigning);
  let key = flowDpopKey(ctx);
  if (!key) {
    // The library needs the public key before it builds a proof: the first proof the client signs names it.
    const [first] = await askSignatures(ctx, `${stage}:sign:0`, () => [dpopItem('dpop', request, state, ctx.now(), state.jkt)]);
    key = first ?? null;
  }
  if (!key) throw new Error('the client named no DPoP key');
  const pinned = key;
  for (let round = 1; round <= 4; round++) {
    const signed = signedDpops(ctx, `${stage}:sign:`);
    const lastNonce = [...signed].reverse().find((s) => typeof s.payload['nonce'] === 'string')?.payload['nonce'] as string | undefined;
    const sign: LibrarySign = async (_signer, jwt) => {
      const want = jwt.payload;
      const now = Math.floor(ctx.now() / 1000);
      const match = [...signed].reverse().find(
        (s) =>
          s.payload['htm'] === want['htm'] &&
          s.payload['htu'] === want['htu'] &&
          s.payload['nonce'] === want['nonce'] &&
          s.payload['ath'] === want['ath'] &&
          typeof s.payload['iat'] === 'number' &&
          s.payload['iat'] >= now - DPOP_FRESH_SECONDS,
      );
      if (match) return { jwt: match.signature.jws, signerJwk: pinned.jwk as JwtSignerJwk['publicJwk'] };
      const { jwk: _jwk, alg: _alg, ...header } = jwt.header;
      const payload: JsonObject = { ...want, iat: now, jti: randomToken(16) };
      throw new NeedSignature({ id: 'dpop', purpose: 'dpop', header, payload, algs: state.algs, jkt: pinned.jkt });
    };
    const signer: JwtSignerJwk = { method: 'jwk', publicJwk: pinned.jwk as JwtSignerJwk['publicJwk'], alg: pinned.alg };
    const nonce = lastNonce ?? state.nonce;
    try {
      return await call({ signer, ...(nonce !== undefined ? { nonce } : {}) }, sign);
    } catch (error) {
      const need = findNeed(error);
      if (!need) throw error;
      await askSignatures(ctx, `${stage}:sign:${round}`, () => [need.item]);
    }
  }
  throw new Error('the server kept asking for new DPoP proofs');
}
