/**
 * The OpenID4VCI issuer peer (`startTestIssuer()`, default options: Bearer
 * tokens, pre-authorized code, no tx_code) and an AuthZEN PDP that trusts it
 * (and every verifier: role `credential-verifier`, for the presentations
 * phase), in a process of their own, so `bench/engine.bench.ts` can read the peer's
 * CPU from /proc apart from the engine's and the clients'. Started by the
 * bench with an IPC channel (`node tools/scripts/run-ts.mjs
 * bench/lib/engine-issuer-peer.ts`); it answers the messages below.
 */
import { startTestIssuer, startTestPdp } from '@wallet/testing';

/** Bench → peer. */
export type PeerRequest = { type: 'offers'; count: number } | { type: 'stats' } | { type: 'close' };

/** Peer → bench. */
export type PeerMessage =
  | { type: 'ready'; issuerUrl: string; pdpUrl: string }
  | { type: 'offers'; offers: Array<Record<string, unknown>> }
  | { type: 'stats'; issued: number; pdpQueries: number; statuses: Record<string, number> };

async function main(): Promise<void> {
  const send = (message: PeerMessage) => process.send?.(message);
  const issuer = await startTestIssuer();
  const pdp = await startTestPdp((query) => query.subject.id === issuer.url || query.action.name === 'credential-verifier');
  process.on('message', (raw: PeerRequest) => {
    void (async () => {
      if (raw.type === 'offers') {
        const offers: Array<Record<string, unknown>> = [];
        for (let i = 0; i < raw.count; i++) offers.push((await issuer.createOffer()).offer);
        // The peer keeps every request and credential for assertions; a bench does not need them.
        send({ type: 'offers', offers });
      } else if (raw.type === 'stats') {
        const statuses: Record<string, number> = {};
        for (const r of issuer.requests) statuses[`${r.path} ${r.status}`] = (statuses[`${r.path} ${r.status}`] ?? 0) + 1;
        send({ type: 'stats', issued: issuer.issued.length, pdpQueries: pdp.queries.length, statuses });
        issuer.requests.length = 0;
        issuer.issued.length = 0;
      } else {
        await Promise.all([issuer.close(), pdp.close()]);
        process.disconnect?.();
        process.exit(0);
      }
    })();
  });
  // The bench went away (finished, failed or killed): so does the peer.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', issuerUrl: issuer.url, pdpUrl: pdp.url });
}

void main();
