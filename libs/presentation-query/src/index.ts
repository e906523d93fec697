/**
 * `@wallet/presentation-query`: the presentation query languages of
 * OpenID4VP (DCQL and DIF Presentation Exchange), for both sides: parsing,
 * the verifier's check of what was presented, and the wallet's matching of
 * what it holds. Browser-safe: zod only, no Node APIs.
 */
export * from './protocol-error';
export * from './held-credential';
export * from './dcql/dcql-query';
export * from './dcql/evaluate-dcql-query';
export * from './dcql/match-dcql-query';
export * from './pe/presentation-exchange';
export * from './pe/match-presentation-definition';
