import { z } from 'zod';
import { zEngineErrorCode, zFlowErrorCode } from './codes';
import {
  zDisplay,
  zFlowId,
  zFlowProtocol,
  zFlowStatus,
  zIssuerSummary,
  zJsonObject,
  zMessageId,
  zOfferedCredential,
  zVerifierSummary,
} from './common';

/**
 * Messages from the engine to the client; {@link zServerMessage} is their
 * union. Questions (`*_request`) carry `flow_id` and a `message_id` the reply
 * must echo, and `expires_at`, after which the flow fails with `timeout`.
 */

const message = <T extends string, S extends z.ZodRawShape>(type: T, description: string, shape: S) =>
  z.strictObject({ type: z.literal(type), ...shape }).meta({ id: type, description });

const zTimestamp = z.iso.datetime().meta({ description: 'RFC 3339 time, UTC.' });

export const zCapabilities = z
  .object({
    protocols: z.array(z.enum(['oid4vci', 'oid4vp'])),
    oid4vp: z
      .object({
      versions: z.array(z.string()),
      client_id_prefixes: z.array(z.string()),
      request_uri_methods: z.array(z.enum(['get', 'post'])),
      response_modes: z.array(z.string()),
      query_languages: z.array(z.enum(['dcql', 'presentation_exchange'])),
      formats: z.array(z.string()),
      })
      .optional()
      .meta({ description: 'Present when `protocols` lists oid4vp.' }),
    oid4vci: z.object({
      versions: z.array(z.string()),
      grants: z.array(z.enum(['urn:ietf:params:oauth:grant-type:pre-authorized_code', 'authorization_code', 'refresh_token'])),
      features: z.array(z.string()),
      formats: z.array(z.string()),
      proof_types: z.array(z.string()),
    }),
    resume: z.boolean().meta({ description: 'Flows survive a reconnect to any replica (`flow_resume`).' }),
  })
  .meta({ id: 'capabilities', description: 'What this deployment supports.' });
export type Capabilities = z.infer<typeof zCapabilities>;

export const zConnectionLimits = z
  .object({
    max_frame_bytes: z.number().int(),
    messages_per_second: z.number().int(),
    flow_starts_per_minute: z.number().int(),
    max_concurrent_flows: z.number().int(),
  })
  .meta({ id: 'limits', description: 'The limits this connection runs under.' });
export type ConnectionLimits = z.infer<typeof zConnectionLimits>;

export const zFlowSummary = z.object({
  flow_id: zFlowId,
  protocol: zFlowProtocol,
  status: zFlowStatus,
  updated_at: zTimestamp,
});
export type FlowSummary = z.infer<typeof zFlowSummary>;

export const zHandshakeOk = message('handshake_ok', 'The handshake succeeded; anything else may be sent now.', {
  message_id: zMessageId.optional(),
  protocol_version: z.string(),
  session: z.object({ tenant_id: z.string(), user_id: z.string(), expires_at: zTimestamp }),
  capabilities: zCapabilities,
  limits: zConnectionLimits,
  flows: z.array(zFlowSummary).meta({ description: 'This user\'s flows the engine still holds: resume them with `flow_resume`.' }),
});

export const zPong = message('pong', 'Answers `ping`.', { message_id: zMessageId.optional() });

export const zError = message('error', 'A frame could not be handled. The connection stays open unless a close follows.', {
  message_id: zMessageId.optional(),
  flow_id: zFlowId.optional(),
  code: zEngineErrorCode,
  message: z.string(),
  path: z.string().optional().meta({ description: 'Where in the frame the problem is (`/params/offer`).' }),
});

export const zFlowStarted = message('flow_started', 'Answers `flow_start`: the flow exists and runs.', {
  message_id: zMessageId,
  flow_id: zFlowId,
  protocol: zFlowProtocol,
});

export const zFlowStatusMessage = message('flow_status', 'Answers `flow_resume`: where the flow stands. What it waits for, or its result, follows.', {
  message_id: zMessageId.optional(),
  flow_id: zFlowId,
  protocol: zFlowProtocol,
  status: zFlowStatus,
});

