/**
 * `@wallet/trust`: is an issuer or verifier trusted for a purpose? An AuthZEN
 * client (the go-trust trust profile) with per-tenant PDPs, static
 * development policies, shared result caching, fail-closed answers and the
 * trust-refresh job. No Nest, no HTTP server: the PDP is reached through the
 * {@link TrustHttpClient} port (the platform's guarded outbound client).
 */
export * from './trust-query';
export * from './trust-evaluator';
export * from './trust-refresh.job';
export * from './trust-from-config';
