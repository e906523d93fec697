import { Inject, Injectable } from '@nestjs/common';
import type { WalletConfig } from '@wallet/config';
import { randomToken, UnknownSigningKeyError, type KeyRing } from '@wallet/crypto';
import { DEFAULT_TENANT_ID } from '@wallet/domain';
import { WALLET_CONFIG } from '@wallet/platform';
import { PresentationError } from '@wallet/protocol';
import { compactDecrypt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, type JWTPayload } from 'jose';
import { OAuthError } from './oauth-error';
import { VERIFIER_CLOCK, type Clock } from './verifier-clock';
import { createRequestSigner, type ClientIdPrefix, type RequestSigner } from './request-signer';
import { verifierBaseUrl } from './verifier-base-url';
import { VERIFIER_REQUEST_KEYS } from './verifier-keys';
import { RelyingPartyRegistry, type RelyingPartyConfig } from './relying-party-registry';
import { VerifierSessions, type RequestMode, type ResponseMode, type VerifierSession } from './verifier-sessions';
import { RESPONSE_VERIFIER_DEPS, sessionPresentationContext, verifyVpToken, type ResponseVerifierDeps } from './verify-response';

export interface StartSessionInput {
  baseUrl: string;
  serviceId: string | undefined;
  scope: string | undefined;
  flow: VerifierSession['flow'];
  requestMode: string | undefined;
  /** `post`: the wallet fetches the request object with POST and its own `wallet_nonce`. */
  requestUriMethod: string | undefined;
  responseMode: string | undefined;
  appState: string | undefined;
  redirectUri: string | undefined;
  codeChallenge: string | undefined;
  codeChallengeMethod: string | undefined;
}

export interface StartedSession {
  session: VerifierSession;
  /** The `openid4vp://` URL for the QR code or the same-device redirect. */
  walletUrl: string;
}

const SUPPORTED_ALGS = ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'];
const WALLET_SCHEME = 'openid4vp://';
const STATE_PATTERN = /^[\x21-\x7e]{1,512}$/;

const requireOne = <T extends string>(value: string | undefined, allowed: readonly T[], fallback: T, name: string): T => {
  if (value === undefined || value === '') return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new OAuthError(400, 'invalid_request', `${name} must be one of ${allowed.join(', ')}`);
  return value as T;
};

/**
 * The relying-party presentation flow (OpenID4VP): starts sessions, serves
 * their request objects, and verifies the wallet's response to one, which ends
 * in an authorization code for the token service to exchange.
 */
@Injectable()
export class PresentationService {
  private readonly signers = new Map<ClientIdPrefix, RequestSigner>();

  constructor(
    @Inject(WALLET_CONFIG) private readonly config: WalletConfig,
    @Inject(RelyingPartyRegistry) private readonly relyingParties: RelyingPartyRegistry,
    @Inject(VerifierSessions) private readonly sessions: VerifierSessions,
    @Inject(VERIFIER_REQUEST_KEYS) private readonly requestKeys: KeyRing,
    @Inject(RESPONSE_VERIFIER_DEPS) private readonly verifyDeps: ResponseVerifierDeps,
    @Inject(VERIFIER_CLOCK) private readonly now: Clock,
  ) {}

  private signer(prefix: ClientIdPrefix): RequestSigner {
    let signer = this.signers.get(prefix);
    if (!signer) {
      signer = createRequestSigner(this.config.verifier, this.requestKeys, prefix);
      this.signers.set(prefix, signer);
    }
    return signer;
  }

