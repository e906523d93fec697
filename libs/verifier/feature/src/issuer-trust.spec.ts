import { createCache, type Cache } from '@wallet/cache';
import { resolveSelfDescribingDid, toPublicKeyObject } from '@wallet/crypto';
import { DEFAULT_TENANT_ID } from '@wallet/domain';
import { PresentationError, type DcqlQuery, type IssuerKeyResolver } from '@wallet/protocol';
import { createDidJwkSdJwtIssuer, createTestSdJwtHolder } from '@wallet/testing';
import { TrustEvaluator, type TrustHttpClient } from '@wallet/trust';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { grantPresentationContext } from './verifier-grants';
import { DEFAULT_RELYING_PARTY, type RelyingPartyScope } from './relying-party-registry';
import type { VerifierSession } from './verifier-sessions';
import { sessionPresentationContext, verifyVpToken, type PresentationRequestContext, type ResponseVerifierDeps } from './verify-response';

const VCT = 'https://credentials.example.com/pid';
const AUDIENCE = 'decentralized_identifier:did:example:verifier';

/** A real HTTP client behind the evaluator's port (production wires the guarded outbound client). */
const http: TrustHttpClient = {
  async fetch(url, init) {
    const response = await request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, body: init.body ?? null });
    const text = await response.body.text();
    return { status: response.statusCode, json: () => JSON.parse(text) as unknown };
  },
};

/** An AuthZEN PDP on loopback that trusts the entity ids it is given, and records whom it was asked about. */
async function startPdp(trusted: ReadonlySet<string>): Promise<{ url: string; asked: string[]; close(): Promise<void> }> {
  const asked: string[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      if (req.url === '/.well-known/authzen-configuration') return void res.writeHead(404).end();
      const subject = ((JSON.parse(raw || '{}') as { subject?: { id?: string } }).subject?.id ?? '').toString();
      asked.push(subject);
      const decision = trusted.has(subject);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(decision ? { decision } : { decision, context: { reason: { 403: 'unknown issuer' } } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    asked,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** did:jwk resolves offline: the issuer key is in the DID. */
const resolveIssuerKey: IssuerKeyResolver = async ({ payload, header }) =>
  toPublicKeyObject(resolveSelfDescribingDid(typeof header.kid === 'string' && header.kid.startsWith('did:') ? header.kid : `${String(payload.iss)}#0`));

describe('issuer trust is evaluated for the tenant of the request', () => {
  let cache: Cache;
  let trusting: Awaited<ReturnType<typeof startPdp>>;
  let refusing: Awaited<ReturnType<typeof startPdp>>;
  let deps: ResponseVerifierDeps;
  let issuerDid: string;
  let presentationFor: (nonce: string) => Promise<string>;

  const dcql: DcqlQuery = { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: [VCT] }, claims: [{ path: ['given_name'] }] }] } as DcqlQuery;
  const scope: RelyingPartyScope = { dcql, trust: [{ type: VCT, authzen: true }], token: { type: 'flat' } };
  const context = (tenantId: string, nonce: string): PresentationRequestContext => ({ tenantId, nonce, audience: AUDIENCE, dcql, presentationDefinition: null });

  beforeAll(async () => {
    cache = await createCache({ type: 'memory' });
    const issuer = await createDidJwkSdJwtIssuer();
    issuerDid = issuer.did;
    const holder = await createTestSdJwtHolder();
    const credential = await issuer.issue({ given_name: 'Erika' }, { _sd: ['given_name'] }, { vct: VCT, holderJwk: holder.publicJwk });
    presentationFor = (nonce) => holder.present(credential, { given_name: true }, { nonce, aud: AUDIENCE });
    // Two tenants, each with its own PDP: acme's trusts the issuer, globex's does not.
    trusting = await startPdp(new Set([issuerDid]));
    refusing = await startPdp(new Set());
    const pdps: Record<string, string> = { acme: trusting.url, globex: refusing.url };
    const trust = new TrustEvaluator({ policy: 'never', localCacheMs: 0 }, { cache, http, tenantPdpUrl: async (tenantId) => pdps[tenantId] });
    deps = {
      resolveIssuerKey,
      fetch: { getText: () => Promise.reject(new Error('no remote documents in this test')) },
      cache,
      trust,
      statusListTtlMs: 60_000,
      clockSkewSeconds: 30,
      now: () => new Date(),
    };
  });

  afterAll(async () => {
    await trusting?.close();
    await refusing?.close();
    await cache?.close();
  });

  it('accepts the presentation for the tenant whose PDP trusts the issuer and refuses it for the one whose PDP does not', async () => {
    const accepted = await verifyVpToken({ vp_token: JSON.stringify({ pid: [await presentationFor('n-acme')] }) }, context('acme', 'n-acme'), scope, deps);
    expect(accepted.credentials['pid']).toEqual([{ issuer: issuerDid, type: VCT, claims: expect.objectContaining({ given_name: 'Erika' }) }]);
    expect(trusting.asked).toEqual([issuerDid]);

    const refused = await verifyVpToken({ vp_token: JSON.stringify({ pid: [await presentationFor('n-globex')] }) }, context('globex', 'n-globex'), scope, deps).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(PresentationError);
    expect(refused).toMatchObject({ code: 'untrusted_issuer' });
    expect(refusing.asked).toEqual([issuerDid]);
    // The default tenant has no PDP here (policy never): the same issuer is refused there too, without asking either PDP.
    await expect(verifyVpToken({ vp_token: JSON.stringify({ pid: [await presentationFor('n-default')] }) }, context(DEFAULT_TENANT_ID, 'n-default'), scope, deps)).rejects.toMatchObject({
      code: 'untrusted_issuer',
    });
    expect([...trusting.asked, ...refusing.asked]).toHaveLength(2);
  });

  it('takes the tenant from the session, or for a grant from the relying party (default when it names none)', () => {
    const session = { nonce: 'n', clientId: AUDIENCE, dcql, presentationDefinition: null, tenantId: 'acme' } as VerifierSession;
    expect(sessionPresentationContext(session)).toEqual(context('acme', 'n'));
    const { tenantId: _older, ...olderSession } = session;
    expect(sessionPresentationContext(olderSession as VerifierSession).tenantId).toBe(DEFAULT_TENANT_ID);
    expect(grantPresentationContext({ ...DEFAULT_RELYING_PARTY, tenantId: 'globex' }, 'demo', 'n').tenantId).toBe('globex');
    expect(grantPresentationContext(DEFAULT_RELYING_PARTY, 'demo', 'n').tenantId).toBe(DEFAULT_TENANT_ID);
  });
});
