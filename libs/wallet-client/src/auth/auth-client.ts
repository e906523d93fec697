import { z } from 'zod';
import { base64urlDecode, base64urlEncode } from '../base64url';
import { problemOf, resolveFetch, send, trimBaseUrl, unquoteEtag, type FetchLike, type HttpAnswer, type Problem } from './http';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, WebAuthnPort } from './webauthn';

/**
 * Codes an {@link AuthError} carries: the auth service's problem `code`s a
 * front end acts on, and the client's own. Any other service code comes
 * through as it is.
 */
export type AuthErrorCode =
  /** No session: register, log in or `restore` first. */
  | 'not_logged_in'
  /** The WebAuthn port rejected (the user cancelled, no authenticator, wrong origin). */
  | 'webauthn_failed'
  /** The request did not reach the service (offline, DNS, CORS). */
  | 'network_error'
  /** The service answered 2xx with a body this client does not understand. */
  | 'invalid_response'
  /** Refresh token unknown, expired, revoked or reused: the session is over (log in again). */
  | 'invalid_grant'
  /** The keystore changed since the tag sent (`currentEtag` has the current one). */
  | 'etag_mismatch'
  /** A keystore exists and no tag was sent. */
  | 'precondition_required'
  /** The passkey is not registered with this tenant. */
  | 'passkey_unknown'
  /** The passkey is already registered. */
  | 'passkey_exists'
  /** The challenge expired or was used. */
  | 'challenge_invalid'
  /** The service refused the attestation or assertion. */
  | 'webauthn_invalid'
  /** The authenticator's signature counter went backwards (a cloned authenticator?). */
  | 'counter_regression'
  /** The tenant requires an invite code, or the one sent is not valid. */
  | 'invite_required'
  | 'invite_invalid'
  | 'account_suspended'
  /** The access token is missing, invalid or revoked (retried once with a refreshed one before it is reported). */
  | 'token_required'
  | 'invalid_token'
  | 'token_revoked'
  | 'tenant_mismatch'
  | 'rate_limited'
  | 'validation_failed'
  | (string & Record<never, never>);

/**
 * An auth call failed. `code` is the service's problem `code` (or one of the
 * client's own, see {@link AuthErrorCode}); `status` the HTTP status (0 when
 * no answer came); `problem` the whole problem document.
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    readonly code: AuthErrorCode,
    message: string,
    readonly status: number,
    readonly problem?: Problem,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** On `etag_mismatch` / `precondition_required`: the keystore's current tag (bare). */
  get currentEtag(): string | null {
    const value = this.problem?.['currentEtag'];
    return typeof value === 'string' ? value : null;
  }
}

/** A logged-in session. */
export interface Session {
  /** Bearer token for the wallet services (auth, storage, engine). Short-lived: use {@link AuthClient.accessToken}. */
  accessToken: string;
  /** Rotating: every refresh replaces it, and a replaced one must not be used again (that revokes the session). */
  refreshToken: string;
  /** When `accessToken` expires, ms since the epoch (client clock). */
  expiresAt: number;
  /** The account id (a UUID). */
  userId: string;
  tenant: string;
  displayName: string;
  /** The keystore blob the client encrypted (the service never reads it), or null when none was stored. */
  privateData: Uint8Array | null;
  /** Its tag: send it to {@link AuthClient.putPrivateData} as the version the new blob replaces. */
  privateDataEtag: string | null;
}

/** The keystore blob and its tag. */
export interface PrivateData {
  privateData: Uint8Array | null;
  etag: string | null;
}

/** Options of {@link AuthClient}. */
export interface AuthClientOptions {
  /** Where the auth routes are (`/user/...`, `/auth/...`): the auth service or the all-in-one wallet server. */
  baseUrl: string;
  /** Sent as `X-Tenant-ID`; absent: the deployment's default tenant (or the one the URL names). */
  tenant?: string;
  /** Default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Makes and uses passkeys: {@link browserWebAuthn} in a browser. */
  webauthn: WebAuthnPort;
  /** Refresh this long before the access token expires; default 30 s. */
  refreshMarginMs?: number;
  /**
   * Called with the new session after every login and refresh, and with null
   * when it ends: persist `refreshToken` here if sessions should survive a
   * reload, because each refresh invalidates the previous one.
   */
  onSession?: (session: Session | null) => void;
  /** Clock for expiry, ms since the epoch; default `Date.now`. */
  now?: () => number;
}