  private checkRedirect(relyingParty: RelyingPartyConfig, uri: string | undefined): string | null {
    if (uri === undefined || uri === '') return null;
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new OAuthError(400, 'invalid_request', 'the redirect URI is not an absolute URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new OAuthError(400, 'invalid_request', 'the redirect URI must be http(s)');
    if (url.hash) throw new OAuthError(400, 'invalid_request', 'the redirect URI must not have a fragment');
    if (relyingParty.redirectUris.length > 0 && !relyingParty.redirectUris.includes(uri)) {
      throw new OAuthError(400, 'invalid_request', 'the redirect URI is not registered for this client');
    }
    return uri;
  }

  async start(input: StartSessionInput): Promise<StartedSession> {
    const relyingParty = this.relyingParties.require(input.serviceId);
    const scopeName = input.scope && input.scope !== 'openid' ? input.scope.split(' ').find((s) => s !== 'openid') ?? relyingParty.defaultScope : relyingParty.defaultScope;
    const scope = relyingParty.scopes[scopeName];
    if (!scope) throw new OAuthError(400, 'invalid_scope', `unknown scope for this client`);
    const requestMode = requireOne<RequestMode>(input.requestMode, ['byReference', 'byValue', 'urlEncoded'], 'byReference', 'request_mode');
    const requestUriMethod = requireOne(input.requestUriMethod, ['get', 'post'], 'get', 'request_uri_method');
    if (requestUriMethod === 'post' && requestMode !== 'byReference') {
      throw new OAuthError(400, 'invalid_request', 'request_uri_method=post needs request_mode byReference');
    }
    const responseMode = requireOne<ResponseMode>(input.responseMode, ['direct_post', 'direct_post.jwt'], 'direct_post', 'response_mode');
    if (input.appState !== undefined && !STATE_PATTERN.test(input.appState)) throw new OAuthError(400, 'invalid_request', 'state must be 1-512 printable characters');
    let codeChallenge: string | null = null;
    if (input.codeChallenge !== undefined && input.codeChallenge !== '') {
      if ((input.codeChallengeMethod ?? 'plain') !== 'S256') throw new OAuthError(400, 'invalid_request', 'code_challenge_method must be S256');
      if (!/^[A-Za-z0-9_-]{43}$/.test(input.codeChallenge)) throw new OAuthError(400, 'invalid_request', 'code_challenge must be a base64url SHA-256');
      codeChallenge = input.codeChallenge;
    }
    const redirectUri = this.checkRedirect(relyingParty, input.redirectUri);
    const base = verifierBaseUrl(this.config, input.baseUrl);
    const responseUri = `${base}/api/v1/authentication_response`;
    // URL-encoded requests are unsigned, and only the redirect_uri prefix may be unsigned.
    const signer = requestMode === 'urlEncoded' ? this.signer('redirect_uri') : this.signer(relyingParty.clientIdPrefix ?? this.config.verifier.clientIdPrefix);
    if (signer.prefix === 'redirect_uri' && requestMode !== 'urlEncoded') {
      throw new OAuthError(400, 'invalid_request', 'the redirect_uri client id prefix only supports request_mode urlEncoded');
    }
    const id = this.sessions.newId();
    let responseDecryptionJwk = null;
    if (responseMode === 'direct_post.jwt') {
      // The key id is the session id, so an encrypted response (whose state is inside) finds its session.
      const { privateKey } = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
      responseDecryptionJwk = { ...(await exportJWK(privateKey)), kid: id, alg: 'ECDH-ES', use: 'enc' };
    }
    const now = this.now().getTime();
    const session: VerifierSession = {
      id,
      serviceId: relyingParty.id,
      tenantId: relyingParty.tenantId ?? DEFAULT_TENANT_ID,
      scope: scopeName,
      flow: input.flow,
      requestMode,
      responseMode,
      clientIdPrefix: signer.prefix,
      // In the drafts that still have Presentation Exchange, a DID client id carries no prefix.
      clientId:
        scope.presentationDefinition && signer.prefix === 'decentralized_identifier'
          ? signer.clientId(responseUri).slice('decentralized_identifier:'.length)
          : signer.clientId(responseUri),
      responseUri,
      nonce: randomToken(24),
      dcql: scope.dcql ?? null,
      presentationDefinition: scope.presentationDefinition ?? null,
      appState: input.appState ?? null,
      redirectUri,
      codeChallenge,
      responseDecryptionJwk,
      walletNonce: null,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.config.verifier.sessionTtlMs).toISOString(),
    };
    await this.sessions.create(session);
    const walletUrl = await this.walletUrl(session, base, signer);
    return { session, walletUrl: requestUriMethod === 'post' ? `${walletUrl}&request_uri_method=post` : walletUrl };
  }

