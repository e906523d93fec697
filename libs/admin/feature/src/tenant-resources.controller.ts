import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, UseGuards } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminTokenGuard } from '@wallet/platform';
import { Actor } from './admin-actor';
import { AdminChange, Conflict, NotFound } from './admin-api.decorators';
import { ListQueryDto, TenantPathDto, TenantRecordPathDto } from './admin-params.dto';
import {
  CreatedInvitesResponse,
  InviteListResponse,
  InviteResponse,
  IssuerListResponse,
  IssuerResponse,
  UserListResponse,
  UserResponse,
  VerifierListResponse,
  VerifierResponse,
} from './admin-responses.dto';
import { AdminService, type AdminActor } from './admin.service';
import {
  CreateInvitesDto,
  CreateIssuerDto,
  CreateUserDto,
  CreateVerifierDto,
  PutMembershipDto,
  RenewInviteDto,
  UpdateIssuerDto,
  UpdateUserDto,
  UpdateVerifierDto,
} from './tenant-resources.dto';

const NO_TENANT = 'The tenant does not exist';

/** `/admin/tenants/:tenant/users`: accounts and their membership in the tenant. */
@ApiTags('users')
@Controller('admin/tenants/:tenant/users')
@UseGuards(AdminTokenGuard)
export class UsersController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  @ApiOperation({ operationId: 'listUsers', summary: 'List users of a tenant' })
  @ApiOkResponse({ type: UserListResponse, description: 'A page of users, in id order' })
  @NotFound(NO_TENANT)
  list(@Param() { tenant }: TenantPathDto, @Query() q: ListQueryDto) {
    return this.admin.listUsers(tenant, q);
  }

  @Post()
  @ApiOperation({ operationId: 'createUser', summary: 'Add a user (pre-provisioned account with a membership)' })
  @ApiCreatedResponse({ type: UserResponse, description: 'The user with their role in the tenant' })
  @NotFound(NO_TENANT)
  @Conflict()
  @AdminChange()
  create(@Param() { tenant }: TenantPathDto, @Body() input: CreateUserDto, @Actor() who: AdminActor) {
    return this.admin.createUser(tenant, input, who);
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getUser', summary: 'Get a user' })
  @ApiOkResponse({ type: UserResponse, description: 'The user with their role in the tenant' })
  @NotFound()
  get(@Param() { tenant, id }: TenantRecordPathDto) {
    return this.admin.getUser(tenant, id);
  }

  @Patch(':id')
  @ApiOperation({ operationId: 'updateUser', summary: 'Update or suspend a user (suspending revokes their refresh tokens)' })
  @ApiOkResponse({ type: UserResponse, description: 'The user with their role in the tenant' })
  @NotFound()
  @Conflict()
  @AdminChange()
  update(@Param() { tenant, id }: TenantRecordPathDto, @Body() input: UpdateUserDto, @Actor() who: AdminActor) {
    return this.admin.updateUser(tenant, id, input, who);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteUser', summary: 'Remove a user and their records' })
  @ApiNoContentResponse({ description: 'Removed' })
  @NotFound()
  @AdminChange()
  async remove(@Param() { tenant, id }: TenantRecordPathDto, @Actor() who: AdminActor): Promise<void> {
    await this.admin.deleteUser(tenant, id, who);
  }

  @Put(':id/membership')
  @ApiOperation({ operationId: 'putMembership', summary: 'Add or change a membership' })
  @ApiOkResponse({ type: UserResponse, description: 'The user with their role in the tenant' })
  @NotFound()
  @Conflict()
  @AdminChange()
  putMembership(@Param() { tenant, id }: TenantRecordPathDto, @Body() input: PutMembershipDto, @Actor() who: AdminActor) {
    return this.admin.putMembership(tenant, id, input.role, who);
  }

  @Delete(':id/membership')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteMembership', summary: 'Remove a membership' })
  @ApiNoContentResponse({ description: 'Removed' })
  @NotFound()
  @AdminChange()
  async removeMembership(@Param() { tenant, id }: TenantRecordPathDto, @Actor() who: AdminActor): Promise<void> {
    await this.admin.removeMembership(tenant, id, who);
  }
}

/** `/admin/tenants/:tenant/issuers`: credential issuers; the client private key is write-only. */
@ApiTags('issuers')
@Controller('admin/tenants/:tenant/issuers')
@UseGuards(AdminTokenGuard)
export class IssuersController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  @ApiOperation({ operationId: 'listIssuers', summary: 'List issuers' })
  @ApiOkResponse({ type: IssuerListResponse, description: 'A page of issuers, in id order' })
  @NotFound(NO_TENANT)
  list(@Param() { tenant }: TenantPathDto, @Query() q: ListQueryDto) {
    return this.admin.listIssuers(tenant, q);
  }

  @Post()
  @ApiOperation({ operationId: 'createIssuer', summary: 'Create an issuer (client_private_key is write-only)' })
  @ApiCreatedResponse({ type: IssuerResponse, description: 'The issuer (without its client private key)' })
  @NotFound(NO_TENANT)
  @Conflict()
  @AdminChange()
  create(@Param() { tenant }: TenantPathDto, @Body() input: CreateIssuerDto, @Actor() who: AdminActor) {
    return this.admin.createIssuer(tenant, input, who);
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getIssuer', summary: 'Get an issuer' })
  @ApiOkResponse({ type: IssuerResponse, description: 'The issuer (without its client private key)' })
  @NotFound()
  get(@Param() { tenant, id }: TenantRecordPathDto) {
    return this.admin.getIssuer(tenant, id);
  }

  @Patch(':id')
  @ApiOperation({ operationId: 'updateIssuer', summary: 'Update an issuer' })
  @ApiOkResponse({ type: IssuerResponse, description: 'The issuer (without its client private key)' })
  @NotFound()
  @Conflict()
  @AdminChange()
  update(@Param() { tenant, id }: TenantRecordPathDto, @Body() input: UpdateIssuerDto, @Actor() who: AdminActor) {
    return this.admin.updateIssuer(tenant, id, input, who);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteIssuer', summary: 'Delete an issuer' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @NotFound()
  @AdminChange()
  async remove(@Param() { tenant, id }: TenantRecordPathDto, @Actor() who: AdminActor): Promise<void> {
    await this.admin.deleteIssuer(tenant, id, who);
  }
}

/** `/admin/tenants/:tenant/verifiers`: relying parties shown to the tenant's wallets. */
@ApiTags('verifiers')
@Controller('admin/tenants/:tenant/verifiers')
@UseGuards(AdminTokenGuard)
export class VerifiersController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  @ApiOperation({ operationId: 'listVerifiers', summary: 'List verifiers' })
  @ApiOkResponse({ type: VerifierListResponse, description: 'A page of verifiers, in id order' })
  @NotFound(NO_TENANT)
  list(@Param() { tenant }: TenantPathDto, @Query() q: ListQueryDto) {
    return this.admin.listVerifiers(tenant, q);
  }

  @Post()
  @ApiOperation({ operationId: 'createVerifier', summary: 'Create a verifier' })
  @ApiCreatedResponse({ type: VerifierResponse, description: 'The verifier' })
  @NotFound(NO_TENANT)
  @Conflict()
  @AdminChange()
  create(@Param() { tenant }: TenantPathDto, @Body() input: CreateVerifierDto, @Actor() who: AdminActor) {
    return this.admin.createVerifier(tenant, input, who);
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getVerifier', summary: 'Get a verifier' })
  @ApiOkResponse({ type: VerifierResponse, description: 'The verifier' })
  @NotFound()
  get(@Param() { tenant, id }: TenantRecordPathDto) {
    return this.admin.getVerifier(tenant, id);
  }

  @Patch(':id')
  @ApiOperation({ operationId: 'updateVerifier', summary: 'Update a verifier' })
  @ApiOkResponse({ type: VerifierResponse, description: 'The verifier' })
  @NotFound()
  @Conflict()
  @AdminChange()
  update(@Param() { tenant, id }: TenantRecordPathDto, @Body() input: UpdateVerifierDto, @Actor() who: AdminActor) {
    return this.admin.updateVerifier(tenant, id, input, who);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteVerifier', summary: 'Delete a verifier' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @NotFound()
  @AdminChange()
  async remove(@Param() { tenant, id }: TenantRecordPathDto, @Actor() who: AdminActor): Promise<void> {
    await this.admin.deleteVerifier(tenant, id, who);
  }
}

/** `/admin/tenants/:tenant/invites`: invite codes, shown once when created. */
@ApiTags('invites')
@Controller('admin/tenants/:tenant/invites')
@UseGuards(AdminTokenGuard)
export class InvitesController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  @ApiOperation({ operationId: 'listInvites', summary: 'List invites (codes are never listed)' })
  @ApiOkResponse({ type: InviteListResponse, description: 'A page of invites (without codes), in id order' })
  @NotFound(NO_TENANT)
  list(@Param() { tenant }: TenantPathDto, @Query() q: ListQueryDto) {
    return this.admin.listInvites(tenant, q);
  }

  /** The body may be left out: every field has a default. */
  @Post()
  @ApiOperation({ operationId: 'createInvites', summary: 'Create invite codes (returned once; only their SHA-256 is stored). The body may be left out' })
  @ApiBody({ type: CreateInvitesDto, required: false })
  @ApiCreatedResponse({ type: CreatedInvitesResponse, description: 'The new invites with their codes (shown only here)' })
  @NotFound(NO_TENANT)
  @AdminChange()
  create(@Param() { tenant }: TenantPathDto, @Body() input: CreateInvitesDto, @Actor() who: AdminActor) {
    return this.admin.createInvites(tenant, input, who);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @ApiOperation({ operationId: 'revokeInvite', summary: 'Revoke an invite' })
  @ApiOkResponse({ type: InviteResponse, description: 'The invite' })
  @NotFound()
  @AdminChange()
  revoke(@Param() { tenant, id }: TenantRecordPathDto, @Actor() who: AdminActor) {
    return this.admin.revokeInvite(tenant, id, who);
  }

  @Post(':id/renew')
  @HttpCode(200)
  @ApiOperation({ operationId: 'renewInvite', summary: 'Renew an invite (new expiry, optional new use limit; un-revokes). The body may be left out' })
  @ApiBody({ type: RenewInviteDto, required: false })
  @ApiOkResponse({ type: InviteResponse, description: 'The invite' })
  @NotFound()
  @AdminChange()
  renew(@Param() { tenant, id }: TenantRecordPathDto, @Body() input: RenewInviteDto, @Actor() who: AdminActor) {
    return this.admin.renewInvite(tenant, id, input, who);
  }
}
