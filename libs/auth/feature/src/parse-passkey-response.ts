import { zodValidationError } from '@wallet/domain';
import type { FieldCheck } from '@wallet/platform';
import { z } from 'zod';
import { untagBinary } from './tagged-binary';

/**
 * The WebAuthn responses a browser sends back (`RegistrationResponseJSON`,
 * `AuthenticationResponseJSON`): protocol messages, so zod schemas by ADR
 * 0015, checked before @simplewebauthn verifies them. Binary fields are
 * base64url strings or `{"$b64u": "..."}`. Unknown members are dropped, not
 * refused (browsers and authenticators add their own).
 */

const zB64u = z.string().max(16_384).regex(/^[A-Za-z0-9_-]*$/, 'must be base64url');
const zExtensions = z.record(z.string(), z.unknown()).optional();

export const zRegistrationResponse = z.object({
  id: zB64u.min(1).max(1024),
  rawId: zB64u,
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: zB64u,
    attestationObject: zB64u,
    transports: z.array(z.string().max(32)).max(8).optional(),
  }).passthrough(),
  clientExtensionResults: zExtensions.default({}),
  authenticatorAttachment: z.string().max(32).optional(),
});
export type RegistrationResponse = z.infer<typeof zRegistrationResponse>;

export const zAuthenticationResponse = z.object({
  id: zB64u.min(1).max(1024),
  rawId: zB64u,
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: zB64u,
    authenticatorData: zB64u,
    signature: zB64u,
    userHandle: zB64u.max(256).optional().nullable(),
  }).passthrough(),
  clientExtensionResults: zExtensions.default({}),
  authenticatorAttachment: z.string().max(32).optional().nullable(),
});
export type AuthenticationResponse = z.infer<typeof zAuthenticationResponse>;

/**
 * Untags `{"$b64u"}` values and validates a WebAuthn response; throws
 * `ValidationError` with issues at `base` + the member's path.
 */
export function parsePasskeyResponse<T>(schema: z.ZodType<T>, value: unknown, base = '/credential'): T {
  const result = schema.safeParse(untagBinary(value, base));
  if (!result.success) {
    throw zodValidationError('the credential is malformed', result.error, base);
  }
  return result.data;
}

/** The DTO check of a `credential` field (`@CheckedBy(passkeyResponseCheck(zRegistrationResponse))`). */
export function passkeyResponseCheck(schema: z.ZodType): FieldCheck {
  return (value) => {
    parsePasskeyResponse(schema, value, '');
    return [];
  };
}
