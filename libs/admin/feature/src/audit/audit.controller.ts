import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminTokenGuard } from '@wallet/platform';
import { AuditListResponse } from './audit-responses.dto';
import { AuditQueryDto } from './audit.dto';
import { AuditService } from './audit.service';

/** `GET /admin/audit`: the audit log, filtered and paginated. */
@ApiTags('audit')
@Controller('admin/audit')
@UseGuards(AdminTokenGuard)
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({
    operationId: 'listAudit',
    summary: 'Audit log of admin changes, oldest first. `since`/`until` apply while paging, so a page may hold fewer than `limit` events: follow `next_cursor` until null',
  })
  @ApiOkResponse({ type: AuditListResponse, description: 'A page of audit events, oldest first' })
  list(@Query() q: AuditQueryDto) {
    return this.audit.listAudit(q);
  }
}
