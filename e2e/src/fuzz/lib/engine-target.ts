import { createDidJwkKey, PasskeyTestClient, startTestIssuer, startTestPdp, startTestVerifier, type TestIssuer, type TestPdp, type TestVerifier } from '@wallet/testing';
import type { FlowSummary } from '@wallet/engine-protocol';
import { authenticatedSocket, engineUrl, loopbackEngineEnv, rawSocket } from '../../engine/engine-fixtures';
import { closedLoopbackPort, FuzzTarget, PROTECTED_TENANT } from './fuzz-target';

/**
 * Access tokens live this long while the engine is fuzzed, so that a token
 * the run minted at the start is really expired (past `exp` and the
 * verifier's 5 s tolerance) after about 20 s; A's token is renewed before
 * every case that is older than {@link TOKEN_RENEW_MS}.
 */
export const ENGINE_TOKEN_TTL_MS = 15_000;
const TOKEN_TOLERANCE_MS = 5_000;
const TOKEN_RENEW_MS = 3_000;
/** How long a connection may wait for its handshake before the engine closes it (4408); short, so the fuzzer sees it. */
export const ENGINE_HANDSHAKE_TIMEOUT_MS = 1_500;
const DAY_MS = 86_400_000;

/** The flows a protected user holds: one waiting for its consent, one failed (kept for re-delivery). */
export interface ProtectedFlows {
  waiting: string;
  failed: string;
}

/** What the protected users' flows look like; compared before and after every message type's fuzzing. */
export type ProtectedFlowLists = Record<'B' | 'C', FlowSummary[]>;

/**
 * The built all-in-one for fuzzing the engine's WebSocket API: the HTTP
 * fuzzer's target (user A on the default tenant, user B on tenant `beta`)
 * started with an outbound guard that lets plain http on 127.0.0.0/8
 * through, so that flows reach an OpenID4VCI issuer peer and an OpenID4VP
 * verifier peer on loopback and stop at their questions; a PDP on loopback
 * that trusts them. Besides B, user C (A's tenant) holds flows no frame of A
 * may change; user D (B's tenant) is "another user" for handshakes.
 *
 * Network rule: the peers listen on 127.0.0.1; every other URL the fuzzer
 * names points at {@link closedPorts} on a loopback spelling.
 */
export class EngineFuzzTarget {
  readonly base = new FuzzTarget();
  issuer!: TestIssuer;
  pdp!: TestPdp;
  verifier!: TestVerifier;
  readonly verifierClient = createDidJwkKey();
  /** Loopback ports nothing listens on (taken from the OS, then released). */
  closedPorts: number[] = [];
  /** Flows of B (tenant beta) and C (A's tenant). */
  protectedFlows!: Record<'B' | 'C', ProtectedFlows>;
  /** A token of A minted at the start; expired from {@link expiredAt} on. */
  expiredToken = '';
  expiredAt = 0;
  private tokenA = { token: '', at: 0 };
  private tokenD = { token: '', at: 0 };
  private clientC!: PasskeyTestClient;
  private clientD!: PasskeyTestClient;

  get wallet(): string {
    return this.base.urls.wallet;
  }

  /** The engine's URL with a path the fuzzer chose (`/api/v2/wallet`, `/t/beta/api/v2/wallet`, ...). */
  url(path: string): string {
    return `${this.wallet.replace(/^http/, 'ws')}${path}`;
  }

  async start(): Promise<void> {
    this.closedPorts = [await closedLoopbackPort(), await closedLoopbackPort()];
    this.issuer = await startTestIssuer();
    this.verifier = await startTestVerifier({ host: '127.0.0.1', issuerKeys: [this.verifierClient.publicJwk] });
    this.pdp = await startTestPdp(() => true);
    await this.base.start({
      ...loopbackEngineEnv(this.pdp.url),
      WALLET_AUTH_ACCESS_TOKEN_TTL_MS: String(ENGINE_TOKEN_TTL_MS),
      WALLET_ENGINE_HANDSHAKE_TIMEOUT_MS: String(ENGINE_HANDSHAKE_TIMEOUT_MS),
      // The fuzzer starts hundreds of flows a minute as one user; the per-minute limit and the
      // concurrent-flow limit are raised so that most starts reach the flow code (the fuzzer cancels
      // A's flows after every message type; the limits themselves are e2e-tested in engine-refusals).
      WALLET_ENGINE_FLOW_STARTS_PER_MINUTE: '10000',
      WALLET_ENGINE_MAX_CONCURRENT_FLOWS: '200',
      // The protected users' flows must not change by themselves during a long run.
      WALLET_ENGINE_USER_TIMEOUT_MS: String(DAY_MS),
      WALLET_ENGINE_SIGN_TIMEOUT_MS: String(DAY_MS),
      WALLET_ENGINE_FLOW_LIFETIME_MS: String(DAY_MS),
      WALLET_ENGINE_RETENTION_MS: String(DAY_MS),
    });
    this.expiredToken = (await this.base.login('A')).appToken;
    this.expiredAt = Date.now() + ENGINE_TOKEN_TTL_MS + TOKEN_TOLERANCE_MS + 1000;
    this.clientC = new PasskeyTestClient({ baseUrl: this.wallet });
    const c = await this.clientC.registered({ displayName: 'Protected C' });
    this.clientD = new PasskeyTestClient({ baseUrl: this.wallet, tenant: PROTECTED_TENANT });
    await this.clientD.registered({ displayName: 'Other D' });
    this.protectedFlows = {
      B: await this.holdFlows(engineUrl(this.wallet, PROTECTED_TENANT), (await this.base.login('B')).appToken),
      C: await this.holdFlows(engineUrl(this.wallet), c.appToken),
    };
  }

