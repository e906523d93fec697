import { ApiPropertyOptional } from '@nestjs/swagger';
import { Omittable } from '@wallet/platform';
import { IsInt, IsString, Max, Min } from 'class-validator';
import { IsDateTime, NotTogetherWith } from '../admin-validators';

const MAX_INVITE_LIFETIME_S = 366 * 24 * 3600;
const BOTH_EXPIRIES = 'give expires_in or expires_at, not both';

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

  @ApiPropertyOptional({ description: 'Lifetime from now, in seconds', example: 604800 })
  @Omittable()
  @IsInt()
  @Min(60)
  @Max(MAX_INVITE_LIFETIME_S)
  expires_in?: number;

  @ApiPropertyOptional({ format: 'date-time', description: 'Absolute expiry, in the future (not with expires_in)', example: '2030-01-01T00:00:00Z' })
  @Omittable()
  @IsString()
  @IsDateTime()
  @NotTogetherWith('expires_in', BOTH_EXPIRIES)
  expires_at?: string;
}

export class RenewInviteDto {
  @ApiPropertyOptional({ description: 'Lifetime from now, in seconds', example: 604800 })
  @Omittable()
  @IsInt()
  @Min(60)
  @Max(MAX_INVITE_LIFETIME_S)
  expires_in?: number;

  @ApiPropertyOptional({ format: 'date-time', description: 'Absolute expiry, in the future (not with expires_in)', example: '2030-01-01T00:00:00Z' })
  @Omittable()
  @IsString()
  @IsDateTime()
  @NotTogetherWith('expires_in', BOTH_EXPIRIES)
  expires_at?: string;

  @ApiPropertyOptional({ description: 'A new use limit' })
  @Omittable()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  max_uses?: number;
}
