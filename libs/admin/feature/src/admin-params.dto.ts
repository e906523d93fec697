import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Omittable } from '@wallet/platform';
import { Type } from 'class-transformer';
import { IsInt, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';

/** The shapes of the stored ids (`zTenantId`, `zRecordId` in @wallet/domain), as path parameter constraints. */
export const TENANT_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const TENANT_ID_MESSAGE = 'must be 1-63 lowercase letters, digits or inner hyphens';
export const RECORD_ID_PATTERN = /^[A-Za-z0-9._~:@+=-]+$/;
export const RECORD_ID_MESSAGE = 'must use only letters, digits and . _ ~ : @ + = -';
export const MAX_RECORD_ID_LENGTH = 200;

/** A tenant id field: `@TenantId() id!: string`. */
export function TenantId(): PropertyDecorator {
  return (target, key) => {
    IsString()(target, key);
    Matches(TENANT_ID_PATTERN, { message: TENANT_ID_MESSAGE })(target, key);
  };
}

/** A record id field (users, issuers, verifiers, invites, verifier services). */
export function RecordId(): PropertyDecorator {
  return (target, key) => {
    IsString()(target, key);
    MinLength(1)(target, key);
    MaxLength(MAX_RECORD_ID_LENGTH)(target, key);
    Matches(RECORD_ID_PATTERN, { message: RECORD_ID_MESSAGE })(target, key);
  };
}

/** `/admin/tenants/:id` */
export class TenantIdPathDto {
  @ApiProperty({ description: 'Tenant id', example: 'acme' })
  @TenantId()
  id!: string;
}

/** `/admin/tenants/:tenant/<resource>` */
export class TenantPathDto {
  @ApiProperty({ description: 'Tenant id', example: 'acme' })
  @TenantId()
  tenant!: string;
}

/** `/admin/tenants/:tenant/<resource>/:id` */
export class TenantRecordPathDto extends TenantPathDto {
  @ApiProperty({ description: 'Record id', example: 'pid-issuer' })
  @RecordId()
  id!: string;
}

/** `/admin/verifier-services/:id` */
export class RecordPathDto {
  @ApiProperty({ description: 'Record id', example: 'shop' })
  @RecordId()
  id!: string;
}

/** `?limit=&cursor=` of every listing: pages in id order. */
export class ListQueryDto {
  @ApiPropertyOptional({ description: 'Page size', example: 50 })
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit = 100;

  @ApiPropertyOptional({ description: 'The `next_cursor` of the previous page' })
  @Omittable()
  @IsString()
  @MaxLength(400)
  cursor?: string;
}
