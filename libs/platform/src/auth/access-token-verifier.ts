import { RefusalError, type RefusalReason } from '@wallet/domain';
import { decodeCompactJws, JwsError, verifyDecodedJws, verifyDecodedJwsAsync, type DecodedJws } from '@wallet/crypto';
import { ACCESS_TOKEN_ALGS, type AccessTokenKeys, type VerificationKey } from './access-token-keys';
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
   * the revocation lookups, which run on every use. When it is full, the
   * oldest eighth is forgotten.
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

  /**
   * Verifies a token. `signatureCheck: 'thread-pool'` runs the signature
   * check on libuv's thread pool instead of the event loop: for callers whose
   * event loop has other work queued (the engine's handshakes), at the cost of
   * a thread hop; the HTTP guard checks inline, which costs less CPU per token.
   */
  async verify(token: string, options: { signatureCheck?: 'inline' | 'thread-pool' } = {}): Promise<Principal> {
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
    // Decoded once: the header picks the key, then the same value is verified.
    let jws: DecodedJws;
    try {
      jws = decodeCompactJws(token);
    } catch (error) {
      throw refused('invalid_token', 'the access token is malformed', error);
    }
    const header = jws.header;
    const alg = header['alg'];
    if (typeof alg !== 'string' || !(ACCESS_TOKEN_ALGS as readonly string[]).includes(alg)) {
      throw refused('invalid_token', 'the access token algorithm is not accepted');
    }
    if (header['crit'] !== undefined) throw refused('invalid_token', 'the access token has critical header parameters');
    if (normalizeTyp(header['typ']) !== ACCESS_TOKEN_TYPE) throw refused('invalid_token', 'the access token type is not accepted');
    const key = await this.keyFor(header['kid'], alg);
    try {
      if (options.signatureCheck === 'thread-pool') await verifyDecodedJwsAsync(jws, key.key, [alg]);
      else verifyDecodedJws(jws, key.key, [alg]);
    } catch (error) {
      if (error instanceof JwsError && error.code === 'invalid_signature') throw refused('invalid_token', 'the access token signature is invalid');
      throw refused('invalid_token', 'the access token is malformed', error);
    }
    const payload = jws.payload;
    const nowSec = this.now() / 1000;
    const tolerance = this.options.clockToleranceSec ?? 5;
    const { exp, iat, nbf, aud } = payload;
    if (typeof exp !== 'number' || typeof iat !== 'number' || !Number.isFinite(exp) || !Number.isFinite(iat)) {
      throw refused('invalid_token', 'the access token lacks its times (exp, iat)');
    }
    if (exp <= nowSec - tolerance) throw refused('token_expired', 'the access token has expired');
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf > nowSec + tolerance)) throw refused('invalid_token', 'the access token is not valid yet');
    if (payload['iss'] !== this.options.issuer) throw refused('invalid_token', 'the access token issuer is not accepted');
    if (!(aud === this.options.audience || (Array.isArray(aud) && aud.includes(this.options.audience)))) {
      throw refused('invalid_token', 'the access token audience is not accepted');
    }
    if (typeof payload['sub'] !== 'string' || typeof payload['jti'] !== 'string' || !payload['sub'] || !payload['jti']) {
      throw refused('invalid_token', 'the access token lacks its tenant, subject or id');
    }
    const tenant = payload['tenant'];
    const scope = payload['scope'];
    const sid = payload['sid'];
    if (typeof tenant !== 'string' || !tenant) throw refused('invalid_token', 'the access token lacks its tenant, subject or id');
    if (scope !== undefined && typeof scope !== 'string') throw refused('invalid_token', 'the access token scope is malformed');
    if (sid !== undefined && typeof sid !== 'string') throw refused('invalid_token', 'the access token session is malformed');
    const principal: Principal = {
      tenantId: tenant,
      userId: payload['sub'],
      jti: payload['jti'],
      expiresAt: exp,
      ...(scope !== undefined ? { scope } : {}),
      ...(sid !== undefined ? { sid } : {}),
    };
    await this.checkRevocation(principal, iat);
    if (this.cacheSize > 0) {
      if (this.verified.size >= this.cacheSize) this.evictOldest();
      this.verified.set(token, { principal, iat });
    }
    return { ...principal };
  }

  /**
   * Oldest first out (a Map keeps insertion order), an eighth of the cache
   * at a time. One at a time cost ~5 µs of CPU per new token once the cache
   * was full: V8 leaves a deleted entry as a hole at the front of the Map's
   * table until it rehashes, and every `keys().next()` skipped all of them.
   */
  private evictOldest(): void {
    let drop = Math.max(1, this.cacheSize >> 3);
    for (const token of this.verified.keys()) {
      this.verified.delete(token);
      if (--drop === 0) break;
    }
  }

  private async checkRevocation(principal: Principal, iat: number): Promise<void> {
    if (await this.options.revocations.isRevoked({ ...principal, iat })) {
      throw refused('token_revoked', 'the access token has been revoked');
    }
  }

  private async keyFor(kid: unknown, alg: string): Promise<VerificationKey> {
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > 200) {
      throw refused('invalid_token', 'the access token names no key (kid)');
    }
    const found = await this.options.keys.key(kid);
    if (!found) throw refused('invalid_token', 'the access token was signed by a key auth does not publish');
    // The key decides the algorithm: a token cannot pick another one for it (algorithm confusion).
    if (found.alg !== alg) throw refused('invalid_token', 'the access token algorithm does not match its key');
    return found;
  }
}

/** `at+jwt` and `application/at+jwt` are the same media type (RFC 9068 §2.1, RFC 7515 §4.1.9). */
function normalizeTyp(typ: unknown): string | null {
  if (typeof typ !== 'string') return null;
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

function refused(reason: Extract<RefusalReason, 'invalid_token' | 'token_expired' | 'token_revoked'>, message: string, cause?: unknown): RefusalError {
  return new RefusalError('unauthorized', reason, message, cause === undefined ? {} : { cause });
}
