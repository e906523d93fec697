import { Controller, Get, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from '@wallet/platform';
import { buildAdminOpenApi } from './admin-openapi';

/** `GET /admin/openapi.json`: the admin API description (OpenAPI 3.1). */
@Controller('admin')
@UseGuards(AdminTokenGuard)
export class OpenApiController {
  private readonly document = buildAdminOpenApi();

  @Get('openapi.json')
  openapi(): Record<string, unknown> {
    return this.document;
  }
}
