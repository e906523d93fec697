import { Body, Controller, Delete, Get, HttpCode, Param, Put, Query, UseGuards } from '@nestjs/common';
import { ApiBody, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminTokenGuard, ApiProblem, componentSchema, ZodPipe, zodJsonSchema } from '@wallet/platform';
import { zVerifierServiceDefinition, type VerifierService } from '@wallet/protocol';
import { Actor, type AdminActor } from '../admin-actor';
import { AdminChange, NotFound } from '../admin-api.decorators';
import { ListQueryDto, RecordPathDto } from '../admin-params.dto';
import { VerifierServiceDefinitionsService } from './verifier-service-definitions.service';

/**
 * The verifier services file's shape (docs/verifier.md), which the verifier
 * parses with the same zod schema: by ADR 0015 it stays zod, and the body is
 * documented from the schema.
 */
const VERIFIER_SERVICE_SCHEMA = componentSchema('VerifierService', {
  ...zodJsonSchema(zVerifierServiceDefinition),
  description: 'A relying-party service of the verifier, in the shape of the verifier services file (docs/verifier.md)',
});
const VERIFIER_SERVICE_LIST_SCHEMA = componentSchema('VerifierServiceList', {
  type: 'object',
  properties: {
    items: { type: 'array', items: VERIFIER_SERVICE_SCHEMA },
    next_cursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page; null: no more' },
  },
  required: ['items', 'next_cursor'],
});

/**
 * `/admin/verifier-services[/:id]`: the verifier's relying-party services
 * (scopes, DCQL or Presentation Exchange queries, trusted issuers, token
 * shapes), in the same shape as the verifier's services file. Every verifier
 * replica picks a change up within seconds; a service here wins over a file
 * entry with the same id.
 */
@ApiTags('verifier-services')
@Controller('admin/verifier-services')
@UseGuards(AdminTokenGuard)
export class VerifierServicesController {
  constructor(private readonly definitions: VerifierServiceDefinitionsService) {}

  @Get()
  @ApiOperation({ operationId: 'listVerifierServices', summary: 'List the verifier’s relying-party services' })
  @ApiOkResponse({ schema: VERIFIER_SERVICE_LIST_SCHEMA, description: 'A page of verifier services, in id order' })
  list(@Query() q: ListQueryDto) {
    return this.definitions.listVerifierServices(q);
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getVerifierService', summary: 'Get a verifier service' })
  @ApiOkResponse({ schema: VERIFIER_SERVICE_SCHEMA, description: 'The verifier service, with the defaults the schema applies' })
  @NotFound('The verifier service does not exist')
  get(@Param() { id }: RecordPathDto) {
    return this.definitions.getVerifierService(id);
  }

  /** Creates or replaces the service; the body's `id` must equal the path's. */
  @Put(':id')
  @ApiOperation({ operationId: 'putVerifierService', summary: 'Create or replace a verifier service (the verifier picks it up within seconds); the body’s id must equal the path’s' })
  @ApiBody({ schema: VERIFIER_SERVICE_SCHEMA })
  @ApiOkResponse({ schema: VERIFIER_SERVICE_SCHEMA, description: 'The verifier service, with the defaults the schema applies' })
  @ApiProblem(409, 'A concurrent change', 'version_conflict')
  @AdminChange()
  put(@Param() { id }: RecordPathDto, @Body(new ZodPipe(zVerifierServiceDefinition, 'body')) input: VerifierService, @Actor() who: AdminActor) {
    return this.definitions.putVerifierService(id, input, who);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteVerifierService', summary: 'Delete a verifier service' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @NotFound('The verifier service does not exist')
  @AdminChange()
  async remove(@Param() { id }: RecordPathDto, @Actor() who: AdminActor): Promise<void> {
    await this.definitions.deleteVerifierService(id, who);
  }
}
