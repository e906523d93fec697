import { z } from 'zod';
import { zCompactJws, zFlowId, zFlowProtocol, zJsonObject, zMessageId, zUrl } from './common';

/**
 * Messages from the wallet front end to the engine. One zod schema per
 * message; {@link zClientMessage} is their union, discriminated by `type`.
 * Objects are strict: an unknown field is an `invalid_message` error naming it.
 */

const message = <T extends string, S extends z.ZodRawShape>(type: T, description: string, shape: S) =>
  z.strictObject({ type: z.literal(type), ...shape }).meta({ id: type, description });

export const zHandshake = message(
  'handshake',
  'The first frame on every connection: the access token from the auth service (never in the URL). May be sent again later with a fresh token for the same user.',
  {
    message_id: zMessageId.optional(),
    token: z.string().min(1).max(4096).meta({ description: 'An access token from the auth service (`at+jwt`).' }),
    client: z
      .strictObject({ name: z.string().max(64).optional(), version: z.string().max(32).optional() })
      .optional()
      .meta({ description: 'Who is calling, for logs.' }),
  },
);

export const zPing = message('ping', 'Keep-alive and round-trip check; answered with `pong`.', {
  message_id: zMessageId.optional(),
});

/** Parameters of an OpenID4VCI flow that starts from a credential offer. */
export const zOid4vciOfferParams = z
  .strictObject({
    offer: z
      .union([
        z.string().min(1).max(16_384).meta({
          description:
            'An `openid-credential-offer://` link (or any URL with `credential_offer` or `credential_offer_uri` in its query), or the offer as JSON text.',
        }),
        zJsonObject.meta({ description: 'The credential offer object itself.' }),
      ])
      .meta({ description: 'The credential offer, by value or by reference.' }),
    redirect_uri: zUrl
      .optional()
      .meta({ description: 'Where the issuer sends the browser back in an authorization code flow (the front end\'s page).' }),
    batch_size: z
      .number()
      .int()
      .min(1)
      .max(100)
      .optional()
      .meta({ description: 'How many copies to ask for, each bound to its own key (batch issuance); at most the issuer\'s batch size. Default 1.' }),
  })
  .meta({ id: 'oid4vci_offer_params' });

/** Parameters of an OpenID4VCI re-issuance with a refresh token from an earlier flow. */
export const zOid4vciRefreshParams = z
  .strictObject({
    reissue: z.strictObject({
      credential_issuer: zUrl,
      credential_configuration_id: z.string().min(1).max(256),
      refresh_token: z.string().min(1).max(4096),
      dpop_jkt: z
        .string()
        .regex(/^[A-Za-z0-9_-]{43}$/, 'must be an RFC 7638 SHA-256 thumbprint')
        .optional()
        .meta({ description: 'The DPoP key the refresh token is bound to (from `flow_complete`): DPoP proofs of this flow must use it.' }),
    }),
    batch_size: z.number().int().min(1).max(100).optional(),
  })
  .meta({ id: 'oid4vci_refresh_params', description: 'Re-issuance with the refresh token `flow_complete` handed out (DPoP-bound tokens need the same DPoP key).' });

/** Parameters of an OpenID4VP flow: the verifier's request as the wallet received it. */
export const zOid4vpParams = z
  .strictObject({
    request: z
      .string()
      .min(1)
      .max(16_384)
      .meta({
        description:
          'The authorization request: an `openid4vp://` or `haip-vp://` link (QR code), or an https same-device link, carrying the request by value or `request_uri` (fetched with `request_uri_method` get or post).',
      }),
  })
  .meta({ id: 'oid4vp_params' });

export const zFlowStart = message('flow_start', 'Starts a flow; answered with `flow_started` carrying the flow id.', {
  message_id: zMessageId,
  protocol: zFlowProtocol,
  params: z
    .union([zOid4vciOfferParams, zOid4vciRefreshParams, zOid4vpParams])
    .meta({ description: '`oid4vci` flows take an offer or a reissue, `oid4vp` flows a request (the engine refuses any other pairing).' }),
});

export const zFlowResume = message(
  'flow_resume',
  'Re-attaches this connection to a flow (after a reconnect, on any engine replica). The engine answers with `flow_status` and re-sends what it is waiting for, or the result.',
  { message_id: zMessageId.optional(), flow_id: zFlowId },
);

export const zFlowCancel = message('flow_cancel', 'Ends a flow; answered with `flow_error` code `cancelled`, or, for a flow that has already ended, with `flow_status` (echoing `message_id`) and the result again.', {
  message_id: zMessageId.optional(),
  flow_id: zFlowId,
});