  private clientMetadata(session: VerifierSession): Record<string, unknown> {
    const algs = { 'sd-jwt_alg_values': SUPPORTED_ALGS, 'kb-jwt_alg_values': SUPPORTED_ALGS };
    // Presentation Exchange exists only in the OpenID4VP drafts, which name this `vp_formats`.
    const metadata: Record<string, unknown> = session.presentationDefinition
      ? { vp_formats: { 'vc+sd-jwt': algs, 'dc+sd-jwt': algs } }
      : { vp_formats_supported: { 'dc+sd-jwt': algs, jwt_vc_json: { alg_values: SUPPORTED_ALGS } } };
    if (session.responseDecryptionJwk) {
      const { d: _d, ...publicJwk } = session.responseDecryptionJwk;
      metadata['jwks'] = { keys: [publicJwk] };
      metadata['encrypted_response_enc_values_supported'] = ['A128GCM', 'A256GCM'];
    }
    return metadata;
  }

  /** The authorization request parameters (also the request object's claims). */
  private requestParameters(session: VerifierSession): Record<string, unknown> {
    return {
      response_type: 'vp_token',
      response_mode: session.responseMode,
      client_id: session.clientId,
      response_uri: session.responseUri,
      nonce: session.nonce,
      state: session.id,
      ...(session.presentationDefinition ? { presentation_definition: session.presentationDefinition } : { dcql_query: session.dcql }),
      client_metadata: this.clientMetadata(session),
    };
  }

  private async walletUrl(session: VerifierSession, base: string, signer: RequestSigner): Promise<string> {
    const params = new URLSearchParams({ client_id: session.clientId });
    if (session.requestMode === 'byReference') {
      params.set('request_uri', `${base}/api/v1/request/${session.id}`);
    } else if (session.requestMode === 'byValue') {
      params.set('request', await this.signRequest(session, signer, null));
    } else {
      for (const [key, value] of Object.entries(this.requestParameters(session))) {
        params.set(key, typeof value === 'string' ? value : JSON.stringify(value));
      }
    }
    return `${WALLET_SCHEME}?${params.toString()}`;
  }

  private signRequest(session: VerifierSession, signer: RequestSigner, walletNonce: string | null): Promise<string> {
    const now = Math.floor(this.now().getTime() / 1000);
    const payload: JWTPayload = {
      ...this.requestParameters(session),
      aud: 'https://self-issued.me/v2',
      iat: now,
      exp: Math.floor(Date.parse(session.expiresAt) / 1000),
      ...(walletNonce ? { wallet_nonce: walletNonce } : {}),
    };
    return signer.sign(payload);
  }

  /** The signed request object for `request_uri` (GET), or with the wallet's nonce (`request_uri_method=post`). */
  async requestObject(id: string, walletNonce: string | null): Promise<string> {
    const session = await this.sessions.get(id);
    if (!session || Date.parse(session.expiresAt) <= this.now().getTime()) throw new OAuthError(404, 'invalid_request_uri', 'the request does not exist or has expired');
    if (session.requestMode !== 'byReference') throw new OAuthError(400, 'invalid_request_uri', 'this request was not issued by reference');
    if (walletNonce !== null && !/^[\x21-\x7e]{1,256}$/.test(walletNonce)) throw new OAuthError(400, 'invalid_request', 'wallet_nonce is malformed');
    try {
      return await this.signRequest(session, this.signer(session.clientIdPrefix), walletNonce);
    } catch (error) {
      // The key the session's client id names has left the ring (a session older than a key's publication).
      if (error instanceof UnknownSigningKeyError) throw new OAuthError(404, 'invalid_request_uri', 'the request does not exist or has expired');
      throw error;
    }
  }

