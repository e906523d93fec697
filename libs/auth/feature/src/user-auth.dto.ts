import { ApiProperty } from '@nestjs/swagger';
import type { TaggedBinary } from './tagged-binary';
import { Omittable } from '@wallet/platform';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { AuthenticationCredentialField, ChallengeIdField, NicknameField, PrivateDataField, RegistrationCredentialField } from './passkey-fields';

/** `POST /user/register-webauthn-finish`: the attestation, the new account's names and its first keystore blob. */
export class RegisterFinishDto {
  @ChallengeIdField()
  challengeId!: string;

  @RegistrationCredentialField()
  credential!: unknown;

  @ApiProperty({ type: String, required: false, description: 'The account name shown to the user (default empty).', example: 'Alice' })
  @Omittable()
  @IsString()
  @MaxLength(200)
  displayName = '';

  @NicknameField()
  nickname?: string | null;

  @PrivateDataField('The first keystore blob (already encrypted by the client), stored with the account in the same step.')
  privateData?: TaggedBinary | string | null;

  @ApiProperty({ type: String, required: false, nullable: true, description: 'An invite code, where the tenant requires one.', example: 'JOIN-2026' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  inviteCode?: string | null;
}

/** `POST /user/login-webauthn-finish`: the assertion of a discoverable passkey. */
export class LoginFinishDto {
  @ChallengeIdField()
  challengeId!: string;

  @AuthenticationCredentialField()
  credential!: unknown;
}
