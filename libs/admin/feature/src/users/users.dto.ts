import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Omittable } from '@wallet/platform';
import { IsIn, IsString, Matches, MaxLength } from 'class-validator';
import { RecordId } from '../admin-params.dto';
import { Trim } from '../admin-validators';

export const ROLES = ['member', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export class CreateUserDto {
  @ApiPropertyOptional({ description: 'Generated when left out', example: 'u-1001' })
  @Omittable()
  @RecordId()
  id?: string;

  @ApiPropertyOptional({ description: 'WebAuthn user handle (base64url); generated when left out', example: 'aGFuZGxl' })
  @Omittable()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,128}$/, { message: 'must be base64url, at most 128 characters' })
  handle?: string;

  @ApiPropertyOptional({ description: 'Trimmed', example: 'Ulla' })
  @Trim()
  @IsString()
  @MaxLength(200)
  display_name = '';

  @ApiPropertyOptional({ enum: ROLES, description: 'Role in the tenant' })
  @IsIn(ROLES)
  role: Role = 'member';
}

export class UpdateUserDto {
  @ApiPropertyOptional({ description: 'Trimmed' })
  @Omittable()
  @Trim()
  @IsString()
  @MaxLength(200)
  display_name?: string;

  @ApiPropertyOptional({
    enum: ['active', 'suspended'],
    description:
      'Suspending revokes at once every access token and session (refresh-token family) of the user, on every service, and refuses new logins; sending `suspended` for a user already suspended revokes again. When the revocation cannot be written the answer is 503 and, if it failed before the status was stored, nothing changed. `active` revokes nothing: the user logs in again',
  })
  @Omittable()
  @IsIn(['active', 'suspended'])
  status?: 'active' | 'suspended';
}

export class PutMembershipDto {
  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES)
  role!: Role;
}
