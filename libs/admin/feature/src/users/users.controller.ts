import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, UseGuards } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminTokenGuard, ApiProblem } from '@wallet/platform';
import { Actor, type AdminActor } from '../admin-actor';
import { AdminChange, Conflict, NO_TENANT, NotFound } from '../admin-api.decorators';
import { ListQueryDto, TenantPathDto, TenantRecordPathDto } from '../admin-params.dto';
import { UserListResponse, UserResponse } from './users-responses.dto';
import { UsersService } from './users.service';
import { CreateUserDto, PutMembershipDto, UpdateUserDto } from './users.dto';

/** The 503 of a suspension or removal whose token revocation could not be written. */
const REVOCATION_UNAVAILABLE =
  'The user’s tokens could not all be revoked: the shared cache or the store did not answer (`unavailable`). The detail says whether anything was changed; repeat the request, it revokes again';

/** `/admin/tenants/:tenant/users`: accounts and their membership in the tenant. */
@ApiTags('users')
@Controller('admin/tenants/:tenant/users')
@UseGuards(AdminTokenGuard)
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOperation({ operationId: 'listUsers', summary: 'List users of a tenant' })
  @ApiOkResponse({ type: UserListResponse, description: 'A page of users, in id order' })
  @NotFound(NO_TENANT)
  list(@Param() { tenant }: TenantPathDto, @Query() q: ListQueryDto) {
    return this.users.listUsers(tenant, q);
  }

  @Post()
  @ApiOperation({ operationId: 'createUser', summary: 'Add a user (pre-provisioned account with a membership)' })
  @ApiCreatedResponse({ type: UserResponse, description: 'The user with their role in the tenant' })
  @NotFound(NO_TENANT)
  @Conflict()
  @AdminChange()
  create(@Param() { tenant }: TenantPathDto, @Body() input: CreateUserDto, @Actor() who: AdminActor) {
    return this.users.createUser(tenant, input, who);
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getUser', summary: 'Get a user' })
  @ApiOkResponse({ type: UserResponse, description: 'The user with their role in the tenant' })
  @NotFound()
  get(@Param() { tenant, id }: TenantRecordPathDto) {
    return this.users.getUser(tenant, id);
  }

  @Patch(':id')
  @ApiOperation({ operationId: 'updateUser', summary: 'Update or suspend a user (suspending revokes all their access tokens and sessions at once)' })
  @ApiOkResponse({ type: UserResponse, description: 'The user with their role in the tenant' })
  @NotFound()
  @Conflict()
  @ApiProblem(503, REVOCATION_UNAVAILABLE, 'unavailable')
  @AdminChange()
  update(@Param() { tenant, id }: TenantRecordPathDto, @Body() input: UpdateUserDto, @Actor() who: AdminActor) {
    return this.users.updateUser(tenant, id, input, who);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    operationId: 'deleteUser',
    summary: 'Remove a user and everything they own (revokes all their access tokens and sessions at once)',
    description:
      'Erases what the user\'s own account deletion erases: their memberships, passkeys, refresh tokens, stored credentials and presentations, ' +
      'their whole encrypted vault (records, tombstones, tags, sync state), and last the user record with the keystore blob. ' +
      'A removal that failed (503) can be repeated until it answers 204. Audit events about the user stay.',
  })
  @ApiNoContentResponse({ description: 'Removed' })
  @NotFound()
  @ApiProblem(503, REVOCATION_UNAVAILABLE, 'unavailable')
  @AdminChange()
  async remove(@Param() { tenant, id }: TenantRecordPathDto, @Actor() who: AdminActor): Promise<void> {
    await this.users.deleteUser(tenant, id, who);
  }

  @Put(':id/membership')
  @ApiOperation({ operationId: 'putMembership', summary: 'Add or change a membership' })
  @ApiOkResponse({ type: UserResponse, description: 'The user with their role in the tenant' })
  @NotFound()
  @Conflict()
  @AdminChange()
  putMembership(@Param() { tenant, id }: TenantRecordPathDto, @Body() input: PutMembershipDto, @Actor() who: AdminActor) {
    return this.users.putMembership(tenant, id, input.role, who);
  }

  @Delete(':id/membership')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteMembership', summary: 'Remove a membership' })
  @ApiNoContentResponse({ description: 'Removed' })
  @NotFound()
  @AdminChange()
  async removeMembership(@Param() { tenant, id }: TenantRecordPathDto, @Actor() who: AdminActor): Promise<void> {
    await this.users.removeMembership(tenant, id, who);
  }
}