export const zFlowAck = message('flow_ack', 'The client has stored the result: the engine forgets the flow.', {
  message_id: zMessageId.optional(),
  flow_id: zFlowId,
});

/** Why the client could not answer a question. */
export const zClientFailure = z
  .strictObject({
    code: z.enum(['declined', 'unsupported', 'failed']),
    message: z.string().max(512).optional(),
  })
  .meta({ description: '`declined`: the user said no; `unsupported`: the client cannot do it; `failed`: it tried and failed.' });

const reply = <T extends string, S extends z.ZodRawShape>(type: T, description: string, shape: S) =>
  message(type, `${description} Answers the request with the same \`flow_id\` and \`message_id\`.`, {
    flow_id: zFlowId,
    message_id: zMessageId,
    ...shape,
  });

export const zSignResponse = reply('sign_response', 'The JWTs the client signed, one per requested item, or why not.', {
  signatures: z
    .array(z.strictObject({ id: z.string().min(1).max(64), jws: zCompactJws }))
    .max(101)
    .optional(),
  error: zClientFailure.optional(),
});

export const zSelectionResponse = reply('selection_response', 'The credential configuration the user chose.', {
  credential_configuration_id: z.string().min(1).max(256).optional(),
  error: zClientFailure.optional(),
});

export const zConsentResponse = reply('consent_response', 'Whether the user agrees to receive the credential from this issuer.', {
  accept: z.boolean(),
});

export const zTxCodeResponse = reply('tx_code_response', 'The transaction code the user typed.', {
  tx_code: z.string().min(1).max(64).optional(),
  error: zClientFailure.optional(),
});

export const zAuthorizationResponse = reply(
  'authorization_response',
  'What came back on the redirect URI after the authorization server: `code` and `state` (and `iss`), or `error`. May arrive on another connection, to another replica.',
  {
    code: z.string().min(1).max(4096).optional(),
    state: z.string().min(1).max(512),
    iss: z.string().max(2048).optional(),
    error: z.string().max(256).optional(),
    error_description: z.string().max(1024).optional(),
  },
);

export const zPresentationResponse = reply(
  'presentation_response',
  'The presentations the user agreed to, built by the client: only the chosen disclosures, with key-binding JWTs for the request\'s nonce and audience. Or why not (`declined` sends access_denied to the verifier).',
  {
    vp_token: z
      .record(z.string().max(64), z.array(z.string().min(1).max(1_000_000)).min(1).max(16))
      .optional()
      .meta({ description: 'DCQL: presentations by credential query id.' }),
    presentations: z
      .array(z.string().min(1).max(1_000_000))
      .min(1)
      .max(16)
      .optional()
      .meta({ description: 'Presentation Exchange: the presentations, in the order of `presentation_submission`.' }),
    presentation_submission: zJsonObject.optional().meta({ description: 'Presentation Exchange: the submission mapping presentations to input descriptors.' }),
    error: zClientFailure.optional(),
  },
);

export const zNotification = message(
  'notification',
  'Tells the issuer what became of a credential (OpenID4VCI notification); answered with `notification_result`.',
  {
    message_id: zMessageId.optional(),
    flow_id: zFlowId,
    notification_id: z.string().min(1).max(512),
    event: z.enum(['credential_accepted', 'credential_failure', 'credential_deleted']),
    event_description: z.string().max(512).optional(),
  },
);

/** Every message a client may send. */
export const zClientMessage = z.discriminatedUnion('type', [
  zHandshake,
  zPing,
  zFlowStart,
  zFlowResume,
  zFlowCancel,
  zFlowAck,
  zSignResponse,
  zSelectionResponse,
  zConsentResponse,
  zTxCodeResponse,
  zAuthorizationResponse,
  zPresentationResponse,
  zNotification,
]);
export type ClientMessage = z.infer<typeof zClientMessage>;
export type ClientMessageType = ClientMessage['type'];
export type ClientMessageOf<T extends ClientMessageType> = Extract<ClientMessage, { type: T }>;

export type Oid4vciOfferParams = z.infer<typeof zOid4vciOfferParams>;
export type Oid4vciRefreshParams = z.infer<typeof zOid4vciRefreshParams>;
export type Oid4vpParams = z.infer<typeof zOid4vpParams>;
export type FlowStartParams = ClientMessageOf<'flow_start'>['params'];

/** The replies: client messages that answer a question the engine asked. */
export const REPLY_TYPES = [
  'sign_response',
  'selection_response',
  'consent_response',
  'tx_code_response',
  'authorization_response',
  'presentation_response',
] as const satisfies readonly ClientMessageType[];
export type ReplyType = (typeof REPLY_TYPES)[number];
export type ReplyMessage = ClientMessageOf<ReplyType>;
