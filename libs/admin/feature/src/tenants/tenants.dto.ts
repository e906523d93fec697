import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Omittable } from '@wallet/platform';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayUnique, IsArray, IsBoolean, IsIn, IsObject, IsOptional, IsString, Matches, MaxLength, MinLength, ValidateNested } from 'class-validator';
import { TenantId } from '../admin-params.dto';
import { IsPdpUrl, Trim } from '../admin-validators';

/** The protocols a new tenant allows unless it says otherwise. */
export const DEFAULT_PROTOCOLS = ['oid4vci', 'oid4vp'] as const;

const ORIGIN = /^https?:\/\/[^/?#\s]+$/;
const PROTOCOL = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** A tenant's display name: trimmed, 1-200 characters. */
function DisplayName(): PropertyDecorator {
  return (target, key) => {
    Trim()(target, key);
    IsString()(target, key);
    MinLength(1)(target, key);
    MaxLength(200)(target, key);
  };
}

function Origins(): PropertyDecorator {
  return (target, key) => {
    IsArray()(target, key);
    ArrayMaxSize(32)(target, key);
    ArrayUnique({ message: 'must not repeat an origin' })(target, key);
    IsString({ each: true })(target, key);
    Matches(ORIGIN, { each: true, message: 'must be an origin such as https://wallet.example.com (no path)' })(target, key);
  };
}

function Protocols(): PropertyDecorator {
  return (target, key) => {
    IsArray()(target, key);
    ArrayMaxSize(32)(target, key);
    ArrayUnique({ message: 'must not repeat a protocol' })(target, key);
    IsString({ each: true })(target, key);
    Matches(PROTOCOL, { each: true, message: 'must be a lowercase protocol name such as oid4vci' })(target, key);
  };
}

export class TrustConfigDto {
  @ApiPropertyOptional({
    description: 'AuthZEN PDP base URL overriding the default PDP, `none` (no PDP), or null (the default PDP)',
    type: String,
    example: 'https://pdp.acme.example/authzen',
  })
  @IsOptional()
  @IsPdpUrl()
  pdp_url?: string | null;
}

export class CreateTenantDto {
  @ApiProperty({ description: 'Tenant id: appears in URLs (`/t/{tenant}/...`), so a short lowercase slug', example: 'acme' })
  @TenantId()
  id!: string;

  @ApiProperty({ description: 'Shown to users; trimmed', example: 'Acme Corp' })
  @DisplayName()
  display_name!: string;

  @ApiPropertyOptional({ description: 'A disabled tenant answers 404 to its users' })
  @IsBoolean()
  enabled = true;

  @ApiPropertyOptional({ description: 'New accounts need an invite code' })
  @IsBoolean()
  require_invite = false;

  @ApiPropertyOptional({ type: () => TrustConfigDto })
  @IsObject()
  @ValidateNested()
  @Type(() => TrustConfigDto)
  trust_config: TrustConfigDto = new TrustConfigDto();

  @ApiPropertyOptional({ type: [String], description: 'Protocols the tenant’s wallets may use', example: [...DEFAULT_PROTOCOLS] })
  @Protocols()
  allowed_protocols: string[] = [...DEFAULT_PROTOCOLS];

  @ApiPropertyOptional({
    type: [String],
    description: 'Browser origins of the tenant’s front ends (checked against a WebSocket’s Origin); empty: the deployment’s',
    example: ['https://wallet.acme.example'],
  })
  @Origins()
  allowed_origins: string[] = [];
}

/** Every field may be left out; what is given replaces the stored value. */
export class UpdateTenantDto {
  @ApiPropertyOptional({ description: 'Shown to users; trimmed', example: 'Acme Corp' })
  @Omittable()
  @DisplayName()
  display_name?: string;

  @ApiPropertyOptional({ description: 'The default tenant cannot be disabled' })
  @Omittable()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional()
  @Omittable()
  @IsBoolean()
  require_invite?: boolean;

  @ApiPropertyOptional({ type: () => TrustConfigDto })
  @Omittable()
  @IsObject()
  @ValidateNested()
  @Type(() => TrustConfigDto)
  trust_config?: TrustConfigDto;

  @ApiPropertyOptional({ type: [String] })
  @Omittable()
  @Protocols()
  allowed_protocols?: string[];

  @ApiPropertyOptional({ type: [String] })
  @Omittable()
  @Origins()
  allowed_origins?: string[];
}

export class DeleteTenantQueryDto {
  @ApiPropertyOptional({ description: '`true` deletes the tenant with all its records; without it a tenant with users is not deleted (412)' })
  @IsIn(['true', 'false'])
  force: 'true' | 'false' = 'false';
}