const zTokens = z.object({
  appToken: z.string().min(1),
  refreshToken: z.string().min(1),
  expiresIn: z.number().positive(),
});
const zTagged = z.object({ $b64u: z.string() });
const zSessionBody = zTokens.extend({
  uuid: z.string().min(1),
  tenant: z.string().min(1),
  displayName: z.string().default(''),
  privateData: zTagged.nullable().optional(),
  privateDataEtag: z.string().nullable().optional(),
});
const zCreationBegin = z.object({
  challengeId: z.string().min(1),
  createOptions: z.object({ publicKey: z.object({ challenge: z.string() }).loose() }),
});
const zRequestBegin = z.object({
  challengeId: z.string().min(1),
  getOptions: z.object({ publicKey: z.object({ challenge: z.string() }).loose() }),
});
const zAccountInfo = z.object({ uuid: z.string().min(1), tenant: z.string().min(1), displayName: z.string() }).loose();
const zPrivateData = z.object({ privateData: zTagged.nullable() });

/**
 * A wallet front end's client of the auth service: passkey registration and
 * login (WebAuthn through a {@link WebAuthnPort}), rotating refresh tokens,
 * logout, and the client-encrypted keystore blob (`privateData`) with
 * compare-and-set on its ETag. Browsers and Node 20; `fetch` is injectable.
 *
 * One instance is one device's session. `accessToken` can be handed to the
 * other clients as it is: `new EngineClient({ getToken: auth.accessToken })`,
 * `new VaultClient({ accessToken: auth.accessToken })`.
 */
export class AuthClient {
  private readonly baseUrl: string;
  private readonly fetchFn: FetchLike;
  private readonly now: () => number;
  private readonly marginMs: number;
  private current: Session | null = null;
  /** The refresh in flight: a rotating token must never be presented twice, so concurrent callers share one. */
  private refreshing: Promise<Session> | null = null;

  constructor(private readonly options: AuthClientOptions) {
    this.baseUrl = trimBaseUrl(options.baseUrl);
    this.fetchFn = resolveFetch(options.fetch);
    this.now = options.now ?? Date.now;
    this.marginMs = options.refreshMarginMs ?? 30_000;
  }

  /** The current session, or null. */
  get session(): Session | null {
    return this.current;
  }

  /**
   * Creates an account with a new passkey and logs it in. `privateData` is
   * the initial keystore blob (already encrypted by the caller), stored with
   * the account in the same step.
   */
  async register(input: { displayName: string; nickname?: string; privateData?: Uint8Array; inviteCode?: string }): Promise<Session> {
    const begin = parse(zCreationBegin, await this.call('POST', '/user/register-webauthn-begin', { json: {} }), 'registration options');
    const credential = await this.webauthn(() => this.options.webauthn.create(begin.createOptions.publicKey as unknown as PublicKeyCredentialCreationOptionsJSON));
    const answer = await this.call('POST', '/user/register-webauthn-finish', {
      json: {
        challengeId: begin.challengeId,
        credential,
        displayName: input.displayName,
        ...(input.nickname !== undefined ? { nickname: input.nickname } : {}),
        ...(input.privateData !== undefined ? { privateData: { $b64u: base64urlEncode(input.privateData) } } : {}),
        ...(input.inviteCode !== undefined ? { inviteCode: input.inviteCode } : {}),
      },
    });
    return this.start(parse(zSessionBody, answer, 'session'));
  }

  /** Logs in with a discoverable passkey; the session carries the keystore blob. */
  async login(): Promise<Session> {
    const begin = parse(zRequestBegin, await this.call('POST', '/user/login-webauthn-begin', { json: {} }), 'login options');
    const credential = await this.webauthn(() => this.options.webauthn.get(begin.getOptions.publicKey as unknown as PublicKeyCredentialRequestOptionsJSON));
    const answer = await this.call('POST', '/user/login-webauthn-finish', { json: { challengeId: begin.challengeId, credential } });
    return this.start(parse(zSessionBody, answer, 'session'));
  }

