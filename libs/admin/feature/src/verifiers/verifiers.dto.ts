import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Omittable } from '@wallet/platform';
import { ArrayMaxSize, IsArray, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { RecordId } from '../admin-params.dto';
import { IsHttpUrl, IsPublicJwk, Trim } from '../admin-validators';

/** An OpenID4VP client id without a prefix (the pre-registered form). */
function PreRegisteredClientId(): PropertyDecorator {
  return (target, key) => {
    IsString()(target, key);
    MinLength(1)(target, key);
    MaxLength(512)(target, key);
    Matches(/^[^:\s]+$/, { message: 'must be a client id without a prefix (no ":")' })(target, key);
  };
}

function PublicJwks(): PropertyDecorator {
  return (target, key) => {
    IsArray()(target, key);
    ArrayMaxSize(10)(target, key);
    IsPublicJwk({ each: true })(target, key);
  };
}

const JWKS_DOC = {
  type: 'array',
  items: { type: 'object', additionalProperties: true },
  description: 'Public keys its signed requests use (pre-registered verifiers); private or symmetric keys are refused',
} as const;

/** `jwks` on create and update: optional, documented, checked by `PublicJwks` (applied in the order the former stack was: bottom first). */
const OptionalPublicJwks = () => applyDecorators(PublicJwks(), Omittable(), ApiPropertyOptional(JWKS_DOC));

function DisplayName(): PropertyDecorator {
  return (target, key) => {
    Trim()(target, key);
    IsString()(target, key);
    MinLength(1)(target, key);
    MaxLength(200)(target, key);
  };
}

export class CreateVerifierDto {
  @ApiPropertyOptional({ description: 'Generated when left out', example: 'shop' })
  @Omittable()
  @RecordId()
  id?: string;

  @ApiProperty({ description: 'Shown to users; trimmed', example: 'Shop' })
  @DisplayName()
  name!: string;

  @ApiProperty({ format: 'uri', example: 'https://shop.example' })
  @IsHttpUrl()
  url!: string;

  @ApiPropertyOptional({ description: 'OpenID4VP pre-registered client id (no prefix)', example: 'shop-client' })
  @Omittable()
  @PreRegisteredClientId()
  client_id?: string;

  @OptionalPublicJwks()
  jwks?: Array<Record<string, unknown>>;
}

export class UpdateVerifierDto {
  @ApiPropertyOptional({ description: 'Trimmed' })
  @Omittable()
  @DisplayName()
  name?: string;

  @ApiPropertyOptional({ format: 'uri' })
  @Omittable()
  @IsHttpUrl()
  url?: string;

  @ApiPropertyOptional()
  @Omittable()
  @PreRegisteredClientId()
  client_id?: string;

  @OptionalPublicJwks()
  jwks?: Array<Record<string, unknown>>;
}