export const FLOW_STEPS = [
  'offer_resolved',
  'metadata_resolved',
  'trust_evaluated',
  'authorized',
  'token_obtained',
  'credential_requested',
  'credential_verified',
  'deferred',
  'deferred_polled',
  'request_resolved',
  'verifier_evaluated',
  'presentation_checked',
  'response_sent',
] as const;

export const zFlowProgress = message('flow_progress', 'A step of the flow is done (for progress displays).', {
  flow_id: zFlowId,
  step: z.enum(FLOW_STEPS),
  detail: zJsonObject.optional(),
});

const question = <T extends string, S extends z.ZodRawShape>(type: T, description: string, shape: S) =>
  message(type, description, { flow_id: zFlowId, message_id: zMessageId, expires_at: zTimestamp, ...shape });

/** One JWT for the client to sign. */
export const zSignItem = z
  .object({
    id: z.string().meta({ description: 'Echoed in the answer.' }),
    purpose: z.enum(['proof', 'dpop']).meta({
      description:
        '`proof`: an OpenID4VCI key proof, each item of a request with its own holder key (the credential will be bound to it); `dpop`: a DPoP proof (RFC 9449) with the flow\'s DPoP key.',
    }),
    header: zJsonObject.meta({ description: 'Header members to sign as given; the client adds `alg` (one of `algs`) and `jwk` (its public key).' }),
    payload: zJsonObject.meta({ description: 'The payload to sign exactly as given.' }),
    algs: z.array(z.string()).meta({ description: 'Signature algorithms the receiving server accepts.' }),
    jkt: z.string().optional().meta({ description: 'For `dpop`: the RFC 7638 thumbprint of the key that must sign (the flow\'s DPoP key, once known).' }),
  })
  .meta({ id: 'sign_item' });
export type SignItem = z.infer<typeof zSignItem>;

export const zSignRequest = question('sign_request', 'Asks the client to sign JWTs with keys only it holds. Answer: `sign_response`.', {
  items: z.array(zSignItem),
});

export const zSelectionRequest = question(
  'selection_request',
  'The offer lists several credentials: which one should be issued? Answer: `selection_response` with one of the listed ids.',
  { issuer: zIssuerSummary, options: z.array(zOfferedCredential) },
);

export const zConsentRequest = question(
  'consent_request',
  'Shows who issues what, with the engine\'s trust decision, before anything is requested. Answer: `consent_response`.',
  { issuer: zIssuerSummary, credentials: z.array(zOfferedCredential) },
);

export const zTxCodeRequest = question(
  'tx_code_request',
  'The pre-authorized code needs a transaction code the user received out of band. Answer: `tx_code_response`.',
  {
    tx_code: z.object({
      input_mode: z.enum(['numeric', 'text']),
      length: z.number().int().optional(),
      description: z.string().optional(),
    }),
  },
);

export const zPresentationRequest = question(
  'presentation_request',
  'A verifier asks for credentials. The client matches them against its own credentials locally (the engine never sees the others), asks the user (who asks, the trust decision, the exact claims), builds the presentations and answers `presentation_response`, or declines.',
  {
    verifier: zVerifierSummary,
    query: z
      .object({
        dcql_query: zJsonObject.optional().meta({ description: 'A DCQL query (OpenID4VP 1.0), validated by the engine.' }),
        presentation_definition: zJsonObject.optional().meta({ description: 'A Presentation Exchange definition (drafts), validated by the engine.' }),
      })
      .meta({ description: 'Exactly one of the two.' }),
    nonce: z.string().meta({ description: 'The key-binding JWT\'s `nonce`.' }),
    audience: z.string().meta({ description: 'The key-binding JWT\'s `aud` (the client id, prefix included).' }),
    transaction_data: z
      .array(zJsonObject)
      .optional()
      .meta({ description: 'Transaction data to show the user, decoded; its hashes (`transaction_data_hashes`, sha-256) go into the key-binding JWT.' }),
    transaction_data_encoded: z.array(z.string()).optional().meta({ description: 'The same, as the verifier sent it (base64url): what the hashes are over.' }),
  },
);

