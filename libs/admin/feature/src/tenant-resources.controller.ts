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
import { body, optionalBody, query, ZodPipe } from './parse-input';
import type { z } from 'zod';

const TENANT = new ZodPipe(zTenantIdParam, 'tenant id');
const ID = new ZodPipe(zRecordIdParam, 'id');
type In<S extends z.ZodType> = z.output<S>;

/** `/admin/tenants/:tenant/users`: accounts and their membership in the tenant. */
@Controller('admin/tenants/:tenant/users')
@UseGuards(AdminTokenGuard)
export class UsersController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  list(@Param('tenant', TENANT) tenant: string, @Query(query(zListQuery)) q: In<typeof zListQuery>) {
    return this.admin.listUsers(tenant, q);
  }

  @Post()
  create(@Param('tenant', TENANT) tenant: string, @Body(body(zUserCreate)) input: In<typeof zUserCreate>, @Actor() who: AdminActor) {
    return this.admin.createUser(tenant, input, who);
  }

  @Get(':id')
  get(@Param('tenant', TENANT) tenant: string, @Param('id', ID) id: string) {
    return this.admin.getUser(tenant, id);
  }

  @Patch(':id')
  update(@Param('tenant', TENANT) tenant: string, @Param('id', ID) id: string, @Body(body(zUserUpdate)) input: In<typeof zUserUpdate>, @Actor() who: AdminActor) {
    return this.admin.updateUser(tenant, id, input, who);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('tenant', TENANT) tenant: string, @Param('id', ID) id: string, @Actor() who: AdminActor): Promise<void> {
    await this.admin.deleteUser(tenant, id, who);
  }

  @Put(':id/membership')
  putMembership(@Param('tenant', TENANT) tenant: string, @Param('id', ID) id: string, @Body(body(zMembershipPut)) input: In<typeof zMembershipPut>, @Actor() who: AdminActor) {
    return this.admin.putMembership(tenant, id, input.role, who);
  }

  @Delete(':id/membership')
  @HttpCode(204)
  async removeMembership(@Param('tenant', TENANT) tenant: string, @Param('id', ID) id: string, @Actor() who: AdminActor): Promise<void> {
    await this.admin.removeMembership(tenant, id, who);
  }
}

/** `/admin/tenants/:tenant/issuers`: credential issuers; the client private key is write-only. */
@Controller('admin/tenants/:tenant/issuers')
@UseGuards(AdminTokenGuard)
export class IssuersController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  list(@Param('tenant', TENANT) tenant: string, @Query(query(zListQuery)) q: In<typeof zListQuery>) {
    return this.admin.listIssuers(tenant, q);
  }

  @Post()
  create(@Param('tenant', TENANT) tenant: string, @Body(body(zIssuerCreate)) input: In<typeof zIssuerCreate>, @Actor() who: AdminActor) {
    return this.admin.createIssuer(tenant, input, who);
  }

  @Get(':id')
  get(@Param('tenant', TENANT) tenant: string, @Param('id', ID) id: string) {
    return this.admin.getIssuer(tenant, id);
  }

  @Patch(':id')
  update(@Param('tenant', TENANT) tenant: string, @Param('id', ID) id: string, @Body(body(zIssuerUpdate)) input: In<typeof zIssuerUpdate>, @Actor() who: AdminActor) {
    return this.admin.updateIssuer(tenant, id, input, who);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('tenant', TENANT) tenant: string, @Param('id', ID) id: string, @Actor() who: AdminActor): Promise<void> {
    await this.admin.deleteIssuer(tenant, id, who);
  }
}

/** `/admin/tenants/:tenant/verifiers`: relying parties shown to the tenant's wallets. */
@Controller('admin/tenants/:tenant/verifiers')
@UseGuards(AdminTokenGuard)
export class VerifiersController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  list(@Param('tenant', TENANT) tenant: string, @Query(query(zListQuery)) q: In<typeof zListQuery>) {
    return this.admin.listVerifiers(tenant, q);
  }

  @Post()
  create(@Param('tenant', TENANT) tenant: string, @Body(body(zVerifierCreate)) input: In<typeof zVerifierCreate>, @Actor() who: AdminActor) {
    return this.admin.createVerifier(tenant, input, who);
  }

  @Get(':id')
  get(@Param('tenant', TENANT) tenant: string, @Param('id', ID) id: string) {
    return this.admin.getVerifier(tenant, id);
  }

  @Patch(':id')
  update(@Param('tenant', TENANT) tenant: string, @Param('id', ID) id: string, @Body(body(zVerifierUpdate)) input: In<typeof zVerifierUpdate>, @Actor() who: AdminActor) {
    return this.admin.updateVerifier(tenant, id, input, who);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('tenant', TENANT) tenant: string, @Param('id', ID) id: string, @Actor() who: AdminActor): Promise<void> {
    await this.admin.deleteVerifier(tenant, id, who);
  }
}

/** `/admin/tenants/:tenant/invites`: invite codes, shown once when created. */
@Controller('admin/tenants/:tenant/invites')
@UseGuards(AdminTokenGuard)
export class InvitesController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  list(@Param('tenant', TENANT) tenant: string, @Query(query(zListQuery)) q: In<typeof zListQuery>) {
    return this.admin.listInvites(tenant, q);
  }

  @Post()
  create(@Param('tenant', TENANT) tenant: string, @Body(optionalBody(zInviteCreate)) input: In<typeof zInviteCreate>, @Actor() who: AdminActor) {
    return this.admin.createInvites(tenant, input, who);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  revoke(@Param('tenant', TENANT) tenant: string, @Param('id', ID) id: string, @Actor() who: AdminActor) {
    return this.admin.revokeInvite(tenant, id, who);
  }

  @Post(':id/renew')
  @HttpCode(200)
  renew(@Param('tenant', TENANT) tenant: string, @Param('id', ID) id: string, @Body(optionalBody(zInviteRenew)) input: In<typeof zInviteRenew>, @Actor() who: AdminActor) {
    return this.admin.renewInvite(tenant, id, input, who);
  }
}
