/**
 * `@wallet/wallet-client`: the wallet front end's client library: passkey
 * accounts ({@link AuthClient}), the client-side encrypted vault with sync
 * ({@link VaultClient}, {@link VaultRecordCipher}) and the engine's
 * WebSocket API v2 (`/api/v2/wallet`, {@link EngineClient}). Runs in browsers
 * and Node 20: only WebCrypto, `fetch`, `WebSocket` (or any
 * {@link EngineTransport}), zod, @noble's pure-JS ciphers and hashes, the
 * protocol schemas, WQL and the presentation query languages.
 */
export * from './auth';
export * from './vault';
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
