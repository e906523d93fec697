import { CheckedBy } from '@wallet/platform';
import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { passkeyResponseCheck, zAuthenticationResponse, zRegistrationResponse } from './parse-passkey-response';
import { MAX_PRIVATE_DATA_BYTES, privateDataIssues } from './private-data';

/** The keystore blob as a DTO field documents it. */
export const PRIVATE_DATA_SCHEMA = {
  oneOf: [
    {
      type: 'object',
      description: 'Bytes as base64url.',
      properties: { $b64u: { type: 'string', pattern: '^[A-Za-z0-9_-]*$' } },
      required: ['$b64u'],
      additionalProperties: false,
    },
    { type: 'string', description: 'Its UTF-8 bytes.' },
  ],
};

/**
 * Decorators shared by the auth DTOs: each field is checked once, the same
 * way on every route that takes it.
 */

/** `challengeId`: what `...-begin` answered. */
export const ChallengeIdField = () =>
  applyDecorators(
    ApiProperty({ description: 'The `challengeId` the `...-begin` call answered (single use).', example: 'c9Qv1pWm3xZ0' }),
    IsString(),
    MaxLength(128),
  );

/** `credential`: a WebAuthn registration response (zod, shared shape; see parse-passkey-response.ts). */
export const RegistrationCredentialField = () =>
  applyDecorators(
    ApiProperty({
      type: 'object',
      additionalProperties: true,
      description:
        'RegistrationResponseJSON from `navigator.credentials.create()`: id, rawId, type `public-key`, response.clientDataJSON and response.attestationObject (base64url strings or `{"$b64u"}`), optional transports; `clientExtensionResults.prf.enabled` marks the passkey PRF-capable.',
      example: { id: 'AQIDBA', rawId: 'AQIDBA', type: 'public-key', response: { clientDataJSON: 'eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0', attestationObject: 'o2NmbXRkbm9uZQ' }, clientExtensionResults: { prf: { enabled: true } } },
    }),
    CheckedBy(passkeyResponseCheck(zRegistrationResponse)),
  );

/** `credential`: a WebAuthn authentication response. */
export const AuthenticationCredentialField = () =>
  applyDecorators(
    ApiProperty({
      type: 'object',
      additionalProperties: true,
      description:
        'AuthenticationResponseJSON from `navigator.credentials.get()`: id, rawId, type `public-key`, response.clientDataJSON, response.authenticatorData, response.signature and optional response.userHandle (base64url strings or `{"$b64u"}`).',
      example: { id: 'AQIDBA', rawId: 'AQIDBA', type: 'public-key', response: { clientDataJSON: 'eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0', authenticatorData: 'SZYN5YgO', signature: 'MEUCIQ', userHandle: 'pQ8x1Yc2m0aQ' } },
    }),
    CheckedBy(passkeyResponseCheck(zAuthenticationResponse)),
  );

/** `nickname`: a passkey's name; null or absent is none. */
export const NicknameField = () =>
  applyDecorators(ApiProperty({ type: String, required: false, nullable: true, description: 'A name for the passkey.', example: 'laptop' }), IsOptional(), IsString(), MaxLength(200));

/** `privateData`: the client-encrypted keystore blob; null or absent leaves it as it is. */
export const PrivateDataField = (description: string) =>
  applyDecorators(
    ApiProperty({ ...PRIVATE_DATA_SCHEMA, required: false, nullable: true, description: `${description} At most ${MAX_PRIVATE_DATA_BYTES} bytes.` }),
    IsOptional(),
    CheckedBy((value) => privateDataIssues(value)),
  );
