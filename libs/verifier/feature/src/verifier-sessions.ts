import type { Cache } from '@wallet/cache';
import type { DcqlQuery, PresentationDefinition } from '@wallet/protocol';
import type { JWK } from 'jose';
import { randomToken } from '@wallet/crypto';
import type { OAuthErrorCode } from './oauth-error';
import { systemClock, type Clock } from './verifier-clock';

/**
 * Login sessions, authorization codes and their events live in the shared
 * cache, so any replica can serve any step of a flow. Everything expires, and
 * every one-time value (the wallet's response, a code) is taken atomically.
 */

export type ResponseMode = 'direct_post' | 'direct_post.jwt';
export type RequestMode = 'byReference' | 'byValue' | 'urlEncoded';

export interface VerifierSession {
  /** Also the `state` sent to the wallet: random, unguessable. */
  id: string;
  serviceId: string;
  /** The relying party's tenant, whose trust configuration applies (absent in sessions started by older versions: `default`). */
  tenantId?: string;
  scope: string;
  flow: 'cross_device' | 'same_device';
  requestMode: RequestMode;
  responseMode: ResponseMode;
  clientIdPrefix: 'decentralized_identifier' | 'x509_san_dns' | 'x509_hash' | 'redirect_uri';
  clientId: string;
  responseUri: string;
  nonce: string;
  /** Exactly one of `dcql` and `presentationDefinition` is set. */
  dcql: DcqlQuery | null;
  presentationDefinition: PresentationDefinition | null;
  /** The application's own `state`, handed back with the code. */
  appState: string | null;
  /** Where the browser goes with the code (client_callback / redirect_uri). */
  redirectUri: string | null;
  codeChallenge: string | null;
  /** Private JWK that decrypts a `direct_post.jwt` response (per session, ephemeral). */
  responseDecryptionJwk: JWK | null;
  /** Set when the wallet fetched the request with `request_uri_method=post`. */
  walletNonce: string | null;
  createdAt: string;
  expiresAt: string;
}

export type SessionStatus =
  | { status: 'pending' }
  | { status: 'answered'; redirectTo: string | null }
  | { status: 'failed'; error: Extract<OAuthErrorCode, 'access_denied' | 'invalid_presentation'>; errorDescription: string };

export interface AuthorizationCode {
  sessionId: string;
  serviceId: string;
  scope: string;
  clientId: string;
  redirectUri: string | null;
  codeChallenge: string | null;
  /** The verified claims, per DCQL credential query id. */
  credentials: Record<string, Array<{ issuer: string; type: string; claims: Record<string, unknown> }>>;
  holder: string | null;
}

export class VerifierSessions {
  constructor(
    private readonly cache: Cache,
    private readonly ttl: { sessionMs: number; codeMs: number },
    private readonly now: Clock = systemClock,
  ) {}

  newId(): string {
    return randomToken(24);
  }

  async create(session: VerifierSession): Promise<void> {
    await this.cache.set(`verifier:session:${session.id}`, JSON.stringify(session), { ttlMs: this.ttl.sessionMs });
    await this.cache.set(`verifier:status:${session.id}`, JSON.stringify({ status: 'pending' }), { ttlMs: this.ttl.sessionMs });
  }

  async get(id: string): Promise<VerifierSession | null> {
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(id)) return null;
    const raw = await this.cache.get(`verifier:session:${id}`);
    return raw ? (JSON.parse(raw) as VerifierSession) : null;
  }

  async update(session: VerifierSession): Promise<void> {
    const left = Date.parse(session.expiresAt) - this.now().getTime();
    if (left > 0) await this.cache.set(`verifier:session:${session.id}`, JSON.stringify(session), { ttlMs: left });
  }

  /**
   * Claims the session for one wallet response. Of several concurrent or
   * replayed responses exactly one gets true, on whatever replica.
   */
  async claimResponse(id: string): Promise<boolean> {
    return this.cache.setIfAbsent(`verifier:answered:${id}`, '1', { ttlMs: this.ttl.sessionMs });
  }

  async status(id: string): Promise<SessionStatus | null> {
    const raw = await this.cache.get(`verifier:status:${id}`);
    return raw ? (JSON.parse(raw) as SessionStatus) : null;
  }

  /** Records the outcome and tells every replica's waiting login page. */
  async finish(id: string, status: SessionStatus): Promise<void> {
    const message = JSON.stringify(status);
    await this.cache.set(`verifier:status:${id}`, message, { ttlMs: this.ttl.sessionMs });
    await this.cache.publish(`verifier:events:${id}`, message);
  }

  subscribe(id: string, handler: (status: SessionStatus) => void): Promise<() => Promise<void>> {
    return this.cache.subscribe(`verifier:events:${id}`, (message) => handler(JSON.parse(message) as SessionStatus));
  }

  async issueCode(code: AuthorizationCode): Promise<string> {
    const value = randomToken(32);
    await this.cache.set(`verifier:code:${value}`, JSON.stringify(code), { ttlMs: this.ttl.codeMs });
    return value;
  }

  /** Single use: a second exchange of the same code finds nothing. */
  async takeCode(value: string): Promise<AuthorizationCode | null> {
    if (!/^[A-Za-z0-9_-]{20,64}$/.test(value)) return null;
    const raw = await this.cache.take(`verifier:code:${value}`);
    return raw ? (JSON.parse(raw) as AuthorizationCode) : null;
  }
}
