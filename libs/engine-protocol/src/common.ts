import { z } from 'zod';

/** Version of this protocol; the handshake answer carries it. */
export const ENGINE_PROTOCOL_VERSION = '2.0';

/**
 * Arrays and objects may nest this deep in a frame, and a frame may have this
 * many object members; a frame past either bound is refused with
 * `invalid_message` before it is parsed. A frame of 1 MiB nested 500,000
 * levels deep held the event loop 250 ms in `JSON.parse` alone, and one of
 * 70,000 members about 100 ms in parsing and validating it; an offer 20,000
 * levels deep, which parses quickly, made storing the flow overflow the
 * stack (`JSON.stringify`). No message of the protocol needs more than a
 * dozen levels or a few hundred members. The member bound is the HTTP JSON
 * body bound's (ADR 0015).
 */
export const MAX_FRAME_DEPTH = 64;
export const MAX_FRAME_MEMBERS = 20_000;

/** A client-chosen id that pairs a request with its answer: 1-64 of `A-Z a-z 0-9 _ - . :`. */
export const zMessageId = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 letters, digits or _ - . :')
  .meta({ description: 'Pairs a request with its answer; the answer echoes it.' });

/** A flow id: issued by the engine in `flow_started`, 22-64 URL-safe characters. */
export const zFlowId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{22,64}$/, 'must be the flow id the engine issued')
  .meta({ description: 'The flow, as named by the engine in `flow_started`.' });

/** An absolute URL of at most 2048 characters. */
export const zUrl = z.string().max(2048).refine((value) => URL.canParse(value), 'must be an absolute URL');

/** A JSON object (JWT headers and payloads); at most 64 members at the top level. */
export const zJsonObject = z
  .record(z.string().max(256), z.unknown())
  .refine((value) => Object.keys(value).length <= 64, 'must have at most 64 members');
export type JsonObject = z.infer<typeof zJsonObject>;

/** A compact JWS (`header.payload.signature`). */
export const zCompactJws = z
  .string()
  .max(65_536)
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/, 'must be a compact JWS');

/** Protocols a flow can run. */
export const zFlowProtocol = z.enum(['oid4vci', 'oid4vp']).meta({ description: 'The protocol a flow runs: `oid4vci` receives credentials, `oid4vp` presents them.' });
export type FlowProtocol = z.infer<typeof zFlowProtocol>;

/** Where a flow stands, as listed in `handshake_ok` and `flow_status`. */
export const zFlowStatus = z
  .enum(['running', 'waiting', 'deferred', 'complete', 'failed'])
  .meta({
    description:
      '`running`: the engine is working; `waiting`: the engine waits for the client (the question is re-sent on `flow_resume`); `deferred`: the issuer will deliver later, the engine polls; `complete` / `failed`: over (the result is re-sent on `flow_resume` while the engine keeps it).',
  });
export type FlowStatus = z.infer<typeof zFlowStatus>;

/** Display data of an issuer or credential, from the issuer's metadata (first matching locale). */
export const zDisplay = z
  .object({
    name: z.string().max(512).optional(),
    locale: z.string().max(35).optional(),
    description: z.string().max(2048).optional(),
    logo: z.object({ uri: z.string().max(8192), alt_text: z.string().max(512).optional() }).optional(),
    background_color: z.string().max(64).optional(),
    text_color: z.string().max(64).optional(),
  })
  .meta({ description: 'What the issuer says to show for itself or a credential.' });
export type Display = z.infer<typeof zDisplay>;

/** The trust evaluator's decision on an issuer, made on the server. */
export const zTrustResult = z
  .object({
    trusted: z.boolean(),
    reason: z.string().max(512),
    source: z.enum(['pdp', 'static', 'disabled', 'error']),
  })
  .meta({ description: 'Decided by the engine\'s trust evaluator (AuthZEN PDP per tenant, fail-closed); never by the client.' });
export type TrustResult = z.infer<typeof zTrustResult>;

/** The issuer as the consent screen shows it. */
export const zIssuerSummary = z.object({
  credential_issuer: z.string().max(2048),
  display: z.array(zDisplay).max(16),
  trust: zTrustResult,
  /** True when the issuer's metadata came signed and the signature verified. */
  signed_metadata: z.boolean(),
});
export type IssuerSummary = z.infer<typeof zIssuerSummary>;

/** One credential configuration an offer lists. */
export const zOfferedCredential = z.object({
  credential_configuration_id: z.string().max(256),
  format: z.string().max(64),
  vct: z.string().max(2048).optional(),
  doctype: z.string().max(256).optional(),
  display: z.array(zDisplay).max(16),
});
export type OfferedCredential = z.infer<typeof zOfferedCredential>;

/** The verifier (relying party) as the consent screen shows it. */
export const zVerifierSummary = z
  .object({
    client_id: z.string().max(4096).meta({ description: 'The client identifier as the request gives it, prefix included.' }),
    client_id_prefix: z.string().max(64).meta({ description: '`x509_san_dns`, `x509_hash`, `decentralized_identifier`, `redirect_uri`, `verifier_attestation`, `pre-registered`, ...' }),
    name: z.string().max(512).optional().meta({ description: 'From the request\'s client metadata or the tenant\'s verifier list.' }),
    logo_uri: z.string().max(8192).optional(),
    /** Where the response goes (origin only). */
    response_origin: z.string().max(2048).optional(),
    /** True when the request object was signed and its signature verified for the client id. */
    request_signed: z.boolean(),
    trust: zTrustResult,
  })
  .meta({ id: 'verifier_summary' });
export type VerifierSummary = z.infer<typeof zVerifierSummary>;
