import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from '@wallet/platform';
import { Actor } from './admin-actor';
import {
  zInviteCreate,
  zInviteRenew,
  zIssuerCreate,
  zIssuerUpdate,
  zListQuery,
  zMembershipPut,
  zRecordIdParam,
  zTenantIdParam,
  zUserCreate,
  zUserUpdate,
  zVerifierCreate,
  zVerifierUpdate,
} from './admin.dto';
import { AdminService, type AdminActor } from './admin.service';
import { parseInput } from './parse-input';

const tenantOf = (value: string) => parseInput(zTenantIdParam, value, 'tenant id');
const idOf = (value: string) => parseInput(zRecordIdParam, value, 'id');

/** `/admin/tenants/:tenant/users`: accounts and their membership in the tenant. */
@Controller('admin/tenants/:tenant/users')
@UseGuards(AdminTokenGuard)
export class UsersController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  list(@Param('tenant') tenant: string, @Query() query: unknown) {
    return this.admin.listUsers(tenantOf(tenant), parseInput(zListQuery, query, 'query'));
  }

  @Post()
  create(@Param('tenant') tenant: string, @Body() body: unknown, @Actor() who: AdminActor) {
    return this.admin.createUser(tenantOf(tenant), parseInput(zUserCreate, body, 'body'), who);
  }

  @Get(':id')
  get(@Param('tenant') tenant: string, @Param('id') id: string) {
    return this.admin.getUser(tenantOf(tenant), idOf(id));
  }

  @Patch(':id')
  update(@Param('tenant') tenant: string, @Param('id') id: string, @Body() body: unknown, @Actor() who: AdminActor) {
    return this.admin.updateUser(tenantOf(tenant), idOf(id), parseInput(zUserUpdate, body, 'body'), who);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('tenant') tenant: string, @Param('id') id: string, @Actor() who: AdminActor): Promise<void> {
    await this.admin.deleteUser(tenantOf(tenant), idOf(id), who);
  }

  @Put(':id/membership')
  putMembership(@Param('tenant') tenant: string, @Param('id') id: string, @Body() body: unknown, @Actor() who: AdminActor) {
    return this.admin.putMembership(tenantOf(tenant), idOf(id), parseInput(zMembershipPut, body, 'body').role, who);
  }

  @Delete(':id/membership')
  @HttpCode(204)
  async removeMembership(@Param('tenant') tenant: string, @Param('id') id: string, @Actor() who: AdminActor): Promise<void> {
    await this.admin.removeMembership(tenantOf(tenant), idOf(id), who);
  }
}

/** `/admin/tenants/:tenant/issuers`: credential issuers; the client private key is write-only. */
@Controller('admin/tenants/:tenant/issuers')
@UseGuards(AdminTokenGuard)
export class IssuersController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  list(@Param('tenant') tenant: string, @Query() query: unknown) {
    return this.admin.listIssuers(tenantOf(tenant), parseInput(zListQuery, query, 'query'));
  }

  @Post()
  create(@Param('tenant') tenant: string, @Body() body: unknown, @Actor() who: AdminActor) {
    return this.admin.createIssuer(tenantOf(tenant), parseInput(zIssuerCreate, body, 'body'), who);
  }

  @Get(':id')
  get(@Param('tenant') tenant: string, @Param('id') id: string) {
    return this.admin.getIssuer(tenantOf(tenant), idOf(id));
  }

  @Patch(':id')
  update(@Param('tenant') tenant: string, @Param('id') id: string, @Body() body: unknown, @Actor() who: AdminActor) {
    return this.admin.updateIssuer(tenantOf(tenant), idOf(id), parseInput(zIssuerUpdate, body, 'body'), who);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('tenant') tenant: string, @Param('id') id: string, @Actor() who: AdminActor): Promise<void> {
    await this.admin.deleteIssuer(tenantOf(tenant), idOf(id), who);
  }
}

/** `/admin/tenants/:tenant/verifiers`: relying parties shown to the tenant's wallets. */
@Controller('admin/tenants/:tenant/verifiers')
@UseGuards(AdminTokenGuard)
export class VerifiersController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  list(@Param('tenant') tenant: string, @Query() query: unknown) {
    return this.admin.listVerifiers(tenantOf(tenant), parseInput(zListQuery, query, 'query'));
  }

  @Post()
  create(@Param('tenant') tenant: string, @Body() body: unknown, @Actor() who: AdminActor) {
    return this.admin.createVerifier(tenantOf(tenant), parseInput(zVerifierCreate, body, 'body'), who);
  }

  @Get(':id')
  get(@Param('tenant') tenant: string, @Param('id') id: string) {
    return this.admin.getVerifier(tenantOf(tenant), idOf(id));
  }

  @Patch(':id')
  update(@Param('tenant') tenant: string, @Param('id') id: string, @Body() body: unknown, @Actor() who: AdminActor) {
    return this.admin.updateVerifier(tenantOf(tenant), idOf(id), parseInput(zVerifierUpdate, body, 'body'), who);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('tenant') tenant: string, @Param('id') id: string, @Actor() who: AdminActor): Promise<void> {
    await this.admin.deleteVerifier(tenantOf(tenant), idOf(id), who);
  }
}

/** `/admin/tenants/:tenant/invites`: invite codes, shown once when created. */
@Controller('admin/tenants/:tenant/invites')
@UseGuards(AdminTokenGuard)
export class InvitesController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  list(@Param('tenant') tenant: string, @Query() query: unknown) {
    return this.admin.listInvites(tenantOf(tenant), parseInput(zListQuery, query, 'query'));
  }

  @Post()
  create(@Param('tenant') tenant: string, @Body() body: unknown, @Actor() who: AdminActor) {
    return this.admin.createInvites(tenantOf(tenant), parseInput(zInviteCreate, body ?? {}, 'body'), who);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  revoke(@Param('tenant') tenant: string, @Param('id') id: string, @Actor() who: AdminActor) {
    return this.admin.revokeInvite(tenantOf(tenant), idOf(id), who);
  }

  @Post(':id/renew')
  @HttpCode(200)
  renew(@Param('tenant') tenant: string, @Param('id') id: string, @Body() body: unknown, @Actor() who: AdminActor) {
    return this.admin.renewInvite(tenantOf(tenant), idOf(id), parseInput(zInviteRenew, body ?? {}, 'body'), who);
  }
}
