/** The key ring that signs auth's access tokens (`kid` in every token header). */
export const AUTH_ACCESS_TOKEN_KEYS = Symbol('AUTH_ACCESS_TOKEN_KEYS');
export const AUTH_ACCESS_TOKEN_PURPOSE = 'auth-access-token';
