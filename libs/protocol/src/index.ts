export * from './protocol-error';
export * from './sd-jwt/disclose-claims';
export * from './sd-jwt/verify-sd-jwt-vc';
export * from './dcql/dcql-query';
export * from './dcql/evaluate-dcql-query';
export * from './status/check-status';
export * from './pe/presentation-exchange';
export * from './jwt-vc/verify-jwt-vp';
