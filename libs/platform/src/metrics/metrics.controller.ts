import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/public.decorator';
import { HttpMetrics } from './metrics';

@ApiTags('platform')
@Public({ tenant: false })
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(HttpMetrics) private readonly metrics: HttpMetrics) {}

  @Get()
  @Header('cache-control', 'no-store')
  @ApiOperation({ operationId: 'getMetrics', summary: 'Prometheus metrics of this server (when `metrics.enabled`; else 404)' })
  @ApiOkResponse({ description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } })
  async render(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const { contentType, body } = await this.metrics.render();
    void reply.header('content-type', contentType);
    return body;
  }
}
