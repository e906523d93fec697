import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Omittable } from '@wallet/platform';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { RecordId } from './admin-params.dto';
import { IsDateTime, IsHttpUrl, IsPublicJwk, NotTogetherWith, Trim } from './admin-validators';

// --- users -----------------------------------------------------------------

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

  @ApiPropertyOptional({ enum: ['active', 'suspended'], description: 'Suspending revokes the user’s refresh tokens' })
  @Omittable()
  @IsIn(['active', 'suspended'])
  status?: 'active' | 'suspended';
}

export class PutMembershipDto {
  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES)
  role!: Role;
}

// --- issuers ---------------------------------------------------------------

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

// --- verifiers -------------------------------------------------------------

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

  @ApiPropertyOptional(JWKS_DOC)
  @Omittable()
  @PublicJwks()
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

  @ApiPropertyOptional(JWKS_DOC)
  @Omittable()
  @PublicJwks()
  jwks?: Array<Record<string, unknown>>;
}

// --- invites ---------------------------------------------------------------

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
