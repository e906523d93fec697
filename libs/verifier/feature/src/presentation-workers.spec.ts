import { resolveSelfDescribingDid, toPublicKeyObject } from '@wallet/crypto';
import { PresentationError, verifySdJwtVc, type IssuerKeyResolver } from '@wallet/protocol';
import { createDidJwkSdJwtIssuer, createTestSdJwtHolder } from '@wallet/testing';
import type { Worker } from 'node:worker_threads';
import { autoWorkerCount, PresentationWorkers } from './presentation-workers';

const VCT = 'https://credentials.example.com/pid';
const claims = { given_name: 'Erika', family_name: 'Mustermann', address: { locality: 'Berlin' } };

/** did:jwk resolves offline: the issuer key is in the DID. */
const resolveIssuerKey: IssuerKeyResolver = async ({ payload, header }) =>
  toPublicKeyObject(resolveSelfDescribingDid(typeof header.kid === 'string' && header.kid.startsWith('did:') ? header.kid : `${String(payload.iss)}#0`));

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => error,
  );

describe('PresentationWorkers', () => {
  let workers: PresentationWorkers;
  let presentation: string;
  const options = { resolveIssuerKey, nonce: 'nonce-1', audience: 'did:example:verifier' };

  beforeAll(async () => {
    const issuer = await createDidJwkSdJwtIssuer();
    const holder = await createTestSdJwtHolder();
    const credential = await issuer.issue(claims, { _sd: ['given_name', 'family_name', 'address'] }, { vct: VCT, holderJwk: holder.publicJwk });
    presentation = await holder.present(credential, { given_name: true, address: true }, { nonce: options.nonce, aud: options.audience });
    workers = new PresentationWorkers(2);
  });

  afterAll(() => workers.close());

  it('verifies on a worker thread with the result verifySdJwtVc gives on the event loop', async () => {
    const inline = await verifySdJwtVc(presentation, options);
    const threaded = await workers.verifySdJwtVc(presentation, options);
    expect(threaded).toEqual(inline);
    expect(threaded.claims).toMatchObject({ given_name: 'Erika', address: { locality: 'Berlin' } });
    expect(threaded.claims['family_name']).toBeUndefined();
    expect(threaded.issuerKey).toBeDefined();
  });

  it('refuses with the same PresentationError codes as on the event loop', async () => {
    const later = () => new Date(Date.now() + 400 * 86_400_000);
    const cases: Array<[string, string, Partial<typeof options> & { now?: () => Date }]> = [
      ['nonce_mismatch', presentation, { nonce: 'other' }],
      ['audience_mismatch', presentation, { audience: 'x' }],
      ['key_binding_missing', presentation.slice(0, presentation.lastIndexOf('~') + 1), {}],
      // `now` crosses to the thread: 400 days on, the key-binding JWT is stale.
      ['key_binding_stale', presentation, { now: later }],
      ['issuer_key_unresolved', presentation, { resolveIssuerKey: () => Promise.reject(new Error('offline')) }],
    ];
    for (const [code, input, change] of cases) {
      const a = await refusal(workers.verifySdJwtVc(input, { ...options, ...change }));
      const b = await refusal(verifySdJwtVc(input, { ...options, ...change }));
      expect(a).toBeInstanceOf(PresentationError);
      expect({ code: (a as PresentationError).code, message: (a as Error).message }).toEqual({ code: (b as PresentationError).code, message: (b as Error).message });
      expect((a as PresentationError).code).toBe(code);
    }
  });

  it('refuses a tampered disclosure on the worker', async () => {
    const parts = presentation.split('~');
    const disclosure = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown[];
    disclosure[2] = 'Mallory';
    parts[1] = Buffer.from(JSON.stringify(disclosure)).toString('base64url');
    const error = await refusal(workers.verifySdJwtVc(parts.join('~'), options));
    expect(error).toBeInstanceOf(PresentationError);
    expect((error as PresentationError).code).toBe((await refusal(verifySdJwtVc(parts.join('~'), options)) as PresentationError).code);
  });

  it('starts its threads with the first presentation', async () => {
    const lazy = new PresentationWorkers(1);
    const slots = (lazy as unknown as { slots: unknown[] }).slots;
    expect(slots).toHaveLength(0);
    await expect(lazy.verifySdJwtVc(presentation, options)).resolves.toMatchObject({ vct: VCT });
    expect(slots).toHaveLength(1);
    await lazy.close();
  });

  it('fails the checks of a thread that dies and replaces it', async () => {
    const slots = (workers as unknown as { slots: Array<{ worker: Worker }> }).slots;
    const pending = Array.from({ length: 8 }, () => refusal(workers.verifySdJwtVc(presentation, options)).catch(() => null));
    const dead = slots.map((slot) => slot.worker);
    await Promise.all(dead.map((worker) => worker.terminate()));
    const outcomes = await Promise.all(pending);
    // Those still queued on the dead threads fail with a plain error, not a verification verdict.
    for (const outcome of outcomes) if (outcome !== null) expect((outcome as Error).message).toMatch(/presentation verification thread exited/);
    await expect(workers.verifySdJwtVc(presentation, options)).resolves.toMatchObject({ vct: VCT });
    expect(slots).toHaveLength(2);
    expect(slots.every((slot) => !dead.includes(slot.worker))).toBe(true);
  });

  it('sizes `auto` as one thread per core but one, from 1 to 4', () => {
    expect([1, 2, 3, 4, 8, 64].map((cores) => autoWorkerCount(cores))).toEqual([1, 1, 2, 3, 4, 4]);
  });

  it('refuses to run after close', async () => {
    const closing = new PresentationWorkers(1);
    await closing.close();
    await expect(closing.verifySdJwtVc(presentation, options)).rejects.toThrow('closed');
  });
});
