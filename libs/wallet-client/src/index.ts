/**
 * `@wallet/wallet-client`: the wallet front end's client of the engine's
 * WebSocket API v2 (`/api/v2/wallet`). Runs in browsers and Node 20: only
 * WebCrypto, `WebSocket` (or any {@link EngineTransport}), zod, the
 * protocol schemas and the presentation query languages.
 */
export * from './engine-client';
export * from './errors';
export * from './jwt-vc';
export * from './keyring';
export * from './redirect';
export * from './sd-jwt';
export * from './storage';
export * from './transport';
export * from './types';
// The matching vocabulary the consent request speaks, so a wallet needs no second import for it.
export type { ClaimPath, ConcreteClaimPath, CredentialSetMatch, DisclosedClaim, HeldCredential } from '@wallet/presentation-query';
