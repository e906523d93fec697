import WebAuthnEmulator, {
  AuthenticatorEmulator,
  PasskeysCredentialsMemoryRepository,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from 'nid-webauthn-emulator';

/** One HTTP answer, body parsed when it is JSON. */
export interface HttpAnswer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export interface AuthSession {
  uuid: string;
  appToken: string;
  refreshToken: string;
  tenant: string;
  privateDataEtag: string | null;
  privateData: { $b64u: string } | null;
  [key: string]: unknown;
}

export interface PasskeyClientOptions {
  /** The auth service (or a server that serves it). */
  baseUrl: string;
  /** The origin the authenticator reports (must be in `auth.origins`). Default http://localhost:8080. */
  origin?: string;
  /** Sent as `X-Tenant-ID` when set. */
  tenant?: string;
  /** A software authenticator; default a fresh nid-webauthn-emulator with an in-memory credential store. */
  authenticator?: WebAuthnEmulator;
}

/** A fresh software authenticator (nid-webauthn-emulator) with its own credential store. */
export function newAuthenticator(options: { algorithms?: Array<'ES256' | 'EdDSA' | 'RS256'> } = {}): WebAuthnEmulator {
  return new WebAuthnEmulator(
    new AuthenticatorEmulator({
      credentialsRepository: new PasskeysCredentialsMemoryRepository(),
      ...(options.algorithms ? { algorithmIdentifiers: options.algorithms } : {}),
    }),
  );
}

/**
 * Drives the auth service over HTTP as a wallet front end would, with a real
 * software authenticator producing attestations and assertions. For e2e tests
 * of auth and of every service that needs a logged-in user.
 */
export class PasskeyTestClient {
  readonly origin: string;
  authenticator: WebAuthnEmulator;

  constructor(private readonly options: PasskeyClientOptions) {
    this.origin = options.origin ?? 'http://localhost:8080';
    this.authenticator = options.authenticator ?? newAuthenticator();
  }

  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    init: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<HttpAnswer<T>> {
    const headers: Record<string, string> = { ...(this.options.tenant ? { 'x-tenant-id': this.options.tenant } : {}), ...init.headers };
    if (init.token) headers['authorization'] = `Bearer ${init.token}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.options.baseUrl}${path}`, {
      method,
      headers,
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: body as T };
  }

  /** Begins registration; returns the challenge id and the authenticator's attestation (not yet sent). */
  async attest(path = '/user/register-webauthn-begin', token?: string, origin = this.origin) {
    const begin = await this.call<{ challengeId: string; createOptions: { publicKey: PublicKeyCredentialCreationOptionsJSON } }>('POST', path, {
      body: {},
      ...(token ? { token } : {}),
    });
    if (begin.status !== 200) throw new Error(`registration begin answered ${begin.status}: ${JSON.stringify(begin.body)}`);
    const credential = this.authenticator.createJSON(origin, begin.body.createOptions.publicKey);
    return { challengeId: begin.body.challengeId, credential: credential as unknown as Record<string, unknown> };
  }

  /** Begins login; returns the challenge id and the authenticator's assertion (not yet sent). */
  async assert(origin = this.origin) {
    const begin = await this.call<{ challengeId: string; getOptions: { publicKey: PublicKeyCredentialRequestOptionsJSON } }>('POST', '/user/login-webauthn-begin', {
      body: {},
    });
    if (begin.status !== 200) throw new Error(`login begin answered ${begin.status}: ${JSON.stringify(begin.body)}`);
    const credential = this.authenticator.getJSON(origin, begin.body.getOptions.publicKey);
    return { challengeId: begin.body.challengeId, credential: credential as unknown as Record<string, unknown> };
  }

  async register(extra: { displayName?: string; privateData?: unknown; inviteCode?: string } = {}): Promise<HttpAnswer<AuthSession>> {
    const { challengeId, credential } = await this.attest();
    return this.call<AuthSession>('POST', '/user/register-webauthn-finish', {
      body: { challengeId, credential, displayName: extra.displayName ?? 'Test User', ...extra },
    });
  }

  async login(): Promise<HttpAnswer<AuthSession>> {
    const { challengeId, credential } = await this.assert();
    return this.call<AuthSession>('POST', '/user/login-webauthn-finish', { body: { challengeId, credential } });
  }

  /** Registers and returns the session, throwing unless it worked. */
  async registered(extra: { displayName?: string; privateData?: unknown; inviteCode?: string } = {}): Promise<AuthSession> {
    const answer = await this.register(extra);
    if (answer.status !== 200) throw new Error(`registration answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.body;
  }
}

/** `{"$b64u": ...}` of a UTF-8 string: a stand-in for a client-encrypted keystore blob. */
export const blob = (text: string): { $b64u: string } => ({ $b64u: Buffer.from(text, 'utf8').toString('base64url') });
