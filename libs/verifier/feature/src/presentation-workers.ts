import { toPublicKeyObject } from '@wallet/crypto';
import {
  PresentationError,
  readSdJwtVc,
  resolveSdJwtVcIssuerKey,
  type PresentationErrorCode,
  type VerifiedSdJwtVc,
  type VerifySdJwtVcOptions,
} from '@wallet/protocol';
import type { KeyLike } from 'jose';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** One presentation to verify, as posted to a worker (structured clone: strings, numbers and the KeyObject). */
export interface PresentationWorkerRequest {
  id: number;
  presentation: string;
  issuerKey: KeyObject | Uint8Array;
  nonce: string;
  audience: string;
  nowMs: number;
  clockSkewSeconds?: number;
  keyBindingMaxAgeSeconds?: number;
  types?: readonly string[];
}

export type PresentationWorkerReply =
  | { id: number; verified: Omit<VerifiedSdJwtVc, 'header' | 'issuerKey'> }
  | { id: number; error: { code?: PresentationErrorCode; message: string } };

interface Pending {
  resolve: (reply: PresentationWorkerReply) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

/** How many threads `auto` means: one per core but one (the event loop's), at least one, at most four. */
export function autoWorkerCount(cores = availableParallelism()): number {
  return Math.max(1, Math.min(4, cores - 1));
}

/** The bundled worker next to main.js, or, from sources (tests), the TypeScript entry through the workspace's require hook. */
function startWorker(): Worker {
  const bundled = join(__dirname, 'presentation-worker.js');
  if (existsSync(bundled)) return new Worker(bundled);
  const source = join(__dirname, 'presentation-worker.ts');
  let dir = __dirname;
  while (!existsSync(join(dir, 'tools/build/register-ts.cjs')) && dirname(dir) !== dir) dir = dirname(dir);
  const register = join(dir, 'tools/build/register-ts.cjs');
  if (!existsSync(source) || !existsSync(register)) {
    throw new Error(`the presentation worker script is missing next to ${__dirname}: rebuild with tools/build/bundle.mjs, or set verifier.verificationWorkers to 0`);
  }
  return new Worker(`require(${JSON.stringify(register)}); require(${JSON.stringify(source)});`, { eval: true });
}

/**
 * Worker threads that verify SD-JWT VC presentations, so that the event loop
 * of a busy verifier only parses requests and keeps sessions: the disclosure
 * digests, the two signature checks and the key-binding checks of every
 * response run on the other cores. The issuer key is resolved here first,
 * where the key caches, the guarded HTTP client and the trust anchors are;
 * the worker gets the key with the presentation. The result and every
 * refusal (`PresentationError` and its code) are the same as `verifySdJwtVc`'s.
 * A worker that dies fails its pending checks and is replaced at the next one.
 */
export class PresentationWorkers {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  /** The threads start with the first presentation: a process that never verifies one (an all-in-one in development) pays nothing. */
  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error('PresentationWorkers needs at least one thread');
  }

  private spawn(): Slot {
    const slot: Slot = { worker: startWorker(), pending: new Map() };
    slot.worker.unref();
    slot.worker.on('message', (reply: PresentationWorkerReply) => {
      const pending = slot.pending.get(reply.id);
      slot.pending.delete(reply.id);
      pending?.resolve(reply);
    });
    // A thread that dies leaves the pool; the next presentation starts a new one (a
    // script that cannot start fails each request instead of respawning in a loop).
    const fail = (reason: string) => {
      for (const pending of slot.pending.values()) pending.reject(new Error(`presentation verification thread ${reason}`));
      slot.pending.clear();
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
    };
    slot.worker.on('error', () => fail('failed'));
    slot.worker.on('exit', (code) => fail(`exited (${code})`));
    return slot;
  }

  /** `verifySdJwtVc`, its last stage on a worker thread. */
  async verifySdJwtVc(presentation: string, options: VerifySdJwtVcOptions): Promise<VerifiedSdJwtVc> {
    const parts = readSdJwtVc(presentation, options.types);
    const issuerKey = await resolveSdJwtVcIssuerKey(parts, options.resolveIssuerKey);
    const reply = await this.post({
      id: 0,
      presentation,
      issuerKey: postableKey(issuerKey),
      nonce: options.nonce,
      audience: options.audience,
      nowMs: (options.now?.() ?? new Date()).getTime(),
      ...(options.clockSkewSeconds === undefined ? {} : { clockSkewSeconds: options.clockSkewSeconds }),
      ...(options.keyBindingMaxAgeSeconds === undefined ? {} : { keyBindingMaxAgeSeconds: options.keyBindingMaxAgeSeconds }),
      ...(options.types === undefined ? {} : { types: options.types }),
    });
    if ('error' in reply) {
      if (reply.error.code) throw new PresentationError(reply.error.code, reply.error.message);
      throw new Error(`presentation verification failed: ${reply.error.message}`);
    }
    return { ...reply.verified, header: parts.issuer.header, issuerKey };
  }

  private post(request: PresentationWorkerRequest): Promise<PresentationWorkerReply> {
    while (!this.closed && this.slots.length < this.size) this.slots.push(this.spawn());
    // The least busy thread.
    const slot = this.slots.reduce<Slot | undefined>((best, candidate) => (best && best.pending.size <= candidate.pending.size ? best : candidate), undefined);
    if (this.closed || !slot) return Promise.reject(new Error('the presentation verification threads are closed'));
    request.id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(request.id, { resolve, reject });
      slot.worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }
}

/** KeyObjects and bytes cross to a worker as they are; a WebCrypto key goes as its KeyObject. */
function postableKey(key: KeyLike | Uint8Array): KeyObject | Uint8Array {
  if (key instanceof KeyObject || key instanceof Uint8Array) return key;
  return toPublicKeyObject(key);
}
