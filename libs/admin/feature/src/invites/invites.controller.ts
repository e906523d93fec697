import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminTokenGuard } from '@wallet/platform';
import { Actor, type AdminActor } from '../admin-actor';
import { AdminChange, NO_TENANT, NotFound } from '../admin-api.decorators';
import { ListQueryDto, TenantPathDto, TenantRecordPathDto } from '../admin-params.dto';
import { CreatedInvitesResponse, InviteListResponse, InviteResponse } from './invites-responses.dto';
import { InvitesService } from './invites.service';
import { CreateInvitesDto, RenewInviteDto } from './invites.dto';

/** `/admin/tenants/:tenant/invites`: invite codes, shown once when created. */
@ApiTags('invites')
@Controller('admin/tenants/:tenant/invites')
@UseGuards(AdminTokenGuard)
export class InvitesController {
  constructor(private readonly invites: InvitesService) {}

  @Get()
  @ApiOperation({ operationId: 'listInvites', summary: 'List invites (codes are never listed)' })
  @ApiOkResponse({ type: InviteListResponse, description: 'A page of invites (without codes), in id order' })
  @NotFound(NO_TENANT)
  list(@Param() { tenant }: TenantPathDto, @Query() q: ListQueryDto) {
    return this.invites.listInvites(tenant, q);
  }

  /** The body may be left out: every field has a default. */
  @Post()
  @ApiOperation({ operationId: 'createInvites', summary: 'Create invite codes (returned once; only their SHA-256 is stored). The body may be left out' })
  @ApiBody({ type: CreateInvitesDto, required: false })
  @ApiCreatedResponse({ type: CreatedInvitesResponse, description: 'The new invites with their codes (shown only here)' })
  @NotFound(NO_TENANT)
  @AdminChange()
  create(@Param() { tenant }: TenantPathDto, @Body() input: CreateInvitesDto, @Actor() who: AdminActor) {
    return this.invites.createInvites(tenant, input, who);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @ApiOperation({ operationId: 'revokeInvite', summary: 'Revoke an invite' })
  @ApiOkResponse({ type: InviteResponse, description: 'The invite' })
  @NotFound()
  @AdminChange()
  revoke(@Param() { tenant, id }: TenantRecordPathDto, @Actor() who: AdminActor) {
    return this.invites.revokeInvite(tenant, id, who);
  }

  @Post(':id/renew')
  @HttpCode(200)
  @ApiOperation({ operationId: 'renewInvite', summary: 'Renew an invite (new expiry, optional new use limit; un-revokes). The body may be left out' })
  @ApiBody({ type: RenewInviteDto, required: false })
  @ApiOkResponse({ type: InviteResponse, description: 'The invite' })
  @NotFound()
  @AdminChange()
  renew(@Param() { tenant, id }: TenantRecordPathDto, @Body() input: RenewInviteDto, @Actor() who: AdminActor) {
    return this.invites.renewInvite(tenant, id, input, who);
  }
}
