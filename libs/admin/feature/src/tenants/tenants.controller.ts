import { Body, Controller, Delete, Get, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminTokenGuard, ApiProblem } from '@wallet/platform';
import { Actor, type AdminActor } from '../admin-actor';
import { AdminChange, Conflict, NotFound } from '../admin-api.decorators';
import { ListQueryDto, TenantIdPathDto } from '../admin-params.dto';
import { TenantDeletedResponse, TenantListResponse, TenantResponse } from './tenants-responses.dto';
import { TenantsService } from './tenants.service';
import { CreateTenantDto, DeleteTenantQueryDto, UpdateTenantDto } from './tenants.dto';

/** `/admin/tenants[/:id]`: tenant CRUD. */
@ApiTags('tenants')
@Controller('admin/tenants')
@UseGuards(AdminTokenGuard)
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Get()
  @ApiOperation({ operationId: 'listTenants', summary: 'List tenants' })
  @ApiOkResponse({ type: TenantListResponse, description: 'A page of tenants, in id order' })
  list(@Query() q: ListQueryDto) {
    return this.tenants.listTenants(q);
  }

  @Post()
  @ApiOperation({ operationId: 'createTenant', summary: 'Create a tenant' })
  @ApiCreatedResponse({ type: TenantResponse, description: 'The tenant' })
  @Conflict()
  @AdminChange()
  create(@Body() input: CreateTenantDto, @Actor() who: AdminActor) {
    return this.tenants.createTenant(input, who);
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getTenant', summary: 'Get a tenant' })
  @ApiOkResponse({ type: TenantResponse, description: 'The tenant' })
  @NotFound('The tenant does not exist')
  get(@Param() { id }: TenantIdPathDto) {
    return this.tenants.getTenant(id);
  }

  @Patch(':id')
  @ApiOperation({ operationId: 'updateTenant', summary: 'Update a tenant (the default tenant cannot be disabled)' })
  @ApiOkResponse({ type: TenantResponse, description: 'The tenant' })
  @ApiProblem(403, 'The default tenant cannot be disabled', 'forbidden')
  @NotFound('The tenant does not exist')
  @Conflict()
  @AdminChange()
  update(@Param() { id }: TenantIdPathDto, @Body() input: UpdateTenantDto, @Actor() who: AdminActor) {
    return this.tenants.updateTenant(id, input, who);
  }

  @Delete(':id')
  @ApiOperation({
    operationId: 'deleteTenant',
    summary: 'Delete a tenant: refused while it has users unless force=true, which removes every user with everything they own (as user removal does), then all its records',
  })
  @ApiOkResponse({ type: TenantDeletedResponse, description: 'Deleted, with the number of records deleted per collection' })
  @ApiProblem(403, 'The default tenant cannot be deleted', 'forbidden')
  @NotFound('The tenant does not exist')
  @ApiProblem(412, 'The tenant still has users and force is not set', 'precondition_failed')
  @AdminChange()
  remove(@Param() { id }: TenantIdPathDto, @Query() q: DeleteTenantQueryDto, @Actor() who: AdminActor) {
    return this.tenants.deleteTenant(id, q.force === 'true', who);
  }
}