  /**
   * Handles the wallet's `direct_post` / `direct_post.jwt` response. The first
   * response to a session wins; later ones (replays) are refused. Returns the
   * `redirect_uri` for same-device flows.
   */
  async handleResponse(body: Record<string, unknown>): Promise<{ redirect_uri?: string }> {
    let fields = body;
    let session: VerifierSession | null = null;
    if (typeof body['response'] === 'string') {
      // direct_post.jwt: the state is inside the encrypted response; the JWE's kid (our key id) is the session id.
      let kid: unknown;
      try {
        kid = decodeProtectedHeader(body['response']).kid;
      } catch (cause) {
        throw new OAuthError(400, 'invalid_request', 'response is not a JWE', { cause });
      }
      const sessionId = typeof kid === 'string' ? kid : typeof body['state'] === 'string' ? body['state'] : '';
      session = await this.sessions.get(sessionId);
      if (!session?.responseDecryptionJwk || session.responseDecryptionJwk.kid !== kid) {
        throw new OAuthError(400, 'invalid_request', 'the encrypted response does not belong to a live session');
      }
      try {
        const key = await importJWK(session.responseDecryptionJwk, 'ECDH-ES');
        const { plaintext } = await compactDecrypt(body['response'], key, { keyManagementAlgorithms: ['ECDH-ES'], contentEncryptionAlgorithms: ['A128GCM', 'A256GCM'] });
        fields = JSON.parse(new TextDecoder().decode(plaintext)) as Record<string, unknown>;
      } catch (cause) {
        throw new OAuthError(400, 'invalid_request', 'the encrypted response could not be decrypted', { cause });
      }
      if (fields['state'] !== undefined && fields['state'] !== session.id) throw new OAuthError(400, 'invalid_request', 'state does not match');
    } else {
      const state = fields['state'];
      if (typeof state !== 'string') throw new OAuthError(400, 'invalid_request', 'state is required');
      session = await this.sessions.get(state);
      if (session?.responseMode === 'direct_post.jwt') throw new OAuthError(400, 'invalid_request', 'this session requires an encrypted response (direct_post.jwt)');
    }
    if (!session || Date.parse(session.expiresAt) <= this.now().getTime()) throw new OAuthError(400, 'invalid_request', 'the session does not exist or has expired');
    if (!(await this.sessions.claimResponse(session.id))) throw new OAuthError(400, 'invalid_request', 'this session was already answered');

    if (typeof fields['error'] === 'string') {
      await this.sessions.finish(session.id, { status: 'failed', error: 'access_denied', errorDescription: 'the wallet declined' });
      return {};
    }
    const relyingParty = this.relyingParties.require(session.serviceId);
    const scope = relyingParty.scopes[session.scope];
    if (!scope) throw new OAuthError(400, 'invalid_request', 'the session scope no longer exists');
    let verified;
    try {
      verified = await verifyVpToken(fields, sessionPresentationContext(session), scope, this.verifyDeps);
    } catch (error) {
      if (error instanceof PresentationError) {
        await this.sessions.finish(session.id, { status: 'failed', error: 'invalid_presentation', errorDescription: error.message });
      }
      throw error;
    }
    const code = await this.sessions.issueCode({
      sessionId: session.id,
      serviceId: session.serviceId,
      scope: session.scope,
      clientId: session.serviceId,
      redirectUri: session.redirectUri,
      codeChallenge: session.codeChallenge,
      ...verified,
    });
    const redirectTo = session.redirectUri ? this.appRedirect(session.redirectUri, code, session.appState) : null;
    await this.sessions.finish(session.id, { status: 'answered', redirectTo });
    return session.flow === 'same_device' && redirectTo ? { redirect_uri: redirectTo } : {};
  }

  private appRedirect(redirectUri: string, code: string, state: string | null): string {
    const url = new URL(redirectUri);
    url.searchParams.set('code', code);
    if (state !== null) url.searchParams.set('state', state);
    return url.toString();
  }
}
