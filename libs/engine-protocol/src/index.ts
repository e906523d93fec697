/**
 * `@wallet/engine-protocol`: the wallet WebSocket API v2 as zod schemas, one
 * per message, shared by the engine and the client library. No Node APIs, so
 * it runs in browsers too. `docs/api/engine.asyncapi.json` is generated from it.
 */
export * from './codes';
export * from './common';
export * from './client-messages';
export * from './server-messages';
export * from './parse-client-frame';
export * from './asyncapi';
