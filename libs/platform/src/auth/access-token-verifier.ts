import { RefusalError, WalletError } from '@wallet/domain';
import { errors, jwtVerify, type JWTHeaderParameters } from 'jose';
import { ACCESS_TOKEN_ALGS, type AccessTokenKeys } from './access-token-keys';
import type { Principal } from './request-context';
import type { AccessTokenRevocations } from './token-revocations';

/** RFC 9068 `typ` of auth's access tokens. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface AccessTokenVerifierOptions {
  issuer: string;
  audience: string;
  keys: AccessTokenKeys;
  revocations: AccessTokenRevocations;
  /** Seconds of clock skew tolerated on `exp`/`iat` (default 5). */
  clockToleranceSec?: number;
  /** Longest token accepted (bytes); longer is refused before any parsing. Default 4096. */
  maxTokenLength?: number;
  /**
   * How many verified tokens to remember (default 10 000; 0 disables). A
   * token seen again skips the signature check but not the expiry check or
   * the revocation lookups, which run on every use.
   */
  cacheSize?: number;
  now?: () => number;
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Verifies auth's access tokens offline: ES256/EdDSA/RS256 signature against
 * auth's published keys (never `none`, never HMAC, the key's own `alg` only),
 * `typ: at+jwt`, `iss`, `aud`, `exp`, required claims, then the revocation
 * list. Every refusal is a 401 `RefusalError` whose message says what was
 * wrong without echoing the token.
 */
export class AccessTokenVerifier {
  private readonly now: () => number;
  private readonly verified = new Map<string, { principal: Principal; iat: number }>();
  private readonly cacheSize: number;

  constructor(private readonly options: AccessTokenVerifierOptions) {
    this.now = options.now ?? Date.now;
    this.cacheSize = options.cacheSize ?? 10_000;
  }

  async verify(token: string): Promise<Principal> {
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.principal.expiresAt + (this.options.clockToleranceSec ?? 5) <= this.now() / 1000) {
        this.verified.delete(token);
        throw refused('token_expired', 'the access token has expired');
      }
      await this.checkRevocation(cached.principal, cached.iat);
      return { ...cached.principal };
    }
    if (token.length > (this.options.maxTokenLength ?? 4096) || !TOKEN_SHAPE.test(token)) {
      throw refused('invalid_token', 'the access token is not a compact JWS');
    }
    let payload;
    try {
      ({ payload } = await jwtVerify(token, (header: JWTHeaderParameters) => this.keyFor(header), {
        algorithms: [...ACCESS_TOKEN_ALGS],
        issuer: this.options.issuer,
        audience: this.options.audience,
        typ: ACCESS_TOKEN_TYPE,
        requiredClaims: ['sub', 'jti', 'iat', 'exp'],
        clockTolerance: this.options.clockToleranceSec ?? 5,
        currentDate: new Date(this.now()),
      }));
    } catch (error) {
      throw describeFailure(error);
    }
    const tenant = payload['tenant'];
    const scope = payload['scope'];
    const sid = payload['sid'];
    if (typeof tenant !== 'string' || !tenant || typeof payload.sub !== 'string' || typeof payload.jti !== 'string') {
      throw refused('invalid_token', 'the access token lacks its tenant, subject or id');
    }
    if (scope !== undefined && typeof scope !== 'string') throw refused('invalid_token', 'the access token scope is malformed');
    if (sid !== undefined && typeof sid !== 'string') throw refused('invalid_token', 'the access token session is malformed');
    const principal: Principal = {
      tenantId: tenant,
      userId: payload.sub,
      jti: payload.jti,
      expiresAt: payload.exp as number,
      ...(scope !== undefined ? { scope } : {}),
      ...(sid !== undefined ? { sid } : {}),
    };
    await this.checkRevocation(principal, payload.iat as number);
    if (this.cacheSize > 0) {
      // Oldest first out: Map keeps insertion order.
      if (this.verified.size >= this.cacheSize) this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(token, { principal, iat: payload.iat as number });
    }
    return principal;
  }

  private async checkRevocation(principal: Principal, iat: number): Promise<void> {
    if (await this.options.revocations.isRevoked({ ...principal, iat })) {
      throw refused('token_revoked', 'the access token has been revoked');
    }
  }

  private async keyFor(header: JWTHeaderParameters) {
    if (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > 200) {
      throw refused('invalid_token', 'the access token names no key (kid)');
    }
    const found = await this.options.keys.key(header.kid);
    if (!found) throw refused('invalid_token', 'the access token was signed by a key auth does not publish');
    if (found.alg !== header.alg) throw refused('invalid_token', 'the access token algorithm does not match its key');
    return found.key;
  }
}

function refused(reason: string, message: string, cause?: unknown): RefusalError {
  return new RefusalError('unauthorized', reason, message, cause === undefined ? {} : { cause });
}

function describeFailure(error: unknown): WalletError {
  if (error instanceof WalletError) return error;
  if (error instanceof errors.JWTExpired) return refused('token_expired', 'the access token has expired', error);
  if (error instanceof errors.JWTClaimValidationFailed) {
    const claim = error.claim;
    const what = claim === 'aud' ? 'audience' : claim === 'iss' ? 'issuer' : claim === 'typ' ? 'type' : `"${claim}" claim`;
    return refused('invalid_token', `the access token ${what} is not accepted`, error);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return refused('invalid_token', 'the access token algorithm is not accepted', error);
  if (error instanceof errors.JWSSignatureVerificationFailed) return refused('invalid_token', 'the access token signature is invalid', error);
  if (error instanceof errors.JOSEError) return refused('invalid_token', 'the access token is malformed', error);
  return refused('invalid_token', 'the access token could not be verified', error);
}
