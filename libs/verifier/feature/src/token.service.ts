import { Inject, Injectable } from '@nestjs/common';
import type { Cache } from '@wallet/cache';
import type { WalletConfig } from '@wallet/config';
import type { KeyRing } from '@wallet/crypto';
import { WALLET_CACHE, WALLET_CONFIG } from '@wallet/platform';
import type { JWTPayload } from 'jose';
import { randomUUID } from 'node:crypto';
import { OAuthError } from './oauth-error';
import { verifierBaseUrl } from './verifier-base-url';
import { VERIFIER_CLOCK, type Clock } from './verifier-clock';
import {
  assertionIssuer,
  CLIENT_ASSERTION_ALGS,
  GRANT_REFRESH_TOKEN,
  GRANT_TOKEN_EXCHANGE,
  GRANT_VP_TOKEN,
  kbNonceOf,
  pickScope,
  grantPresentationContext,
  requestedType,
  TOKEN_TYPE_ACCESS,
  TOKEN_TYPE_JWT,
  TOKEN_TYPE_VP,
  VerifierGrants,
  type RefreshRecord,
} from './verifier-grants';
import { VERIFIER_TOKEN_KEYS } from './verifier-keys';
import { RelyingPartyRegistry, type RelyingPartyConfig } from './relying-party-registry';
import { VerifierSessions, type AuthorizationCode } from './verifier-sessions';
import { pkceMatches, shapeClaims } from './verifier-tokens';
import { RESPONSE_VERIFIER_DEPS, verifyVpToken, type ResponseVerifierDeps } from './verify-response';

/**
 * The OAuth token server of the relying parties: the token endpoint (codes
 * from the presentation flow, presentations without a browser, token
 * exchange, refresh tokens), its nonce endpoint and the per-service OpenID
 * discovery document.
 */
@Injectable()
export class TokenService {
  private readonly grants: VerifierGrants;

  constructor(
    @Inject(WALLET_CONFIG) private readonly config: WalletConfig,
    @Inject(RelyingPartyRegistry) private readonly relyingParties: RelyingPartyRegistry,
    @Inject(VerifierSessions) private readonly sessions: VerifierSessions,
    @Inject(VERIFIER_TOKEN_KEYS) private readonly tokenKeys: KeyRing,
    @Inject(WALLET_CACHE) cache: Cache,
    @Inject(RESPONSE_VERIFIER_DEPS) private readonly verifyDeps: ResponseVerifierDeps,
    @Inject(VERIFIER_CLOCK) now: Clock,
  ) {
    this.grants = new VerifierGrants(cache, config.verifier.sessionTtlMs, now);
  }

  /** A fresh single-use nonce for the `vp_token` grant and token exchange (`POST /services/{id}/nonce`). */
  nonce(serviceId: string): Promise<{ c_nonce: string; expires_in: number }> {
    return this.grants.issueNonce(this.relyingParties.require(serviceId).id);
  }

