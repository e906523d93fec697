import { z } from 'zod';
import { zClientMessage } from './client-messages';
import {
  CLOSE_CODE_DESCRIPTIONS,
  CLOSE_CODES,
  ENGINE_ERROR_CODE_DESCRIPTIONS,
  FLOW_ERROR_CODE_DESCRIPTIONS,
  zEngineErrorCode,
  zFlowErrorCode,
  type CloseCodeName,
} from './codes';
import { ENGINE_PROTOCOL_VERSION } from './common';
import { zServerMessage } from './server-messages';

/** Where the generated document lives, relative to the workspace root (`npm run docs:engine` writes it). */
export const ENGINE_ASYNCAPI_PATH = 'docs/api/engine.asyncapi.json';

type JsonObject = Record<string, unknown>;
type MessageSchema = (typeof zClientMessage.options)[number] | (typeof zServerMessage.options)[number];

const CHANNEL = 'wallet';
const ADDRESS = '/api/v2/wallet';
const DEFINITIONS = '#/definitions/';
const COMPONENT_SCHEMAS = '#/components/schemas/';

const codeList = (descriptions: Readonly<Record<string, string>>): string =>
  Object.entries(descriptions)
    .map(([code, meaning]) => `- \`${code}\`: ${meaning}`)
    .join('\n');

/** The error code enums carry what each code means (draft-07 has no per-value description). */
const CODE_DESCRIPTIONS = new Map<unknown, string>([
  [zEngineErrorCode, `Why this frame or connection failed:\n\n${codeList(ENGINE_ERROR_CODE_DESCRIPTIONS)}`],
  [zFlowErrorCode, `Why the flow ended:\n\n${codeList(FLOW_ERROR_CODE_DESCRIPTIONS)}`],
]);

const DESCRIPTION = `The wallet front end's connection to the engine: JSON text frames, one message per frame, each naming itself in \`type\`.

- **Handshake first.** The first frame must be \`handshake\` with an access token from the auth service (never in the URL); the engine answers \`handshake_ok\` (protocol version, limits, the user's open flows), or \`error\` and a close.
- **Pairing.** A request's \`message_id\` comes back in its answer. The engine's questions (\`*_request\`) carry a \`flow_id\`, a \`message_id\` and \`expires_at\`; the reply (\`*_response\`) echoes the same (\`flow_id\`, \`message_id\`) pair.
- **Typed errors.** \`error\` is about one frame or the connection (its \`code\` lists the engine error codes); \`flow_error\` ends a flow (its \`code\` lists the flow error codes).
- **Tenants.** The tenant is the access token's. \`/t/{tenant}/api/v2/wallet\` reaches the same endpoint (the \`/t/{tenant}\` prefix every route accepts).

## Close codes

${(Object.keys(CLOSE_CODES) as CloseCodeName[])
  .map((name) => `- \`${CLOSE_CODES[name]}\` (${name}): ${CLOSE_CODE_DESCRIPTIONS[name]}`)
  .join('\n')}`;

/** Rewrites zod's local `#/definitions/x` references to the document's `#/components/schemas/x`. */
function rehome(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rehome);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [
      key,
      key === '$ref' && typeof value === 'string' && value.startsWith(DEFINITIONS)
        ? `${COMPONENT_SCHEMAS}${value.slice(DEFINITIONS.length)}`
        : rehome(value),
    ]),
  );
}

/**
 * One message's payload schema (draft-07, input shape). Sub-schemas with an
 * `id` in their meta go to `shared` (throws if an id names two different schemas).
 */
function payloadOf(schema: MessageSchema, shared: Map<string, unknown>): JsonObject {
  const generated = z.toJSONSchema(schema, {
    io: 'input',
    target: 'draft-7',
    override: ({ zodSchema, jsonSchema }) => {
      const description = CODE_DESCRIPTIONS.get(zodSchema);
      if (description !== undefined) jsonSchema.description = description;
    },
  }) as JsonObject;
  const { $schema: _schema, $ref, definitions = {}, ...inline } = generated as JsonObject & { definitions?: JsonObject };
  const rootId = typeof $ref === 'string' && $ref.startsWith(DEFINITIONS) ? $ref.slice(DEFINITIONS.length) : undefined;
  for (const [id, definition] of Object.entries(definitions)) {
    if (id === rootId) continue;
    const rehomed = rehome(definition);
    const known = shared.get(id);
    if (known !== undefined && JSON.stringify(known) !== JSON.stringify(rehomed)) {
      throw new Error(`schema id "${id}" names two different schemas`);
    }
    shared.set(id, rehomed);
  }
  const root = rootId === undefined ? inline : (definitions[rootId] as JsonObject);
  if (rootId !== undefined && JSON.stringify(root).includes(`"${$ref}"`)) {
    throw new Error(`message "${rootId}" refers to itself; the generator does not support that`);
  }
  return rehome(root) as JsonObject;
}

/** The AsyncAPI message object of one schema, keyed by its `type` literal. */
function messageOf(schema: MessageSchema, shared: Map<string, unknown>): [string, JsonObject] {
  const type = schema.shape.type.value;
  const description = schema.meta()?.description ?? '';
  const summary = description.split(/(?<=\.)\s/)[0] ?? '';
  return [type, { name: type, title: type, summary, description, contentType: 'application/json', payload: payloadOf(schema, shared) }];
}

/**
 * The wallet engine's WebSocket API v2 as an AsyncAPI 3.0.0 document,
 * generated from {@link zClientMessage} and {@link zServerMessage}: operation
 * `receive` lists what the engine receives (client messages), `send` what it
 * sends. Written to {@link ENGINE_ASYNCAPI_PATH} by `npm run docs:engine`.
 */
export function buildEngineAsyncApi(): Record<string, unknown> {
  const shared = new Map<string, unknown>();
  const received = zClientMessage.options.map((schema) => messageOf(schema, shared));
  const sent = zServerMessage.options.map((schema) => messageOf(schema, shared));
  const messages = [...received, ...sent];
  const duplicate = messages.find(([type], index) => messages.findIndex(([other]) => other === type) !== index);
  if (duplicate) throw new Error(`message type "${duplicate[0]}" is both a client and a server message`);

  const operation = (action: 'receive' | 'send', list: [string, JsonObject][], description: string): JsonObject => ({
    action,
    channel: { $ref: `#/channels/${CHANNEL}` },
    summary: description,
    messages: list.map(([type]) => ({ $ref: `#/channels/${CHANNEL}/messages/${type}` })),
  });

  return {
    asyncapi: '3.0.0',
    info: { title: 'Wallet engine WebSocket API', version: ENGINE_PROTOCOL_VERSION, description: DESCRIPTION },
    defaultContentType: 'application/json',
    servers: {
      engine: {
        host: 'localhost:8080',
        protocol: 'ws',
        description: 'The engine service (use `wss` in production). With a tenant in the path: `/t/{tenant}/api/v2/wallet`.',
      },
    },
    channels: {
      [CHANNEL]: {
        address: ADDRESS,
        title: 'Wallet connection',
        description: 'One WebSocket per wallet front end; the first frame is `handshake`.',
        servers: [{ $ref: '#/servers/engine' }],
        messages: Object.fromEntries(messages.map(([type]) => [type, { $ref: `#/components/messages/${type}` }])),
      },
    },
    operations: {
      receive: operation('receive', received, 'Messages from the client to the engine.'),
      send: operation('send', sent, 'Messages from the engine to the client.'),
    },
    components: {
      schemas: Object.fromEntries([...shared].sort(([a], [b]) => a.localeCompare(b))),
      messages: Object.fromEntries(messages),
    },
  };
}
