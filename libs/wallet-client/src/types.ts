import type { ClientMessageOf, ServerMessageOf, SignItem } from '@wallet/engine-protocol';
import type { AuthorizationResult } from './redirect';
import type { KeyValueStorage, WebStorageLike } from './storage';
import type { EngineTransport, WebSocketConstructorLike } from './transport';

/** The engine's handshake answer: session, capabilities, limits and this user's open flows. */
export type HandshakeOk = ServerMessageOf<'handshake_ok'>;
/** A flow's successful end: the credentials, the issuer, and maybe a refresh grant. */
export type FlowResult = ServerMessageOf<'flow_complete'>;
/** A step of a flow is done. */
export type FlowProgress = ServerMessageOf<'flow_progress'>;
/** Where a flow stands, as the engine answers `flow_resume`. */
export type FlowStatusMessage = ServerMessageOf<'flow_status'>;
/** The engine asks for signatures. */
export type SignRequest = ServerMessageOf<'sign_request'>;
/** The offer lists several credentials; one is to be chosen. */
export type SelectionRequest = ServerMessageOf<'selection_request'>;
/** Who issues what, with the engine's trust decision. */
export type ConsentRequest = ServerMessageOf<'consent_request'>;
/** A transaction code the user received out of band is needed. */
export type TxCodeRequest = ServerMessageOf<'tx_code_request'>;
/** Open `url` in the browser; the authorization server redirects to `redirect_uri`. */
export type AuthorizationRequestMessage = ServerMessageOf<'authorization_request'>;
/** The answer to `notification`. */
export type NotificationResult = ServerMessageOf<'notification_result'>;
/** What became of a credential, for the issuer's notification endpoint. */
export type NotificationEvent = ClientMessageOf<'notification'>['event'];
export type { SignItem };

/** The refresh grant a `flow_complete` handed out (extra members such as `dpop_jkt` are ignored). */
export interface RefreshGrant {
  credential_issuer: string;
  credential_configuration_id: string;
  refresh_token: string;
  /** The DPoP key the refresh token is bound to; the keyring must hold it. */
  dpop_jkt?: string | undefined;
}

/**
 * The wallet's side of a flow: what the engine's questions are answered
 * with. A handler that throws makes the client answer `failed` (throw a
 * `ClientFailureError` to say `declined` or `unsupported`); it never becomes
 * an unhandled rejection. Each handler runs once per question, even when the
 * engine asks again after a reconnect.
 */
export interface WalletHandlers {
  /** Signs one item; returns the compact JWS. `createKeyring().sign` implements the rules. */
  sign(item: SignItem, context: { flowId: string }): Promise<string>;
  /** Returns the `credential_configuration_id` to receive. Default: the first option. */
  chooseCredential?(request: SelectionRequest): Promise<string>;
  /** Returns the transaction code the user typed. Without it the client answers `unsupported`. */
  askTxCode?(request: TxCodeRequest): Promise<string>;
  /**
   * Opens `request.url`. Resolve with what came back on the redirect URI
   * (popup, in-app browser), or with nothing when this page navigates away:
   * then call `resumeAfterRedirect` on the page the redirect lands on.
   */
  openAuthorizationUrl?(request: AuthorizationRequestMessage): Promise<AuthorizationResult | void>;
  /** Whether the user agrees. Default: yes when the engine's trust evaluator trusts the issuer. */
  consent?(request: ConsentRequest): Promise<boolean>;
  /** A flow step is done (for a progress display). */
  onProgress?(message: FlowProgress): void;
  /** The engine says where a resumed flow stands (e.g. `deferred`: the credential comes later). */
  onFlowStatus?(message: FlowStatusMessage): void;
}

/** Reconnect policy after an unexpected close. */
export interface ReconnectOptions {
  /** Connection attempts before giving up (default 8). */
  attempts?: number;
  /** First backoff delay; doubled per failed attempt, with jitter (default 250 ms). */
  baseDelayMs?: number;
  /** Cap of the backoff delay (default 5000 ms). */
  maxDelayMs?: number;
}

/** Options of `new EngineClient(...)`. */
export interface EngineClientOptions {
  /** `ws(s)://host/api/v2/wallet`. Either this or `transport`. */
  url?: string;
  /** Opens a channel to the engine without a socket (e.g. an in-process engine); replaces `url`. */
  transport?: () => EngineTransport;
  /** The WebSocket class for `url`; default `globalThis.WebSocket` (in Node 20, pass `WebSocket` from `ws`). */
  WebSocket?: WebSocketConstructorLike;
  /**
   * An access token from the auth service, asked for on every (re)connect.
   * `refresh` is true when the engine refused the previous one: bypass any cache.
   */
  getToken: (context: { refresh: boolean }) => Promise<string> | string;
  handlers: WalletHandlers;
  reconnect?: ReconnectOptions;
  /** How long to wait for the engine's answer to a request (handshake, `flow_started`, ...); default 15000 ms. */
  timeoutMs?: number;
  /** Interval of `ping` keep-alives, which also detect a dead connection; default 30000 ms, 0 turns them off. */
  pingIntervalMs?: number;
  /**
   * Where `state` → flow is kept between the authorization redirect and
   * `resumeAfterRedirect`: `sessionStorage` in a browser. Default: in memory.
   */
  storage?: KeyValueStorage | WebStorageLike;
  /** Sent in the handshake, for the engine's logs. */
  clientInfo?: { name?: string; version?: string };
  /** Events for diagnostics. Never given tokens or credentials. */
  logger?: (event: string, detail?: Record<string, unknown>) => void;
}

/** Options of a flow the client starts or attaches to. */
export interface FlowOptions {
  /**
   * Send `flow_ack` as soon as the result is handed over, so the engine
   * forgets the flow (default true). With `false`, call `client.ack(flowId)`
   * once the result is stored: until then the engine keeps it, and a
   * `resume` after a crash gets it again.
   */
  ack?: boolean;
  /** Called with the flow id once the engine has it (to cancel, or to resume later). */
  onStarted?(flowId: string): void;
}

/** Options of `receiveCredential`. */
export interface OfferOptions extends FlowOptions {
  /** The page the authorization server redirects back to (authorization code flow). */
  redirectUri?: string;
  /** Copies to ask for, each bound to its own key. */
  batchSize?: number;
}

/** Options of `reissue`. */
export interface ReissueOptions extends FlowOptions {
  batchSize?: number;
}
