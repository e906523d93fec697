/** Injection tokens for what the platform provides to every service module. */
export const WALLET_CONFIG = Symbol('WALLET_CONFIG');
export const WALLET_STORE = Symbol('WALLET_STORE');
export const WALLET_CACHE = Symbol('WALLET_CACHE');
export const SERVICE_INFO = Symbol('SERVICE_INFO');

export type ServiceName = 'auth' | 'storage' | 'engine' | 'registry' | 'admin' | 'verifier';

/** Which HTTP server this Nest application is: one service, or a group of them in the all-in-one. */
export interface ServiceInfo {
  /** `auth`, ..., or `wallet` for the all-in-one's combined wallet-facing server. */
  name: string;
  services: readonly ServiceName[];
}

/** Auth's public keys as the access-token guard sees them (`AccessTokenKeys`). */
export const ACCESS_TOKEN_KEYS = Symbol('ACCESS_TOKEN_KEYS');
