import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminTokenGuard } from '@wallet/platform';
import { Actor, type AdminActor } from '../admin-actor';
import { AdminChange, Conflict, NO_TENANT, NotFound } from '../admin-api.decorators';
import { ListQueryDto, TenantPathDto, TenantRecordPathDto } from '../admin-params.dto';
import { IssuerListResponse, IssuerResponse } from './issuers-responses.dto';
import { IssuersService } from './issuers.service';
import { CreateIssuerDto, UpdateIssuerDto } from './issuers.dto';

/** `/admin/tenants/:tenant/issuers`: credential issuers; the client private key is write-only. */
@ApiTags('issuers')
@Controller('admin/tenants/:tenant/issuers')
@UseGuards(AdminTokenGuard)
export class IssuersController {
  constructor(private readonly issuers: IssuersService) {}

  @Get()
  @ApiOperation({ operationId: 'listIssuers', summary: 'List issuers' })
  @ApiOkResponse({ type: IssuerListResponse, description: 'A page of issuers, in id order' })
  @NotFound(NO_TENANT)
  list(@Param() { tenant }: TenantPathDto, @Query() q: ListQueryDto) {
    return this.issuers.listIssuers(tenant, q);
  }

  @Post()
  @ApiOperation({ operationId: 'createIssuer', summary: 'Create an issuer (client_private_key is write-only)' })
  @ApiCreatedResponse({ type: IssuerResponse, description: 'The issuer (without its client private key)' })
  @NotFound(NO_TENANT)
  @Conflict()
  @AdminChange()
  create(@Param() { tenant }: TenantPathDto, @Body() input: CreateIssuerDto, @Actor() who: AdminActor) {
    return this.issuers.createIssuer(tenant, input, who);
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getIssuer', summary: 'Get an issuer' })
  @ApiOkResponse({ type: IssuerResponse, description: 'The issuer (without its client private key)' })
  @NotFound()
  get(@Param() { tenant, id }: TenantRecordPathDto) {
    return this.issuers.getIssuer(tenant, id);
  }

  @Patch(':id')
  @ApiOperation({ operationId: 'updateIssuer', summary: 'Update an issuer' })
  @ApiOkResponse({ type: IssuerResponse, description: 'The issuer (without its client private key)' })
  @NotFound()
  @Conflict()
  @AdminChange()
  update(@Param() { tenant, id }: TenantRecordPathDto, @Body() input: UpdateIssuerDto, @Actor() who: AdminActor) {
    return this.issuers.updateIssuer(tenant, id, input, who);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteIssuer', summary: 'Delete an issuer' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @NotFound()
  @AdminChange()
  async remove(@Param() { tenant, id }: TenantRecordPathDto, @Actor() who: AdminActor): Promise<void> {
    await this.issuers.deleteIssuer(tenant, id, who);
  }
}