  /**
   * Resumes a session from a refresh token kept across a reload (see
   * `onSession`): rotates it, then reads the account and the keystore blob.
   * The session is set as soon as the rotation succeeded, since the old
   * refresh token is spent by then; a failure after that leaves it in place.
   */
  async restore(refreshToken: string): Promise<Session> {
    const tokens = await this.rotate(refreshToken);
    const claims = accessTokenClaims(tokens.accessToken);
    this.set({ ...tokens, userId: claims.sub, tenant: claims.tenant, displayName: '', privateData: null, privateDataEtag: null });
    const info = parse(zAccountInfo, await this.authed('GET', '/user/session/account-info'), 'account info');
    await this.getPrivateData();
    return this.set({ ...this.require(), userId: info.uuid, tenant: info.tenant, displayName: info.displayName });
  }

  /**
   * Trades the refresh token for a new access token and a new refresh token.
   * Concurrent calls share one request. When the service refuses the token
   * (`invalid_grant`), the session is over and cleared.
   */
  refresh(): Promise<Session> {
    if (!this.refreshing) {
      const session = this.require();
      const refreshing = this.rotate(session.refreshToken).then((tokens) => {
        // A logout or another login while the request was out wins.
        if (this.current?.refreshToken !== session.refreshToken) throw new AuthError('not_logged_in', 'the session ended during the refresh', 0);
        return this.set({ ...this.current, ...tokens });
      });
      this.refreshing = refreshing;
      const clear = () => {
        if (this.refreshing === refreshing) this.refreshing = null;
      };
      refreshing.then(clear, clear);
    }
    return this.refreshing;
  }

  /**
   * A valid access token, refreshed first when it expires within the margin
   * (or when `refresh` is true: the token was refused). Its signature is the
   * engine client's `getToken` and the vault client's `accessToken`, so it
   * can be passed as it is; it is bound to this client.
   */
  readonly accessToken = async (context: { refresh?: boolean } = {}): Promise<string> => {
    const session = this.require();
    if (context.refresh || this.now() >= session.expiresAt - this.marginMs) return (await this.refresh()).accessToken;
    return session.accessToken;
  };

  /**
   * Ends the session: the service revokes the access token and every refresh
   * token of the session. The local session is cleared even when the call
   * fails; a refusal other than 401 (already ended) is rethrown.
   */
  async logout(): Promise<void> {
    if (!this.current) return;
    try {
      await this.authed('POST', '/auth/logout');
    } catch (error) {
      if (!(error instanceof AuthError && (error.status === 401 || error.code === 'not_logged_in'))) {
        this.set(null);
        throw error;
      }
    }
    this.set(null);
  }

  /** Reads the keystore blob and its tag (and updates the session's copy). */
  async getPrivateData(): Promise<PrivateData> {
    const answer = await this.authed('GET', '/user/session/private-data');
    const body = parse(zPrivateData, answer, 'private data');
    const result: PrivateData = {
      privateData: body.privateData ? decodeBlob(body.privateData.$b64u) : null,
      etag: etagOf(answer) ?? null,
    };
    if (this.current) this.set({ ...this.current, privateData: result.privateData, privateDataEtag: result.etag });
    return result;
  }

  /**
   * Replaces the keystore blob if `etag` is still its current tag (null: no
   * blob stored yet). Resolves with the new tag. Rejects with
   * `AuthError('etag_mismatch')` and `currentEtag` when another device wrote
   * first: read it again, merge, retry. Writing the same bytes again succeeds.
   */
  async putPrivateData(blob: Uint8Array, etag: string | null): Promise<string> {
    if (!(blob instanceof Uint8Array)) throw new TypeError('the keystore blob is bytes (Uint8Array)');
    const answer = await this.authed('POST', '/user/session/private-data', {
      json: { $b64u: base64urlEncode(blob) },
      headers: etag === null ? {} : { 'if-match': `"${etag}"` },
    });
    const next = etagOf(answer);
    if (!next) throw new AuthError('invalid_response', 'the keystore write answered without a tag', answer.status);
    if (this.current) this.set({ ...this.current, privateData: new Uint8Array(blob), privateDataEtag: next });
    return next;
  }

  // ------------------------------------------------------------------ internals

  private require(): Session {
    if (!this.current) throw new AuthError('not_logged_in', 'no session: register, log in or restore first', 0);
    return this.current;
  }

  private set(session: Session): Session;
  private set(session: null): null;
  private set(session: Session | null): Session | null {
    this.current = session;
    this.options.onSession?.(session);
    return session;
  }

