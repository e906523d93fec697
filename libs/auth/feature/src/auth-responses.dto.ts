import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/**
 * The shapes auth answers with, for the OpenAPI document only (the
 * controllers return plain objects of the same shape). Field names are the
 * reference wallet back ends' (camelCase).
 */

export class TaggedBinaryDto {
  @ApiProperty({ description: 'Bytes as base64url without padding.', pattern: '^[A-Za-z0-9_-]*$', example: 'a2V5c3RvcmU' })
  $b64u!: string;
}

export class TokensDto {
  @ApiProperty({ description: 'Access token: ES256 `at+jwt` with iss, sub, tenant, aud, jti, sid, iat, exp (kid in the header).', example: 'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9...' })
  appToken!: string;

  @ApiProperty({ description: '`rt1.<tenant>.<random>`: single use, rotated by `POST /auth/token/refresh`.', example: 'rt1.default.3q2-7wXyZ...' })
  refreshToken!: string;

  @ApiProperty({ enum: ['Bearer'], example: 'Bearer' })
  tokenType!: 'Bearer';

  @ApiProperty({ description: 'Seconds until the access token expires.', example: 900 })
  expiresIn!: number;
}

export class SessionBodyDto extends TokensDto {
  @ApiProperty({ description: 'The user id.', example: '0b6e9c1e-8a4f-4a58-9d7e-3f1c2b5a6d70' })
  uuid!: string;

  @ApiProperty({ description: 'The tenant the account lives in.', example: 'default' })
  tenant!: string;

  @ApiProperty({ example: 'Alice' })
  displayName!: string;

  @ApiProperty({ description: 'The same as `displayName` (the reference clients read `username`).', example: 'Alice' })
  username!: string;

  @ApiProperty({ description: 'The WebAuthn user handle (base64url).', example: 'pQ8x1Yc2m0aQ' })
  webauthnUserHandle!: string;

  @ApiProperty({ type: TaggedBinaryDto, nullable: true, description: 'The client-encrypted keystore blob, or null when none is stored.' })
  privateData!: TaggedBinaryDto | null;

  @ApiProperty({ type: String, nullable: true, description: 'The keystore ETag (also in `ETag` and `X-Private-Data-ETag`).', example: 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg' })
  privateDataEtag!: string | null;
}

export class PasskeyViewDto {
  @ApiProperty({ description: 'The credential id (base64url).', example: 'AQIDBAUGBwgJCgsMDQ4PEA' })
  id!: string;

  @ApiProperty({ description: 'The same as `id`.', example: 'AQIDBAUGBwgJCgsMDQ4PEA' })
  credentialId!: string;

  @ApiProperty({ type: String, nullable: true, example: 'laptop' })
  nickname!: string | null;

  @ApiProperty({ format: 'date-time', example: '2026-01-02T10:00:00.000Z' })
  createTime!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: '2026-01-03T08:30:00.000Z' })
  lastUseTime!: string | null;

  @ApiProperty({ description: 'Whether the authenticator reported the PRF extension as enabled at registration.', example: true })
  prfCapable!: boolean;

  @ApiProperty({ type: [String], example: ['internal', 'hybrid'] })
  transports!: string[];
}

export class PasskeyListDto {
  @ApiProperty({ type: [PasskeyViewDto] })
  webauthnCredentials!: PasskeyViewDto[];
}

export class AccountInfoDto extends PasskeyListDto {
  @ApiProperty({ example: '0b6e9c1e-8a4f-4a58-9d7e-3f1c2b5a6d70' })
  uuid!: string;

  @ApiProperty({ example: 'default' })
  tenant!: string;

  @ApiProperty({ example: 'Alice' })
  displayName!: string;

  @ApiProperty({ description: 'The same as `displayName`.', example: 'Alice' })
  username!: string;

  @ApiProperty({ enum: [false], description: 'Always false: accounts have passkeys only.' })
  hasPassword!: false;

  @ApiProperty({ example: 'pQ8x1Yc2m0aQ' })
  webauthnUserHandle!: string;

  @ApiProperty({ type: String, nullable: true, example: 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg' })
  privateDataEtag!: string | null;
}

export class PrivateDataBodyDto {
  @ApiProperty({ type: TaggedBinaryDto, nullable: true, description: 'The client-encrypted keystore blob, or null when none is stored.' })
  privateData!: TaggedBinaryDto | null;
}

export class PasskeyAddedDto {
  @ApiProperty({ example: 'AQIDBAUGBwgJCgsMDQ4PEA' })
  credentialId!: string;

  @ApiProperty({ type: PasskeyViewDto })
  passkey!: PasskeyViewDto;
}

export class CreationChallengeDto {
  @ApiProperty({ description: 'Send it back with the finished ceremony; single use, expires after `auth.challengeTtlMs`.', example: 'c9Qv1pWm3xZ0' })
  challengeId!: string;

  @ApiProperty({
    description: '`{"publicKey": PublicKeyCredentialCreationOptionsJSON}`: resident key and user verification required, ES256/EdDSA/RS256, extensions credProps and prf.',
    type: 'object',
    additionalProperties: true,
  })
  createOptions!: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'The account name (when adding a passkey to a logged-in account).', example: 'Alice' })
  username?: string;
}

export class RequestChallengeDto {
  @ApiProperty({ description: 'Send it back with the assertion; single use.', example: 'c9Qv1pWm3xZ0' })
  challengeId!: string;

  @ApiProperty({
    description: '`{"publicKey": PublicKeyCredentialRequestOptionsJSON}` without allowCredentials (discoverable passkeys), user verification required.',
    type: 'object',
    additionalProperties: true,
  })
  getOptions!: Record<string, unknown>;
}

export class DeletedAccountDto {
  @ApiProperty({ enum: ['DELETED'] })
  result!: 'DELETED';
}

export class JwksDto {
  @ApiProperty({ description: 'Public JWKs (ES256) of access tokens: the signing key, the next one (published before it signs) and retired ones until their tokens expired.', type: 'array', items: { type: 'object', additionalProperties: true } })
  keys!: Array<Record<string, unknown>>;
}
