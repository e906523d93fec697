import type { Cache } from '@wallet/cache';
import { decodeCompactJws, randomToken } from '@wallet/crypto';
import { DEFAULT_TENANT_ID } from '@wallet/domain';
import { PresentationError, readKeyBindingNonce } from '@wallet/protocol';
import { createLocalJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import { createHash, randomUUID } from 'node:crypto';
import { OAuthError } from './oauth-error';
import type { RelyingPartyConfig } from './relying-party-registry';
import { systemClock, type Clock } from './verifier-clock';
import type { AuthorizationCode } from './verifier-sessions';
import type { PresentationRequestContext } from './verify-response';

/**
 * The token endpoint's other grants and client authentication:
 * - `vp_token` (machine-to-machine, as VCVerifier) and RFC 8693 token exchange
 *   with a VP as subject token: the client first takes a single-use nonce from
 *   `POST /services/{id}/nonce`, then presents with a KB-JWT carrying that
 *   nonce and `aud` = the service id (its `client_id`);
 * - rotating refresh tokens, stored hashed in the shared cache, in families: a
 *   reused (already rotated) token revokes its whole family;
 * - `private_key_jwt` client authentication (RFC 7523) per service.
 */

export const GRANT_VP_TOKEN = 'vp_token';
export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const GRANT_REFRESH_TOKEN = 'refresh_token';
/** The `subject_token_type` of a token exchange whose subject is a verifiable presentation (our definition). */
export const TOKEN_TYPE_VP = 'urn:ietf:params:oauth:token-type:vp_token';
export const TOKEN_TYPE_ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Asymmetric algorithms only: a shared-secret (HS*) or `none` assertion is refused. */
export const CLIENT_ASSERTION_ALGS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
/** A client assertion may not be valid for longer than this (it is single-use anyway). */
const MAX_ASSERTION_LIFETIME_S = 600;

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** What a refresh token stands for: the verified claims of the original login. */
export interface RefreshRecord {
  familyId: string;
  serviceId: string;
  scope: string;
  credentials: AuthorizationCode['credentials'];
  holder: string | null;
  /** The family's absolute end: rotation never extends a login. */
  familyExpiresAt: number;
}

type UsedMarker = { used: true; familyId: string };

export interface ClientAuthContext {
  /** Accepted `aud` values: the token endpoint URLs and the service's issuer. */
  audiences: string[];
  clockSkewSeconds: number;
}

/** The scope a request names (`openid` aside), else the service's default. */
export function pickScope(relyingParty: RelyingPartyConfig, raw: unknown): string {
  if (raw !== undefined && typeof raw !== 'string') throw new OAuthError(400, 'invalid_request', 'scope must be a string');
  const name = (raw ?? '').split(' ').find((s) => s !== '' && s !== 'openid') ?? relyingParty.defaultScope;
  if (!relyingParty.scopes[name]) throw new OAuthError(400, 'invalid_scope', 'unknown scope for this client');
  return name;
}

/**
 * The nonce a presentation's KB-JWT carries (`readKeyBindingNonce`), read
 * before verification only to find the nonce record; the verification then
 * checks it on every presentation. A malformed `vp_token` is `invalid_request`,
 * one without a key-binding nonce `invalid_grant`.
 */
export function kbNonceOf(vpToken: unknown): string {
  try {
    return readKeyBindingNonce(vpToken);
  } catch (error) {
    if (error instanceof PresentationError) throw new OAuthError(400, error.code === 'key_binding_missing' ? 'invalid_grant' : 'invalid_request', error.message, { cause: error });
    throw error;
  }
}

/**
 * What a presentation without a browser session (`vp_token` grant, token
 * exchange) is checked against: the service's query for the scope, the nonce
 * from our nonce endpoint, and `aud` = the service id (its `client_id`).
 */
export function grantPresentationContext(relyingParty: RelyingPartyConfig, scopeName: string, nonce: string): PresentationRequestContext {
  const scope = relyingParty.scopes[scopeName];
  return { tenantId: relyingParty.tenantId ?? DEFAULT_TENANT_ID, nonce, audience: relyingParty.id, dcql: scope?.dcql ?? null, presentationDefinition: scope?.presentationDefinition ?? null };
}

export class VerifierGrants {
  constructor(
    private readonly cache: Cache,
    private readonly nonceTtlMs: number,
    private readonly now: Clock = systemClock,
  ) {}

  /** A fresh single-use nonce for one `vp_token` grant or token exchange of this service. */
  async issueNonce(serviceId: string): Promise<{ c_nonce: string; expires_in: number }> {
    const nonce = randomToken(32);
    await this.cache.set(`verifier:grant-nonce:${nonce}`, serviceId, { ttlMs: this.nonceTtlMs });
    return { c_nonce: nonce, expires_in: Math.floor(this.nonceTtlMs / 1000) };
  }

  /** Takes the nonce atomically: unknown, expired, used or another service's nonce is refused. */
  async takeNonce(serviceId: string, nonce: string): Promise<void> {
    if (!TOKEN_PATTERN.test(nonce)) throw new OAuthError(400, 'invalid_grant', 'the nonce is unknown, expired or already used');
    const owner = await this.cache.take(`verifier:grant-nonce:${nonce}`);
    if (owner === null) throw new OAuthError(400, 'invalid_grant', 'the nonce is unknown, expired or already used');
    if (owner !== serviceId) throw new OAuthError(400, 'invalid_grant', 'the nonce was issued to another client');
  }

  /** Starts a refresh-token family (or continues one, on rotation). */
  async issueRefreshToken(record: Omit<RefreshRecord, 'familyId' | 'familyExpiresAt'> & Partial<Pick<RefreshRecord, 'familyId' | 'familyExpiresAt'>>, ttlSeconds: number): Promise<string> {
    const full: RefreshRecord = {
      ...record,
      familyId: record.familyId ?? randomUUID(),
      familyExpiresAt: record.familyExpiresAt ?? this.now().getTime() + ttlSeconds * 1000,
    };
    const left = full.familyExpiresAt - this.now().getTime();
    if (left <= 0) throw new OAuthError(400, 'invalid_grant', 'the refresh token has expired');
    const token = randomToken(32);
    await this.cache.set(`verifier:refresh:${sha256(token)}`, JSON.stringify(full), { ttlMs: left });
    return token;
  }

  /**
   * Uses a refresh token once: marks it used atomically and returns its record.
   * A used token presented again (or a concurrent second use) revokes the family.
   */
  async useRefreshToken(token: unknown, serviceId: string): Promise<RefreshRecord> {
    if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) throw new OAuthError(400, 'invalid_grant', 'the refresh token is unknown or expired');
    const key = `verifier:refresh:${sha256(token)}`;
    const raw = await this.cache.get(key);
    if (raw === null) throw new OAuthError(400, 'invalid_grant', 'the refresh token is unknown or expired');
    const stored = JSON.parse(raw) as RefreshRecord | UsedMarker;
    if ('used' in stored) {
      await this.revokeFamily(stored.familyId);
      throw new OAuthError(400, 'invalid_grant', 'the refresh token was already used; its token family is revoked');
    }
    // Presented by another client: refused without using it up.
    if (stored.serviceId !== serviceId) throw new OAuthError(400, 'invalid_grant', 'the refresh token was issued to another client');
    // Checked before the swap, so of two concurrent uses exactly one wins (and the loser revokes
    // the family, which also refuses the winner's new token on its next use).
    if ((await this.cache.get(`verifier:refresh-revoked:${stored.familyId}`)) !== null) {
      throw new OAuthError(400, 'invalid_grant', 'the refresh token family is revoked');
    }
    const left = stored.familyExpiresAt - this.now().getTime();
    const marker: UsedMarker = { used: true, familyId: stored.familyId };
    if (left <= 0 || !(await this.cache.compareAndSet(key, raw, JSON.stringify(marker), { ttlMs: Math.max(left, 1000) }))) {
      // Someone used it at the same moment: treat it as a reuse.
      await this.revokeFamily(stored.familyId);
      throw new OAuthError(400, 'invalid_grant', 'the refresh token was already used; its token family is revoked');
    }
    return stored;
  }

  private async revokeFamily(familyId: string): Promise<void> {
    // Families end at most a day after their longest possible life; the marker outlives every member.
    await this.cache.set(`verifier:refresh-revoked:${familyId}`, '1', { ttlMs: 31 * 24 * 3600 * 1000 });
  }

  /**
   * Client authentication at the token endpoint. `none` clients send nothing
   * (an assertion is refused); `private_key_jwt` clients must send a signed,
   * unexpired, single-use assertion with iss = sub = the service id and `aud`
   * one of our token endpoint URLs or the service's issuer.
   */
  async authenticateClient(relyingParty: RelyingPartyConfig, params: Record<string, unknown>, context: ClientAuthContext): Promise<void> {
    const assertion = params['client_assertion'];
    const assertionType = params['client_assertion_type'];
    if (relyingParty.tokenEndpointAuthMethod !== 'private_key_jwt') {
      if (assertion !== undefined || assertionType !== undefined) throw new OAuthError(401, 'invalid_client', 'this client does not authenticate with private_key_jwt');
      return;
    }
    if (assertionType !== CLIENT_ASSERTION_TYPE) throw new OAuthError(401, 'invalid_client', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`);
    if (typeof assertion !== 'string' || assertion.length === 0 || assertion.length > 16_384) throw new OAuthError(401, 'invalid_client', 'client_assertion is required');
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(assertion).alg;
    } catch (cause) {
      throw new OAuthError(401, 'invalid_client', 'client_assertion is not a JWT', { cause });
    }
    if (typeof alg !== 'string' || !CLIENT_ASSERTION_ALGS.includes(alg)) throw new OAuthError(401, 'invalid_client', 'client_assertion must use an asymmetric algorithm');
    let payload;
    try {
      ({ payload } = await jwtVerify(assertion, createLocalJWKSet(relyingParty.clientJwks as JSONWebKeySet), {
        algorithms: CLIENT_ASSERTION_ALGS,
        issuer: relyingParty.id,
        subject: relyingParty.id,
        audience: context.audiences,
        clockTolerance: context.clockSkewSeconds,
        currentDate: this.now(),
        requiredClaims: ['exp', 'jti'],
      }));
    } catch (error) {
      throw new OAuthError(401, 'invalid_client', `client_assertion is invalid: ${assertionProblem(error)}`, { cause: error });
    }
    const now = Math.floor(this.now().getTime() / 1000);
    const exp = payload.exp as number;
    if (exp - now > MAX_ASSERTION_LIFETIME_S) throw new OAuthError(401, 'invalid_client', `client_assertion must expire within ${MAX_ASSERTION_LIFETIME_S} seconds`);
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256) throw new OAuthError(401, 'invalid_client', 'client_assertion needs a jti');
    if (params['client_id'] !== undefined && params['client_id'] !== relyingParty.id) throw new OAuthError(401, 'invalid_client', 'client_id does not match the client assertion');
    const ttlMs = (exp - now + context.clockSkewSeconds + 1) * 1000;
    if (!(await this.cache.setIfAbsent(`verifier:client-assertion:${relyingParty.id}:${sha256(payload.jti)}`, '1', { ttlMs }))) {
      throw new OAuthError(401, 'invalid_client', 'client_assertion was already used (jti replay)');
    }
  }
}

/** Why a client assertion was refused: the failed check, never the token. */
type AssertionProblem = 'expired' | `claim ${string} check failed` | 'no registered key matches' | 'signature verification failed' | 'algorithm not allowed' | 'malformed';

/** A short reason that names the failed check, never the token. */
function assertionProblem(error: unknown): AssertionProblem {
  if (error instanceof joseErrors.JWTExpired) return 'expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `claim ${error.claim} check failed`;
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'no registered key matches';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  return 'malformed';
}

/** The service's client id a presented client assertion names (unverified; used only to pick the service). */
export function assertionIssuer(params: Record<string, unknown>): string | undefined {
  const assertion = params['client_assertion'];
  if (typeof assertion !== 'string') return undefined;
  try {
    const iss = decodeCompactJws(assertion).payload['iss'];
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/** The `issued_token_type` of a token exchange: what was requested, an access token by default. */
export function requestedType(requested: unknown): string {
  return requested === TOKEN_TYPE_JWT ? TOKEN_TYPE_JWT : TOKEN_TYPE_ACCESS;
}
