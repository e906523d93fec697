import type { ClientMessageOf, IssuedCredential, IssuerSummary, JsonObject, ServerMessageOf, SignItem, VerifierSummary } from '@wallet/engine-protocol';
import type { CredentialSetMatch, DisclosedClaim, HeldCredential } from '@wallet/presentation-query';
import type { JwtSigner } from './keyring';
import type { AuthorizationResult } from './redirect';
import type { KeyValueStorage, WebStorageLike } from './storage';
import type { EngineTransport, WebSocketConstructorLike } from './transport';

/** The engine's handshake answer: session, capabilities, limits and this user's open flows. */
export type HandshakeOk = ServerMessageOf<'handshake_ok'>;
/** A flow's successful end as the engine sends it, for either protocol. */
export type FlowComplete = ServerMessageOf<'flow_complete'>;
/** An issuance's successful end: the credentials, the issuer, and maybe a refresh grant. */
export type IssuanceResult = FlowComplete & { protocol: 'oid4vci'; issuer: IssuerSummary; credentials: IssuedCredential[] };
/**
 * An issuance's successful end.
 * @deprecated Use {@link IssuanceResult}; kept so code written before presentations compiles.
 */
export type FlowResult = IssuanceResult;
/** A presentation's successful end: the verifier accepted the response. */
export interface PresentationResult {
  flow_id: string;
  /** Who received the presentation (as the consent screen showed it). */
  verifier: VerifierSummary;
  /** Where the verifier wants the browser to go next, if anywhere (same-device flows). */
  redirect_uri?: string;
}
/** A verifier asks for credentials (OpenID4VP), as the engine forwards it. */
export type PresentationRequest = ServerMessageOf<'presentation_request'>;
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

/** A credential the wallet holds, as it stores it. */
export interface HeldStoredCredential {
  /** The wallet's own id (never sent to the engine or the verifier). */
  id: string;
  /** `dc+sd-jwt`, `vc+sd-jwt` or `jwt_vc_json` can be presented; others are ignored. */
  format: string;
  /** The credential as issued: an SD-JWT (`<jwt>~<disclosure>~...~`) or a JWT VC, compact. */
  credential: string;
}

/** A held credential that can answer a query, and what presenting it discloses. */
export interface PresentationCandidate {
  /** The credential, decoded: its id, format, type and every claim it holds. */
  credential: HeldCredential;
  /** The claims the query asks for that this credential would disclose: concrete paths and values. */
  claims: DisclosedClaim[];
  /**
   * Everything the verifier will see of this credential: the asked claims,
   * what their parents show, and what the issuer made always visible
   * (`iss`, `vct`, dates, `cnf`, ...). For a JWT VC: every claim.
   */
  disclosed: Record<string, unknown>;
  /** The format cannot disclose selectively (JWT VC): {@link disclosed} is the whole credential. */
  disclosesEverything: boolean;
  /** DCQL `claim_sets`: the index of the set disclosed. */
  claimSet?: number;
}

/** One DCQL credential query or PE input descriptor, with the held credentials that can answer it. */
export interface PresentationQuery {
  /** The credential query id (DCQL) or input descriptor id (Presentation Exchange). */
  id: string;
  /** Whether several credentials may answer it (DCQL `multiple`). */
  multiple: boolean;
  /** PE: the descriptor's `name` and `purpose`. */
  name?: string;
  purpose?: string;
  candidates: PresentationCandidate[];
}

/** One transaction data item the user is asked to authorize with the presentation. */
export interface TransactionDataItem {
  /** Decoded (`type`, `credential_ids`, and the type's own members). */
  data: JsonObject;
  /** As the verifier sent it: what the key-binding JWT's hash is over. */
  encoded: string;
  /** The query ids (its `credential_ids`) whose presentations carry its hash; empty when it names none of the request's. */
  appliesTo: string[];
}

/** What `consentToPresentation` shows the user. */
export interface PresentationConsentRequest {
  flowId: string;
  /** Who asks, and the engine's trust decision on it. */
  verifier: VerifierSummary;
  queryLanguage: 'dcql' | 'presentation_exchange';
  /** Per credential query or input descriptor: the candidates and exactly what each would disclose. */
  queries: PresentationQuery[];
  /** DCQL `credential_sets` with the options this wallet can meet; null when the query has none (then every query must be answered). */
  credentialSets: CredentialSetMatch[] | null;
  /** Whether the wallet holds what the request needs; when false, the only answer is `'decline'`. */
  satisfiable: boolean;
  /** The least the request needs, with the first candidates: a starting point for the user's choice. Null when not satisfiable. */
  suggestion: PresentationChoice | null;
  transactionData: TransactionDataItem[];
  /** The engine's question as received. */
  request: PresentationRequest;
}

/** The user's choice: which held credential answers which query. */
export interface PresentationChoice {
  /**
   * Credential query id (or input descriptor id) → the chosen candidate's
   * credential id (several only where `multiple` allows). Answer every query
   * that must be answered (with credential sets: every query of one option
   * of each required set) and no other.
   */
  credentials: Readonly<Record<string, string | readonly string[]>>;
}

/** What a custom `present` handler answers: the presentations it built, or a refusal. */
export type PresentationReply =
  | { vp_token: Record<string, string[]> }
  | { presentations: string[]; presentation_submission: JsonObject }
  | 'decline';

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
  /**
   * The wallet's credentials a presentation may use (`presentation_request`).
   * They are matched on the client, never shown to the engine. Only the
   * request's verifier sees the claims the user agrees to.
   */
  credentials?(request: PresentationRequest): Promise<HeldStoredCredential[]>;
  /**
   * Asks the user whether to present, and what: shows the verifier (identity and
   * trust), the transaction data, and per query the candidates with exactly
   * the claims each would disclose. Resolve with the chosen candidates or
   * `'decline'`. Without it, every presentation request is declined: nothing
   * is ever presented without consent.
   */
  consentToPresentation?(request: PresentationConsentRequest): Promise<PresentationChoice | 'decline'>;
  /** Signs key-binding and VP JWTs with the holder key a credential names (`keyring.signWith`). Needed to present. */
  signWith?: JwtSigner;
  /**
   * Replaces the built-in presentation path (matching, consent, building)
   * for wallets that do it themselves: answer with the presentations or `'decline'`.
   */
  present?(request: PresentationRequest): Promise<PresentationReply>;
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

/** Options of `present`. */
export type PresentOptions = FlowOptions;

/** Options of `reissue`. */
export interface ReissueOptions extends FlowOptions {
  batchSize?: number;
}
