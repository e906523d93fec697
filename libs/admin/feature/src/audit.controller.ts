import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from '@wallet/platform';
import { zAuditQuery } from './admin.dto';
import { AdminService } from './admin.service';
import { parseInput } from './parse-input';

/** `GET /admin/audit`: the audit log, filtered and paginated. */
@Controller('admin/audit')
@UseGuards(AdminTokenGuard)
export class AuditController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  list(@Query() query: unknown) {
    return this.admin.listAudit(parseInput(zAuditQuery, query, 'query'));
  }
}