  private start(body: z.infer<typeof zSessionBody>): Session {
    return this.set({
      ...this.tokensFrom(body),
      userId: body.uuid,
      tenant: body.tenant,
      displayName: body.displayName,
      privateData: body.privateData ? decodeBlob(body.privateData.$b64u) : null,
      privateDataEtag: body.privateDataEtag ?? null,
    });
  }

  private tokensFrom(body: z.infer<typeof zTokens>): Pick<Session, 'accessToken' | 'refreshToken' | 'expiresAt'> {
    return { accessToken: body.appToken, refreshToken: body.refreshToken, expiresAt: this.now() + body.expiresIn * 1000 };
  }

  private async rotate(refreshToken: string): Promise<Pick<Session, 'accessToken' | 'refreshToken' | 'expiresAt'>> {
    try {
      return this.tokensFrom(parse(zTokens, await this.call('POST', '/auth/token/refresh', { json: { refreshToken } }), 'tokens'));
    } catch (error) {
      // The session cannot come back: forget it, so callers see `not_logged_in` from now on.
      if (error instanceof AuthError && error.code === 'invalid_grant' && this.current?.refreshToken === refreshToken) this.set(null);
      throw error;
    }
  }

  private async webauthn<T>(ceremony: () => Promise<T>): Promise<T> {
    try {
      return await ceremony();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new AuthError('webauthn_failed', `the passkey ceremony failed: ${message}`, 0, undefined, { cause: error });
    }
  }

  /** An authenticated call; a 401 is retried once with a refreshed token (the token was revoked or the clock is off). */
  private async authed(method: string, path: string, init: { json?: unknown; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
    const token = await this.accessToken();
    try {
      return await this.call(method, path, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
    } catch (error) {
      if (!(error instanceof AuthError && error.status === 401)) throw error;
      const fresh = await this.accessToken({ refresh: true });
      return this.call(method, path, { ...init, headers: { ...init.headers, authorization: `Bearer ${fresh}` } });
    }
  }

  /** One request; non-2xx answers reject with an {@link AuthError} carrying the problem. */
  private async call(method: string, path: string, init: { json?: unknown; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
    let answer: HttpAnswer;
    try {
      answer = await send(this.fetchFn, `${this.baseUrl}${path}`, method, {
        ...init,
        headers: { ...(this.options.tenant ? { 'x-tenant-id': this.options.tenant } : {}), ...init.headers },
      });
    } catch (error) {
      throw new AuthError('network_error', `${method} ${path} failed: ${error instanceof Error ? error.message : String(error)}`, 0, undefined, { cause: error });
    }
    if (answer.status >= 200 && answer.status < 300) return answer;
    const problem = problemOf(answer);
    throw new AuthError(problem.code, problem.detail, answer.status, problem);
  }
}

/** The keystore tag of an answer: `X-Private-Data-ETag` (bare), else the `ETag` header unquoted. */
function etagOf(answer: HttpAnswer): string | null {
  return answer.headers.get('x-private-data-etag') ?? unquoteEtag(answer.headers.get('etag'));
}

/** `sub` and `tenant` of an access token (read, not verified: the client only needs to know whose it is). */
function accessTokenClaims(token: string): { sub: string; tenant: string } {
  try {
    const claims = JSON.parse(new TextDecoder().decode(base64urlDecode(token.split('.')[1] ?? ''))) as { sub?: unknown; tenant?: unknown };
    if (typeof claims.sub === 'string' && typeof claims.tenant === 'string') return { sub: claims.sub, tenant: claims.tenant };
  } catch {
    // reported below
  }
  throw new AuthError('invalid_response', 'the access token does not name its user and tenant', 200);
}

function decodeBlob(text: string): Uint8Array {
  try {
    return base64urlDecode(text);
  } catch (error) {
    throw new AuthError('invalid_response', 'the keystore blob is not base64url', 200, undefined, { cause: error });
  }
}

function parse<T>(schema: z.ZodType<T>, answer: HttpAnswer, what: string): T {
  const result = schema.safeParse(answer.body);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new AuthError('invalid_response', `the ${what} answer is malformed at /${issue?.path.join('/') ?? ''}: ${issue?.message ?? ''}`, answer.status);
  }
  return result.data;
}
