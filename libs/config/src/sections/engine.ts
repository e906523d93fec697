import { z } from 'zod';

const ms = (value: number, description: string, min = 1) => z.number().int().min(min).default(value).meta({ description });
const count = (value: number, min: number, max: number, description: string) =>
  z.number().int().min(min).max(max).default(value).meta({ description });

/** The engine: the wallet's WebSocket API v2 (`/api/v2/wallet`) and its OpenID4VCI flows. */
export const zEngineSection = z
  .strictObject({
    registryUrl: z
      .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
      .overwrite((url) => url.replace(/\/+$/, ''))
      .optional()
      .meta({
        description:
          'Base URL of the registry service, for issuer metadata, trust decisions and type metadata (e.g. `http://registry:3004`). Unset: the registry in the same process (all-in-one), else `http://127.0.0.1:<services.registry.port>`.',
      }),
    maxFrameBytes: count(1_048_576, 1_024, 16 * 1_048_576, 'Largest WebSocket frame after the handshake, in bytes (presentations with ZK proofs reach about 620 KB).'),
    maxHandshakeFrameBytes: count(8_192, 512, 65_536, 'Largest frame before the handshake succeeded, in bytes.'),
    handshakeTimeoutMs: ms(10_000, 'How long a new connection may take to send its handshake before it is closed (4408).'),
    messagesPerSecond: count(20, 1, 10_000, 'Messages per second one connection may send on average; more are answered with `rate_limited`.'),
    messageBurst: count(40, 1, 100_000, 'Messages one connection may send in a burst above the average rate.'),
    flowStartsPerMinute: count(20, 1, 10_000, 'Flows one user may start per minute, counted across every replica (shared cache).'),
    maxConcurrentFlows: count(5, 1, 1_000, 'Unfinished flows one user may hold at once, across every replica.'),
    maxConnectionsPerUser: count(16, 1, 1_000, 'Open connections one user may hold on one engine process (tabs, devices).'),
    maxConnections: count(20_000, 1, 1_000_000, 'Open connections one engine process accepts; more are refused with HTTP 503.'),
    keepaliveIntervalMs: ms(30_000, 'How often the engine pings each connection; one that has not answered the previous ping is closed.'),
    signTimeoutMs: ms(60_000, 'How long the client has to answer a signing request.'),
    userTimeoutMs: ms(300_000, 'How long the user has to answer a question (choice, consent, transaction code, authorization redirect).'),
    flowLifetimeMs: ms(900_000, 'How long a flow may take in all (deferred issuance extends it by `deferredLifetimeMs`).'),
    deferredLifetimeMs: ms(86_400_000, 'How long the engine keeps polling for a deferred credential.'),
    deferredMinIntervalMs: ms(5_000, 'Shortest interval between polls of a deferred credential, whatever the issuer asks.'),
    deferredPollTickMs: ms(1_000, 'How often the engine looks for deferred credentials that are due (one replica at a time).'),
    retentionMs: ms(600_000, 'How long a finished flow is kept for re-delivery after a reconnect and for notifications.'),
    maxResponseBytes: count(1_048_576, 1_024, 64 * 1_048_576, 'Largest response accepted from an issuer or authorization server, in bytes.'),
    oauthClientId: z
      .string()
      .min(1)
      .max(512)
      .default('wallet')
      .meta({ description: 'OAuth `client_id` in authorization code flows with issuers the tenant has not registered (admin issuers carry their own).' }),
    redirectUris: z
      .array(z.url({ error: 'must be an absolute URL' }))
      .max(64)
      .default([])
      .meta({
        description:
          'Redirect URIs the front ends may name for authorization code flows. Empty: any absolute URL the client names (the issuer checks it against the client registration).',
      }),
    trustedRootsFile: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'PEM bundle of root certificates that x5c chains of issued credentials must lead to. Unset: x5c-signed credentials are refused.' }),
  })
  .prefault({})
  .meta({ description: 'The engine (WebSocket API v2 and OpenID4VCI flows). Every limit here is enforced with a typed error, never a crash.' });
