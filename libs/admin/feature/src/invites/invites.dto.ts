import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Omittable } from '@wallet/platform';
import { IsInt, IsString, Max, Min } from 'class-validator';
import { IsDateTime, NotTogetherWith } from '../admin-validators';

const MAX_INVITE_LIFETIME_S = 366 * 24 * 3600;
const BOTH_EXPIRIES = 'give expires_in or expires_at, not both';

/*
 * An invite's expiry, the same on create and renew. The decorators are listed
 * bottom first: applyDecorators applies them in list order, a stack of them
 * bottom up, and the order of the checks is the order of the problem's issues.
 */

/** `expires_in`: a lifetime from now, 60 s to 366 days. */
const ExpiresInField = () =>
  applyDecorators(
    Max(MAX_INVITE_LIFETIME_S),
    Min(60),
    IsInt(),
    Omittable(),
    ApiPropertyOptional({ description: 'Lifetime from now, in seconds', example: 604800 }),
  );

/** `expires_at`: an absolute expiry in the future, not together with `expires_in`. */
const ExpiresAtField = () =>
  applyDecorators(
    NotTogetherWith('expires_in', BOTH_EXPIRIES),
    IsDateTime(),
    IsString(),
    Omittable(),
    ApiPropertyOptional({ format: 'date-time', description: 'Absolute expiry, in the future (not with expires_in)', example: '2030-01-01T00:00:00Z' }),
  );

export class CreateInvitesDto {
  @ApiPropertyOptional({ description: 'How many codes to create' })
  @IsInt()
  @Min(1)
  @Max(1000)
  count = 1;

  @ApiPropertyOptional({ description: 'How many accounts each code may register' })
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  max_uses = 1;

  @ExpiresInField()
  expires_in?: number;

  @ExpiresAtField()
  expires_at?: string;
}

export class RenewInviteDto {
  @ExpiresInField()
  expires_in?: number;

  @ExpiresAtField()
  expires_at?: string;

  @ApiPropertyOptional({ description: 'A new use limit' })
  @Omittable()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  max_uses?: number;
}
