import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';

/** `POST /auth/token/refresh`. */
export class RefreshTokenDto {
  @ApiProperty({ description: 'The refresh token of the session (single use: it is rotated).', example: 'rt1.default.3q2-7wXyZ...' })
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  refreshToken!: string;
}
