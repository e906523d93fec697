export { AuthClient, AuthError, type AuthClientOptions, type AuthErrorCode, type PrivateData, type Session } from './auth-client';
export type { FetchLike, FetchResponseLike, Problem } from './http';
export * from './webauthn';
