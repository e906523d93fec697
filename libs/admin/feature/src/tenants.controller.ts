import { Body, Controller, Delete, Get, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from '@wallet/platform';
import { Actor } from './admin-actor';
import { zDeleteTenantQuery, zListQuery, zTenantCreate, zTenantIdParam, zTenantUpdate } from './admin.dto';
import { AdminService, type AdminActor } from './admin.service';
import { parseInput } from './parse-input';

/** `/admin/tenants[/:id]`: tenant CRUD. */
@Controller('admin/tenants')
@UseGuards(AdminTokenGuard)
export class TenantsController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  list(@Query() query: unknown) {
    return this.admin.listTenants(parseInput(zListQuery, query, 'query'));
  }

  @Post()
  create(@Body() body: unknown, @Actor() who: AdminActor) {
    return this.admin.createTenant(parseInput(zTenantCreate, body, 'body'), who);
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.admin.getTenant(parseInput(zTenantIdParam, id, 'tenant id'));
  }

  @Patch(':id')
  update(@Param('id') id: string, @Body() body: unknown, @Actor() who: AdminActor) {
    return this.admin.updateTenant(parseInput(zTenantIdParam, id, 'tenant id'), parseInput(zTenantUpdate, body, 'body'), who);
  }

  @Delete(':id')
  remove(@Param('id') id: string, @Query() query: unknown, @Actor() who: AdminActor) {
    const { force } = parseInput(zDeleteTenantQuery, query, 'query');
    return this.admin.deleteTenant(parseInput(zTenantIdParam, id, 'tenant id'), force === 'true', who);
  }
}
