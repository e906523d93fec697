// Moved to @wallet/presentation-query (browser-safe); re-exported so importers keep compiling.
export * from '@wallet/presentation-query';
export * from './sd-jwt/disclose-claims';
export * from './sd-jwt/verify-sd-jwt-vc';
export * from './status/check-status';
export * from './jwt-vc/verify-jwt-vp';
export * from './issuer-keys/resolve-issuer-key';
export * from './relying-party-config';
export * from './openid4vp/parse-vp-token';
