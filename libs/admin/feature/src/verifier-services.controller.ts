import { Body, Controller, Delete, Get, HttpCode, Param, Put, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from '@wallet/platform';
import { zVerifierServiceDefinition } from '@wallet/protocol';
import type { z } from 'zod';
import { Actor } from './admin-actor';
import { zListQuery, zRecordIdParam } from './admin.dto';
import { AdminService, type AdminActor } from './admin.service';
import { body, query, ZodPipe } from './parse-input';

const ID = new ZodPipe(zRecordIdParam, 'id');

/**
 * `/admin/verifier-services[/:id]`: the verifier's relying-party services
 * (scopes, DCQL or Presentation Exchange queries, trusted issuers, token
 * shapes), in the same shape as the verifier's services file. Every verifier
 * replica picks a change up within seconds; a service here wins over a file
 * entry with the same id.
 */
@Controller('admin/verifier-services')
@UseGuards(AdminTokenGuard)
export class VerifierServicesController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  list(@Query(query(zListQuery)) q: z.output<typeof zListQuery>) {
    return this.admin.listVerifierServices(q);
  }

  @Get(':id')
  get(@Param('id', ID) id: string) {
    return this.admin.getVerifierService(id);
  }

  /** Creates or replaces the service; the body's `id` must equal the path's. */
  @Put(':id')
  put(@Param('id', ID) id: string, @Body(body(zVerifierServiceDefinition)) input: z.output<typeof zVerifierServiceDefinition>, @Actor() who: AdminActor) {
    return this.admin.putVerifierService(id, input, who);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id', ID) id: string, @Actor() who: AdminActor): Promise<void> {
    await this.admin.deleteVerifierService(id, who);
  }
}
