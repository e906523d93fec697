/** The key ring that signs the JWTs the verifier hands to downstream applications. */
export const VERIFIER_TOKEN_KEYS = Symbol('VERIFIER_TOKEN_KEYS');
export const VERIFIER_TOKEN_PURPOSE = 'verifier-token';
