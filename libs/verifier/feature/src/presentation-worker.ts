/**
 * Entry of a presentation verification thread (see `presentation-workers.ts`):
 * the last stage of SD-JWT VC verification, with the issuer key the event
 * loop resolved. Bundled next to each app's main.js as presentation-worker.js.
 */
import { PresentationError, readSdJwtVc, verifySdJwtVcWithKey } from '@wallet/protocol';
import { parentPort } from 'node:worker_threads';
import type { PresentationWorkerReply, PresentationWorkerRequest } from './presentation-workers';

async function handle(request: PresentationWorkerRequest): Promise<PresentationWorkerReply> {
  try {
    const parts = readSdJwtVc(request.presentation, request.types);
    const verified = await verifySdJwtVcWithKey(parts, request.issuerKey, {
      nonce: request.nonce,
      audience: request.audience,
      now: () => new Date(request.nowMs),
      signatureChecks: 'inline',
      ...(request.clockSkewSeconds === undefined ? {} : { clockSkewSeconds: request.clockSkewSeconds }),
      ...(request.keyBindingMaxAgeSeconds === undefined ? {} : { keyBindingMaxAgeSeconds: request.keyBindingMaxAgeSeconds }),
    });
    return { id: request.id, verified: { issuer: verified.issuer, vct: verified.vct, claims: verified.claims, holderJwk: verified.holderJwk, status: verified.status } };
  } catch (error) {
    return error instanceof PresentationError
      ? { id: request.id, error: { code: error.code, message: error.message } }
      : // Only the error's class: a message may quote the input (a credential).
        { id: request.id, error: { message: error instanceof Error ? error.name : 'a non-error value was thrown' } };
  }
}

const port = parentPort;
if (port) port.on('message', (request: PresentationWorkerRequest) => void handle(request).then((reply) => port.postMessage(reply)));
