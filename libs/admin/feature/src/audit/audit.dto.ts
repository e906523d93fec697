import { ApiPropertyOptional } from '@nestjs/swagger';
import { Omittable } from '@wallet/platform';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { ListQueryDto, TenantId } from '../admin-params.dto';
import { IsDateTime } from '../admin-validators';

/** A filter of the audit log: a string of 1 to `max` characters. */
function Filter(max: number): PropertyDecorator {
  return (target, key) => {
    Omittable()(target, key);
    IsString()(target, key);
    MinLength(1)(target, key);
    MaxLength(max)(target, key);
  };
}

/** `GET /admin/audit`: filters (all optional, combined with AND) and the page. */
export class AuditQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ description: 'The tenant whose changes to list; left out: tenant-level changes (create, update, delete of tenants)', example: 'acme' })
  @Omittable()
  @TenantId()
  tenant?: string;

  @ApiPropertyOptional({ description: 'Action, e.g. `tenant.update`, `issuer.create`', example: 'issuer.create' })
  @Filter(100)
  action?: string;

  @ApiPropertyOptional({ description: 'Resource type: `tenant`, `user`, `membership`, `issuer`, `verifier`, `invite`, `verifier_service`', example: 'issuer' })
  @Filter(64)
  resource?: string;

  @ApiPropertyOptional({ description: 'Resource id' })
  @Filter(200)
  resource_id?: string;

  @ApiPropertyOptional({ description: 'The operator (`X-Admin-Actor`) or user id', example: 'alice' })
  @Filter(200)
  actor?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Events at or after this instant' })
  @Omittable()
  @IsString()
  @IsDateTime()
  since?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Events at or before this instant' })
  @Omittable()
  @IsString()
  @IsDateTime()
  until?: string;
}
