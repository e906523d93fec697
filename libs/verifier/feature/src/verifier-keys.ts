/** The key ring that signs the JWTs the verifier hands to downstream applications. */
export const VERIFIER_TOKEN_KEYS = Symbol('VERIFIER_TOKEN_KEYS');
export const VERIFIER_TOKEN_PURPOSE = 'verifier-token';

/** The key ring that signs request objects (published as a did:jwk client id). */
export const VERIFIER_REQUEST_KEYS = Symbol('VERIFIER_REQUEST_KEYS');
export const VERIFIER_REQUEST_PURPOSE = 'verifier-request';
