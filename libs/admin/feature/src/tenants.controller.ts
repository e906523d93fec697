import { Body, Controller, Delete, Get, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from '@wallet/platform';
import { Actor } from './admin-actor';
import { zDeleteTenantQuery, zListQuery, zTenantCreate, zTenantIdParam, zTenantUpdate } from './admin.dto';
import { AdminService, type AdminActor } from './admin.service';
import type { z } from 'zod';

const TENANT_ID = new ZodPipe(zTenantIdParam, 'tenant id');
import { body, query, ZodPipe } from './parse-input';

/** `/admin/tenants[/:id]`: tenant CRUD. */
@Controller('admin/tenants')
@UseGuards(AdminTokenGuard)
export class TenantsController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  list(@Query(query(zListQuery)) q: z.output<typeof zListQuery>) {
    return this.admin.listTenants(q);
  }

  @Post()
  create(@Body(body(zTenantCreate)) input: z.output<typeof zTenantCreate>, @Actor() who: AdminActor) {
    return this.admin.createTenant(input, who);
  }

  @Get(':id')
  get(@Param('id', TENANT_ID) id: string) {
    return this.admin.getTenant(id);
  }

  @Patch(':id')
  update(@Param('id', TENANT_ID) id: string, @Body(body(zTenantUpdate)) input: z.output<typeof zTenantUpdate>, @Actor() who: AdminActor) {
    return this.admin.updateTenant(id, input, who);
  }

  @Delete(':id')
  remove(@Param('id', TENANT_ID) id: string, @Query(query(zDeleteTenantQuery)) q: z.output<typeof zDeleteTenantQuery>, @Actor() who: AdminActor) {
    return this.admin.deleteTenant(id, q.force === 'true', who);
  }
}