  /**
   * The token endpoint: `authorization_code` (PKCE S256 when the flow started
   * with a challenge), `vp_token`, token exchange with a VP subject token, and
   * `refresh_token`; the client authenticates per its service (`none` or
   * `private_key_jwt`). The client is the path's service, `client_id`, the
   * assertion's issuer, or (public clients) the code's service.
   */
  async token(params: Record<string, unknown>, pathServiceId: string | undefined, issuerBase: string): Promise<Record<string, unknown>> {
    const grantType = params['grant_type'];
    const base = verifierBaseUrl(this.config, issuerBase);
    const clientId = typeof params['client_id'] === 'string' ? params['client_id'] : undefined;
    if (pathServiceId !== undefined && clientId !== undefined && clientId !== pathServiceId) throw new OAuthError(401, 'invalid_client', 'client_id does not match the token endpoint');
    const named = pathServiceId ?? clientId ?? assertionIssuer(params);
    const authenticate = (relyingParty: RelyingPartyConfig) =>
      this.grants.authenticateClient(relyingParty, params, {
        audiences: [`${base}/services/${relyingParty.id}/token`, `${base}/token`, `${base}/services/${relyingParty.id}`],
        clockSkewSeconds: this.config.verifier.clockSkewSeconds,
      });
    if (grantType === 'authorization_code') {
      if (named !== undefined) await authenticate(this.relyingParties.require(named));
      const codeValue = params['code'];
      if (typeof codeValue !== 'string') throw new OAuthError(400, 'invalid_request', 'code is required');
      const code = await this.sessions.takeCode(codeValue);
      if (!code) throw new OAuthError(400, 'invalid_grant', 'the code is unknown, expired or already used');
      if (named !== undefined && named !== code.serviceId) throw new OAuthError(400, 'invalid_grant', 'the code was issued to another service');
      if (code.redirectUri !== null && params['redirect_uri'] !== undefined && params['redirect_uri'] !== code.redirectUri) {
        throw new OAuthError(400, 'invalid_grant', 'redirect_uri does not match the authorization request');
      }
      if (code.codeChallenge !== null && !pkceMatches(code.codeChallenge, params['code_verifier'])) {
        throw new OAuthError(400, 'invalid_grant', 'the PKCE code_verifier does not match');
      }
      const relyingParty = this.relyingParties.require(code.serviceId);
      if (named === undefined) await authenticate(relyingParty);
      return this.mint(relyingParty, code.scope, code, base, { refresh: true });
    }
    if (grantType !== GRANT_VP_TOKEN && grantType !== GRANT_TOKEN_EXCHANGE && grantType !== GRANT_REFRESH_TOKEN) {
      throw new OAuthError(400, 'unsupported_grant_type', `grant_type must be one of authorization_code, ${GRANT_VP_TOKEN}, ${GRANT_TOKEN_EXCHANGE}, ${GRANT_REFRESH_TOKEN}`);
    }
    if (named === undefined) throw new OAuthError(401, 'invalid_client', 'client_id is required');
    const relyingParty = this.relyingParties.require(named);
    await authenticate(relyingParty);
    if (grantType === GRANT_REFRESH_TOKEN) {
      const record = await this.grants.useRefreshToken(params['refresh_token'], relyingParty.id);
      if (params['scope'] !== undefined && pickScope(relyingParty, params['scope']) !== record.scope) throw new OAuthError(400, 'invalid_scope', 'a refresh cannot change the scope');
      return this.mint(relyingParty, record.scope, record, base, { refresh: true, family: record });
    }
    const exchange = grantType === GRANT_TOKEN_EXCHANGE;
    if (exchange) {
      if (params['subject_token_type'] !== TOKEN_TYPE_VP) throw new OAuthError(400, 'invalid_request', `subject_token_type must be ${TOKEN_TYPE_VP}`);
      const requested = params['requested_token_type'];
      if (requested !== undefined && requested !== TOKEN_TYPE_ACCESS && requested !== TOKEN_TYPE_JWT) throw new OAuthError(400, 'invalid_request', 'requested_token_type must be an access token or a JWT');
      if (params['audience'] !== undefined && params['audience'] !== relyingParty.id) throw new OAuthError(400, 'invalid_target', 'audience must be this client');
      if (params['actor_token'] !== undefined) throw new OAuthError(400, 'invalid_request', 'actor_token (delegation) is not supported');
    }
    const vpToken = exchange ? params['subject_token'] : params['vp_token'];
    const scopeName = pickScope(relyingParty, params['scope']);
    const nonce = kbNonceOf(vpToken);
    await this.grants.takeNonce(relyingParty.id, nonce);
    const scope = relyingParty.scopes[scopeName];
    if (!scope) throw new OAuthError(400, 'invalid_scope', 'unknown scope for this client');
    const request = grantPresentationContext(relyingParty, scopeName, nonce);
    const verified = await verifyVpToken({ vp_token: vpToken, presentation_submission: params['presentation_submission'] }, request, scope, this.verifyDeps);
    if (!exchange) return this.mint(relyingParty, scopeName, verified, base, { refresh: true });
    const { id_token: _id, ...answer } = await this.mint(relyingParty, scopeName, verified, base, { refresh: false });
    return { ...answer, issued_token_type: requestedType(params['requested_token_type']) };
  }

  /** Signs the application JWT (and a refresh token, new or rotated within its family). */
  private async mint(
    relyingParty: RelyingPartyConfig,
    scopeName: string,
    claims: Pick<AuthorizationCode, 'credentials' | 'holder'>,
    base: string,
    options: { refresh: boolean; family?: RefreshRecord },
  ): Promise<Record<string, unknown>> {
    const scope = relyingParty.scopes[scopeName];
    const expiresIn = Math.floor(this.config.verifier.tokenTtlMs / 1000);
    const payload: JWTPayload = {
      ...shapeClaims(scope?.token ?? { type: 'flat' }, claims.credentials),
      iss: `${base}/services/${relyingParty.id}`,
      aud: relyingParty.id,
      ...(claims.holder === null ? {} : { sub: claims.holder }),
      client_id: relyingParty.id,
      scope: scopeName,
      jti: randomUUID(),
    };
    const accessToken = await this.tokenKeys.sign(payload, { typ: 'JWT', expiresInSeconds: expiresIn });
    const response: Record<string, unknown> = { access_token: accessToken, id_token: accessToken, token_type: 'Bearer', expires_in: expiresIn, scope: scopeName };
    if (options.refresh) {
      response['refresh_token'] = await this.grants.issueRefreshToken(
        {
          serviceId: relyingParty.id,
          scope: scopeName,
          credentials: claims.credentials,
          holder: claims.holder,
          ...(options.family ? { familyId: options.family.familyId, familyExpiresAt: options.family.familyExpiresAt } : {}),
        },
        relyingParty.refreshTokenTtlSeconds,
      );
    }
    return response;
  }

  openidConfiguration(serviceId: string, requestBase: string): Record<string, unknown> {
    const relyingParty = this.relyingParties.require(serviceId);
    const base = verifierBaseUrl(this.config, requestBase);
    return {
      issuer: `${base}/services/${relyingParty.id}`,
      authorization_endpoint: `${base}/api/v1/authorization`,
      token_endpoint: `${base}/services/${relyingParty.id}/token`,
      jwks_uri: `${base}/.well-known/jwks`,
      scopes_supported: ['openid', ...Object.keys(relyingParty.scopes)],
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', GRANT_REFRESH_TOKEN, GRANT_VP_TOKEN, GRANT_TOKEN_EXCHANGE],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [this.config.verifier.tokenAlg],
      token_endpoint_auth_methods_supported: [relyingParty.tokenEndpointAuthMethod],
      ...(relyingParty.tokenEndpointAuthMethod === 'private_key_jwt' ? { token_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS } : {}),
      nonce_endpoint: `${base}/services/${relyingParty.id}/nonce`,
      code_challenge_methods_supported: ['S256'],
      request_parameter_supported: false,
    };
  }
}
