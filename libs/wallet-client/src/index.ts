/**
 * `@wallet/wallet-client`: the wallet front end's client of the engine's
 * WebSocket API v2 (`/api/v2/wallet`). Runs in browsers and Node 20: only
 * WebCrypto, `WebSocket` (or any {@link EngineTransport}), zod and the
 * protocol schemas.
 */
export * from './engine-client';
export * from './errors';
export * from './keyring';
export * from './redirect';
export * from './storage';
export * from './transport';
export * from './types';