  async stop(): Promise<number | null> {
    const code = await this.base.stop();
    await Promise.all([this.issuer?.close(), this.verifier?.close(), this.pdp?.close()]);
    return code;
  }

  alive(): boolean {
    return this.base.alive();
  }

  /** A's access token, renewed when it is older than a few seconds (so a case never outlives it). */
  async tokenOfA(): Promise<string> {
    if (Date.now() - this.tokenA.at > TOKEN_RENEW_MS) this.tokenA = { token: (await this.base.login('A')).appToken, at: Date.now() };
    return this.tokenA.token;
  }

  /** D's token: another user (on B's tenant), for handshakes that must not become A's session. */
  async tokenOfD(): Promise<string> {
    if (Date.now() - this.tokenD.at > TOKEN_RENEW_MS) {
      const login = await this.clientD.login();
      if (login.status !== 200) throw new Error(`D can no longer log in: ${login.status}`);
      this.tokenD = { token: login.body.appToken, at: Date.now() };
    }
    return this.tokenD.token;
  }

  /** Every token of the run's users the fuzzer knows of (none may appear in a frame from the engine). */
  secrets(): string[] {
    return [this.tokenA.token, this.tokenD.token, this.expiredToken, this.base.userA?.refreshToken].filter((s): s is string => !!s && s.length > 20);
  }

  /** An offer at the issuer peer that stops at its first question. */
  async offer(kind: 'pre-auth' | 'tx-code' | 'by-reference' | 'auth-code' | 'selection'): Promise<{ link: string; offer: Record<string, unknown>; txCode?: string }> {
    switch (kind) {
      case 'tx-code':
        return this.issuer.createOffer({ txCode: true });
      case 'by-reference':
        return this.issuer.createOffer({ byReference: true });
      case 'auth-code':
        return this.issuer.createOffer({ grant: 'authorization_code' });
      case 'selection':
        return this.issuer.createOffer({ configurationIds: ['pid_sd_jwt', 'diploma_jwt'] });
      case 'pre-auth':
        return this.issuer.createOffer();
    }
  }

  /** A presentation request of the verifier peer (did:jwk client id: nothing to resolve over the network). */
  async presentationRequest(): Promise<string> {
    const request = await this.verifier.createRequest({
      client: { prefix: 'decentralized_identifier', key: this.verifierClient },
      dcqlQuery: { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: ['urn:fuzz:pid'] }, claims: [{ path: ['given_name'] }] }] },
    });
    return request.link;
  }

  /** Starts the two flows a protected user holds: one stops at its consent, one fails (an offer at a closed port). */
  private async holdFlows(url: string, token: string): Promise<ProtectedFlows> {
    const socket = await authenticatedSocket(url, token);
    try {
      socket.send({ type: 'flow_start', message_id: 'w', protocol: 'oid4vci', params: { offer: (await this.issuer.createOffer()).link } });
      const waiting = String((await socket.next('flow_started'))['flow_id']);
      await socket.next('consent_request', 15_000);
      const closed = `http://127.0.0.1:${this.closedPorts[0]}/offer`;
      socket.send({ type: 'flow_start', message_id: 'f', protocol: 'oid4vci', params: { offer: `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(closed)}` } });
      const failed = String((await socket.next('flow_started'))['flow_id']);
      await socket.next('flow_error', 15_000);
      return { waiting, failed };
    } finally {
      socket.close();
    }
  }

  /** The flow lists of B and C as their own handshakes show them (fresh logins). */
  async protectedFlowLists(): Promise<ProtectedFlowLists> {
    const list = async (url: string, token: string) => {
      const socket = await rawSocket(url);
      try {
        socket.send({ type: 'handshake', token });
        const ok = await socket.next();
        if (ok['type'] !== 'handshake_ok') throw new Error(`a protected user's handshake failed: ${JSON.stringify(ok).slice(0, 300)}`);
        return ok['flows'] as FlowSummary[];
      } finally {
        socket.close();
      }
    };
    const c = await this.clientC.login();
    if (c.status !== 200) throw new Error(`C can no longer log in: ${c.status}`);
    return {
      B: await list(engineUrl(this.wallet, PROTECTED_TENANT), (await this.base.login('B')).appToken),
      C: await list(engineUrl(this.wallet), c.body.appToken),
    };
  }
}
