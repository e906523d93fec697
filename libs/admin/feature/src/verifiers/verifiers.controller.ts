import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminTokenGuard } from '@wallet/platform';
import { Actor, type AdminActor } from '../admin-actor';
import { AdminChange, Conflict, NO_TENANT, NotFound } from '../admin-api.decorators';
import { ListQueryDto, TenantPathDto, TenantRecordPathDto } from '../admin-params.dto';
import { VerifierListResponse, VerifierResponse } from './verifiers-responses.dto';
import { VerifiersService } from './verifiers.service';
import { CreateVerifierDto, UpdateVerifierDto } from './verifiers.dto';

/** `/admin/tenants/:tenant/verifiers`: relying parties shown to the tenant's wallets. */
@ApiTags('verifiers')
@Controller('admin/tenants/:tenant/verifiers')
@UseGuards(AdminTokenGuard)
export class VerifiersController {
  constructor(private readonly verifiers: VerifiersService) {}

  @Get()
  @ApiOperation({ operationId: 'listVerifiers', summary: 'List verifiers' })
  @ApiOkResponse({ type: VerifierListResponse, description: 'A page of verifiers, in id order' })
  @NotFound(NO_TENANT)
  list(@Param() { tenant }: TenantPathDto, @Query() q: ListQueryDto) {
    return this.verifiers.listVerifiers(tenant, q);
  }

  @Post()
  @ApiOperation({ operationId: 'createVerifier', summary: 'Create a verifier' })
  @ApiCreatedResponse({ type: VerifierResponse, description: 'The verifier' })
  @NotFound(NO_TENANT)
  @Conflict()
  @AdminChange()
  create(@Param() { tenant }: TenantPathDto, @Body() input: CreateVerifierDto, @Actor() who: AdminActor) {
    return this.verifiers.createVerifier(tenant, input, who);
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getVerifier', summary: 'Get a verifier' })
  @ApiOkResponse({ type: VerifierResponse, description: 'The verifier' })
  @NotFound()
  get(@Param() { tenant, id }: TenantRecordPathDto) {
    return this.verifiers.getVerifier(tenant, id);
  }

  @Patch(':id')
  @ApiOperation({ operationId: 'updateVerifier', summary: 'Update a verifier' })
  @ApiOkResponse({ type: VerifierResponse, description: 'The verifier' })
  @NotFound()
  @Conflict()
  @AdminChange()
  update(@Param() { tenant, id }: TenantRecordPathDto, @Body() input: UpdateVerifierDto, @Actor() who: AdminActor) {
    return this.verifiers.updateVerifier(tenant, id, input, who);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteVerifier', summary: 'Delete a verifier' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @NotFound()
  @AdminChange()
  async remove(@Param() { tenant, id }: TenantRecordPathDto, @Actor() who: AdminActor): Promise<void> {
    await this.verifiers.deleteVerifier(tenant, id, who);
  }
}
