import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Omittable } from '@wallet/platform';
import { IsBoolean, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { RecordId } from '../admin-params.dto';
import { IsHttpUrl } from '../admin-validators';

const MAX_PRIVATE_KEY_LENGTH = 16_384;

export class CreateIssuerDto {
  @ApiPropertyOptional({ description: 'Generated when left out', example: 'pid-issuer' })
  @Omittable()
  @RecordId()
  id?: string;

  @ApiProperty({ description: 'The OpenID4VCI credential issuer identifier', format: 'uri', example: 'https://issuer.example/pid' })
  @IsHttpUrl()
  credential_issuer_identifier!: string;

  @ApiPropertyOptional({ type: String, description: 'OAuth client id at the issuer, or null', example: 'wallet' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  client_id: string | null = null;

  @ApiPropertyOptional({ description: 'Listed to the tenant’s wallets' })
  @IsBoolean()
  visible = true;

  @ApiPropertyOptional({ type: String, description: 'Client private key (PEM or JWK). Write-only: sealed at rest, never returned', writeOnly: true })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_PRIVATE_KEY_LENGTH)
  client_private_key: string | null = null;
}

export class UpdateIssuerDto {
  @ApiPropertyOptional({ format: 'uri' })
  @Omittable()
  @IsHttpUrl()
  credential_issuer_identifier?: string;

  @ApiPropertyOptional({ type: String, description: 'Null removes it' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  client_id?: string | null;

  @ApiPropertyOptional()
  @Omittable()
  @IsBoolean()
  visible?: boolean;

  @ApiPropertyOptional({ type: String, description: 'A new key replaces the old one; null removes it. Write-only', writeOnly: true })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_PRIVATE_KEY_LENGTH)
  client_private_key?: string | null;
}
