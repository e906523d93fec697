import { ApiProperty } from '@nestjs/swagger';
import { CheckedBy, Omittable } from '@wallet/platform';
import { IsString, ValidateIf } from 'class-validator';
import { ChallengeIdField, NicknameField, PrivateDataField, PRIVATE_DATA_SCHEMA, RegistrationCredentialField } from './passkey-fields';
import { MAX_PRIVATE_DATA_BYTES, privateDataIssues } from './private-data';
import type { TaggedBinary } from './tagged-binary';

/** `POST /user/session/webauthn/register-finish`: a second passkey, with the keystore re-wrapped for it. */
export class AddPasskeyFinishDto {
  @ChallengeIdField()
  challengeId!: string;

  @RegistrationCredentialField()
  credential!: unknown;

  @NicknameField()
  nickname?: string | null;

  @PrivateDataField('The keystore re-wrapped for the new passkey, written in the same atomic step (with `If-Match`).')
  privateData?: TaggedBinary | string | null;
}

/** `POST /user/session/webauthn/credential/{id}/rename` (the body may be left out: no name). */
export class RenamePasskeyDto {
  @NicknameField()
  nickname?: string | null;
}

/** `POST /user/session/webauthn/credential/{id}/delete` (the body may be left out). */
export class RemovePasskeyDto {
  @PrivateDataField('The keystore re-wrapped without the removed passkey, written in the same atomic step (with `If-Match`).')
  privateData?: TaggedBinary | string | null;
}

/**
 * `POST /user/session/private-data`: the blob itself (`{"$b64u": "..."}`, what
 * the reference clients send) or `{"privateData": ...}`; one of the two.
 */
export class PrivateDataWriteDto {
  @ApiProperty({ required: false, description: `The new keystore blob as base64url (at most ${MAX_PRIVATE_DATA_BYTES} bytes).`, pattern: '^[A-Za-z0-9_-]*$', example: 'a2V5c3RvcmUgdjI' })
  @Omittable()
  @IsString()
  @CheckedBy((value) => privateDataIssues({ $b64u: value }))
  $b64u?: string;

  @ApiProperty({ ...PRIVATE_DATA_SCHEMA, required: false, description: 'The new keystore blob, when `$b64u` is not used.' })
  @ValidateIf((dto: PrivateDataWriteDto) => dto.$b64u === undefined || dto.privateData !== undefined)
  @CheckedBy((value, dto) =>
    (dto as PrivateDataWriteDto).$b64u !== undefined ? [{ path: '', message: 'send either $b64u or privateData, not both' }] : privateDataIssues(value),
  )
  privateData?: TaggedBinary | string;
}

/** A passkey named in the path. */
export class PasskeyPathDto {
  @ApiProperty({
    description: 'The credential id (base64url, as listed by `GET /user/session/webauthn/credentials`). An id of another shape is a passkey that does not exist (404).',
    example: 'AQIDBAUGBwgJCgsMDQ4PEA',
  })
  @IsString()
  id!: string;
}
