/**
 * `@wallet/engine-flows`: the engine's flows as a library with no Nest and no
 * server I/O (OpenID4VCI now). It takes narrow ports (a guarded fetch, the
 * shared cache for flow state, the registry, a clock) and runs behind the
 * engine's WebSocket or in process as the local engine.
 */
export * from './errors';
export * from './ports';
export * from './flow-record';
export * from './flow-store';
export * from './flow-runner';
export * from './engine-flows';
export * from './engine-session';
export * from './engine-core';
export * from './local-engine';
export { IssuanceFlow, type IssuanceFlowDeps } from './oid4vci/issuance.flow';
export { checkSignatures, canonicalJson, type ClientSignature } from './oid4vci/client-signatures';
export { checkIssuedCredential, type CredentialCheckOptions } from './oid4vci/verify-issued-credential';
export { offerLink } from './oid4vci/offer-input';
export * from './direct-registry';
