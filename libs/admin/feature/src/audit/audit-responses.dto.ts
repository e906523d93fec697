import { ApiProperty } from '@nestjs/swagger';
import type { AuditEvent } from '@wallet/domain';
import type { Stored } from '@wallet/persistence';
import { NEXT_CURSOR } from '../admin-responses.dto';

/** An audit event as the admin API answers it (`before`/`after` were redacted when written). */
export function auditView(event: Stored<AuditEvent>) {
  return {
    id: event.id,
    at: event.at,
    tenant: event.tenantId,
    actor_type: event.actorType,
    actor: event.actorId,
    action: event.action,
    resource: event.resourceType,
    resource_id: event.resourceId,
    before: event.before,
    after: event.after,
    request_id: event.requestId,
  };
}

export class AuditEventResponse {
  @ApiProperty({ description: 'Starts with the event time, so ids sort by time' }) id!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty() tenant!: string;
  @ApiProperty({ enum: ['admin', 'user', 'system'] }) actor_type!: string;
  @ApiProperty({ type: String, nullable: true }) actor!: string | null;
  @ApiProperty({ example: 'tenant.update' }) action!: string;
  @ApiProperty({ example: 'tenant' }) resource!: string;
  @ApiProperty({ type: String, nullable: true }) resource_id!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'The resource before the change (secrets left out)' }) before!: Record<string, unknown> | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'The resource after the change (secrets left out)' }) after!: Record<string, unknown> | null;
  @ApiProperty({ type: String, nullable: true, description: 'The request id (`X-Request-ID`)' }) request_id!: string | null;
}

export class AuditListResponse {
  @ApiProperty({ type: [AuditEventResponse] }) items!: AuditEventResponse[];
  @ApiProperty(NEXT_CURSOR) next_cursor!: string | null;
}