export const zAuthorizationRequest = question(
  'authorization_request',
  'Open `url` in the browser; the authorization server redirects to `redirect_uri`. Answer: `authorization_response` (from any connection).',
  {
    url: z.string(),
    redirect_uri: z.string(),
    state: z.string().meta({ description: 'The `state` the redirect will carry back (also inside `url`, unless the request was pushed).' }),
  },
);

/** What the engine checked on a credential before handing it over. */
export const zCredentialChecks = z
  .object({
    verified: z.boolean().meta({ description: 'Every check below passed (false only for formats passed through unverified).' }),
    issuer_key: z.enum(['x5c', 'jwt-vc-issuer', 'did', 'none']),
    holder_binding: z.boolean().meta({ description: 'Bound to a key of the client that signed a proof in this flow.' }),
    status: z.enum(['valid', 'absent', 'unchecked']),
    note: z.string().optional(),
  })
  .meta({ id: 'credential_checks' });

export const zIssuedCredential = z
  .object({
    credential_configuration_id: z.string(),
    format: z.string(),
    credential: z.union([z.string(), zJsonObject]),
    vct: z.string().optional(),
    doctype: z.string().optional(),
    notification_id: z.string().optional(),
    display: z.array(zDisplay),
    type_metadata: zJsonObject.nullable().meta({ description: 'SD-JWT VC type metadata from the registry, images embedded; null when none.' }),
    checks: zCredentialChecks,
  })
  .meta({ id: 'issued_credential' });
export type IssuedCredential = z.infer<typeof zIssuedCredential>;

export const zFlowComplete = message('flow_complete', 'The flow succeeded. Send `flow_ack` once stored (and `notification` to tell the issuer).', {
  flow_id: zFlowId,
  protocol: zFlowProtocol,
  issuer: zIssuerSummary.optional().meta({ description: 'oid4vci: who issued.' }),
  credentials: z.array(zIssuedCredential).optional().meta({ description: 'oid4vci: the credentials, checked.' }),
  verifier: zVerifierSummary.optional().meta({ description: 'oid4vp: who received the presentation.' }),
  redirect_uri: z.string().optional().meta({ description: 'oid4vp: where the verifier wants the browser to go next, if anywhere.' }),
  refresh: z
    .object({
      credential_issuer: z.string(),
      credential_configuration_id: z.string(),
      refresh_token: z.string(),
      dpop_jkt: z.string().optional().meta({ description: 'The DPoP key the refresh token is bound to: re-issue with the same key.' }),
    })
    .optional()
    .meta({ description: 'For `flow_start` with `reissue` later; a secret: store it encrypted.' }),
});

export const zFlowError = message('flow_error', 'The flow ended without success.', {
  flow_id: zFlowId,
  message_id: zMessageId.optional(),
  code: zFlowErrorCode,
  message: z.string(),
});

export const zNotificationResult = message('notification_result', 'Answers `notification`.', {
  message_id: zMessageId.optional(),
  flow_id: zFlowId,
  notification_id: z.string(),
  status: z.enum(['sent', 'not_supported', 'failed']),
  message: z.string().optional(),
});

/** Every message the engine may send. */
export const zServerMessage = z.discriminatedUnion('type', [
  zHandshakeOk,
  zPong,
  zError,
  zFlowStarted,
  zFlowStatusMessage,
  zFlowProgress,
  zSignRequest,
  zSelectionRequest,
  zConsentRequest,
  zTxCodeRequest,
  zAuthorizationRequest,
  zPresentationRequest,
  zFlowComplete,
  zFlowError,
  zNotificationResult,
]);
export type ServerMessage = z.infer<typeof zServerMessage>;
export type ServerMessageType = ServerMessage['type'];
export type ServerMessageOf<T extends ServerMessageType> = Extract<ServerMessage, { type: T }>;

/** The questions, and the reply type each expects. */
export const QUESTION_REPLIES = {
  sign_request: 'sign_response',
  selection_request: 'selection_response',
  consent_request: 'consent_response',
  tx_code_request: 'tx_code_response',
  authorization_request: 'authorization_response',
  presentation_request: 'presentation_response',
} as const;
export type QuestionType = keyof typeof QUESTION_REPLIES;
export type QuestionMessage = ServerMessageOf<QuestionType>;
