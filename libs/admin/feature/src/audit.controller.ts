import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from '@wallet/platform';
import { zAuditQuery } from './admin.dto';
import { AdminService } from './admin.service';
import { query } from './parse-input';
import type { z } from 'zod';

/** `GET /admin/audit`: the audit log, filtered and paginated. */
@Controller('admin/audit')
@UseGuards(AdminTokenGuard)
export class AuditController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  list(@Query(query(zAuditQuery)) q: z.output<typeof zAuditQuery>) {
    return this.admin.listAudit(q);
  }
}
