/** The key ring that signs auth's access tokens (`kid` in every token header). */
export const AUTH_ACCESS_TOKEN_KEYS = Symbol('AUTH_ACCESS_TOKEN_KEYS');
export { ACCESS_TOKEN_KEY_PURPOSE as AUTH_ACCESS_TOKEN_PURPOSE } from '@wallet/platform';
