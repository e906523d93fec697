import { Body, Controller, Get, Module, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';
import { createCache } from '@wallet/cache';
import { loadConfig, type WalletConfig } from '@wallet/config';
import { createStore } from '@wallet/persistence';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsBoolean, IsIn, IsInt, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import pino from 'pino';
import { AdminTokenGuard } from '../admin/admin-token';
import { Public } from '../auth/public.decorator';
import { createServiceApp, type RunningService } from '../bootstrap/create-service-app';
import type { Runtime } from '../bootstrap/runtime';
import { RateLimit } from '../rate-limit/rate-limit.decorator';
import { Omittable } from '../validation/omittable.decorator';
import { toOpenApi31 } from './api-document';
import { ApiProblem, componentSchema } from './problem-responses';
import { ServiceApi } from './service-api';

const ADMIN_TOKEN = 'openapi-spec-admin-token-0123456789abcdef';

class SizeDto {
  @ApiProperty({ description: 'Width in mm', example: 210 }) @IsInt() @Min(1) @Max(5000) width!: number;
}

class WidgetDto {
  @ApiProperty({ example: 'w-1' }) @IsString() @Matches(/^[a-z0-9-]{1,32}$/) @MaxLength(32) id!: string;
  @ApiProperty() @Omittable() @IsBoolean() shiny?: boolean;
  @ApiProperty({ type: String }) @IsOptional() @IsString() note?: string | null;
  @ApiProperty({ type: () => SizeDto }) @IsObject() @ValidateNested() @Type(() => SizeDto) size!: SizeDto;
  @ApiProperty({ type: [String] }) @ArrayMaxSize(3) @Matches(/^[a-z]+$/, { each: true }) tags: string[] = [];
  @ApiProperty() @IsIn(['red', 'blue']) colour: 'red' | 'blue' = 'red';
  // Validated but not documented: the builder reports it.
  @IsString() @Omittable() secretSauce?: string;
}

class PageQueryDto {
  @ApiPropertyOptional({ description: 'Page size' }) @Type(() => Number) @IsInt() @Min(1) @Max(100) limit = 10;
}

class WidgetPathDto {
  @ApiProperty({ description: 'The widget id' }) @Matches(/^[a-z0-9-]{1,32}$/) id!: string;
}

@Controller('widgets')
class WidgetsController {
  @Post()
  @RateLimit({ bucket: 'widgets', rule: { limit: 5, windowMs: 1000 } })
  create(@Body() widget: WidgetDto): unknown {
    return widget;
  }

  @Get()
  list(@Query() query: PageQueryDto): unknown {
    return { query };
  }

  @Get(':id')
  @ApiProblem(404, 'No such widget', 'not_found')
  get(@Param() params: WidgetPathDto): unknown {
    return params;
  }
}

@Public()
@Controller('open')
class OpenController {
  @Get('teapot')
  @ApiResponse({ status: 400, description: 'A different 400' })
  teapot(): unknown {
    return {};
  }

  @Get('gadget')
  @ApiOkResponse({ schema: componentSchema('Gadget', { type: 'object', properties: { parts: { type: 'array', items: componentSchema('Part', { type: 'string' }) } } }) })
  gadget(): unknown {
    return { parts: [] };
  }
}

@UseGuards(AdminTokenGuard)
@Controller('registry/ops')
class AdminOpsController {
  @Post('flush')
  flush(): unknown {
    return {};
  }
}

@ServiceApi('registry')
@Module({ controllers: [WidgetsController, OpenController, AdminOpsController], providers: [AdminTokenGuard] })
class WidgetsModule {}

/** Not tagged: its routes are in no document. */
@Public({ tenant: false })
@Controller('elsewhere')
class ElsewhereController {
  @Get()
  get(): unknown {
    return {};
  }
}
@Module({ controllers: [ElsewhereController] })
class ElsewhereModule {}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- documents are checked field by field

async function start(config: WalletConfig): Promise<{ server: RunningService; runtime: Runtime }> {
  const runtime: Runtime = { config, store: await createStore({ type: 'memory' }), cache: await createCache({ type: 'memory' }), logger: pino({ level: 'silent' }) };
  const server = await createServiceApp({ info: { name: 'registry', services: ['registry'] }, imports: [WidgetsModule, ElsewhereModule], runtime, port: 0 });
  return { server, runtime };
}

async function stop({ server, runtime }: { server: RunningService; runtime: Runtime }): Promise<void> {
  await server.close();
  await runtime.store.close();
  await runtime.cache.close();
}

describe('a service’s OpenAPI document', () => {
  const config = loadConfig({ argv: [], env: { WALLET_STORAGE_TYPE: 'memory', WALLET_SERVER_HOST: '127.0.0.1', WALLET_SERVER_ADMIN_TOKEN: ADMIN_TOKEN } }).config;
  let running: { server: RunningService; runtime: Runtime };
  let doc: Json;

  beforeAll(async () => {
    running = await start(config);
    doc = running.server.apiDocuments.get('registry') as Json;
  });
  afterAll(() => stop(running));

  it('is OpenAPI 3.1 with the routes of the tagged modules and the platform’s, and no others', () => {
    expect(doc['openapi']).toBe('3.1.0');
    expect(doc['info']).toMatchObject({ title: 'Wallet registry API', version: '1.0.0' });
    const operations = Object.entries(doc['paths'] as Json).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));
    expect(operations.sort()).toEqual(
      ['get /', 'get /health/live', 'get /health/ready', 'get /metrics', 'post /widgets', 'get /widgets', 'get /widgets/{id}', 'get /open/teapot', 'get /open/gadget', 'post /registry/ops/flush', 'get /registry/openapi.json'].sort(),
    );
  });

  it('declares security as the routes are guarded, with the schemes used', () => {
    expect(doc['paths']['/widgets']['post']['security']).toEqual([{ accessToken: [] }]);
    expect(doc['paths']['/open/teapot']['get']['security']).toEqual([]);
    expect(doc['paths']['/registry/ops/flush']['post']['security']).toEqual([{ adminToken: [] }]);
    expect(doc['paths']['/health/live']['get']['security']).toEqual([]);
    expect(Object.keys(doc['components']['securitySchemes'])).toEqual(['accessToken', 'adminToken']);
    expect(doc['components']['securitySchemes']['accessToken']).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('lists the common problem+json answers unless a route documents its own', () => {
    const responses = (path: string, method: string) => doc['paths'][path][method]['responses'] as Json;
    expect(Object.keys(responses('/widgets', 'post'))).toEqual(['201', '400', '401', '403', '404', '429']);
    expect(responses('/widgets', 'post')['400']['content']['application/problem+json']['schema']).toEqual({ $ref: '#/components/schemas/ValidationProblem' });
    expect(responses('/widgets/{id}', 'get')['404']).toMatchObject({
      description: 'No such widget',
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' }, example: { code: 'not_found', status: 404 } } },
    });
    expect(Object.keys(responses('/registry/ops/flush', 'post'))).toEqual(['201', '400', '401']);
    expect(responses('/open/teapot', 'get')['400']).toEqual({ description: 'A different 400' });
    expect(Object.keys(responses('/open/teapot', 'get'))).toEqual(['200', '400', '404']);
    expect(Object.keys(doc['components']['schemas'])).toEqual(expect.arrayContaining(['Problem', 'ValidationProblem']));
    // A success answer documented without words gets the status text.
    expect(responses('/widgets', 'post')['201']['description']).toBe('Created');
  });

  it('keeps schemas given as JSON Schema (componentSchema) once in the components, with the ones they reference', () => {
    expect(doc['paths']['/open/gadget']['get']['responses']['200']['content']['application/json']['schema']).toEqual({ $ref: '#/components/schemas/Gadget' });
    expect(doc['components']['schemas']['Gadget']).toEqual({ type: 'object', properties: { parts: { type: 'array', items: { $ref: '#/components/schemas/Part' } } } });
    expect(doc['components']['schemas']['Part']).toEqual({ type: 'string' });
    expect(() => componentSchema('Part', { type: 'integer' })).toThrow(/two different component schemas named Part/);
  });

  it('names the tenant header on tenant-scoped routes only', () => {
    const header = (path: string, method: string) => ((doc['paths'][path][method]['parameters'] ?? []) as Json[]).some((p) => p['name'] === 'X-Tenant-ID');
    expect(header('/widgets', 'get')).toBe(true);
    expect(header('/open/teapot', 'get')).toBe(true);
    expect(header('/registry/ops/flush', 'post')).toBe(false);
    expect(header('/health/live', 'get')).toBe(false);
  });

  it('shows in the DTO schemas what class-validator enforces: constraints, required, nullable, no unknown fields', () => {
    const widget = doc['components']['schemas']['WidgetDto'] as Json;
    expect(widget['additionalProperties']).toBe(false);
    // `tags` and `colour` have initializers, which the pipe applies when they are left out.
    expect([...(widget['required'] as string[])].sort()).toEqual(['id', 'size']);
    expect(widget['properties']['id']).toEqual({ type: 'string', pattern: '^[a-z0-9-]{1,32}$', maxLength: 32, example: 'w-1' });
    expect(widget['properties']['shiny']).toEqual({ type: 'boolean' });
    expect(widget['properties']['note']).toEqual({ type: ['string', 'null'] });
    expect(widget['properties']['size']).toEqual({ $ref: '#/components/schemas/SizeDto' });
    expect(widget['properties']['tags']).toEqual({ type: 'array', maxItems: 3, items: { type: 'string', pattern: '^[a-z]+$' }, default: [] });
    expect(widget['properties']['colour']).toMatchObject({ enum: ['red', 'blue'], default: 'red' });
    expect(widget['properties']['secretSauce']).toBeUndefined();
    expect(doc['components']['schemas']['SizeDto']['properties']['width']).toEqual({ type: 'integer', minimum: 1, maximum: 5000, description: 'Width in mm', example: 210 });
    expect(running.server.apiDocuments.undocumented('registry')).toEqual(['WidgetDto.secretSauce']);
  });

  it('explodes query and path DTOs into parameters with their constraints', () => {
    const list = (doc['paths']['/widgets']['get']['parameters'] as Json[]).find((p) => p['name'] === 'limit');
    expect(list).toMatchObject({ in: 'query', required: false, description: 'Page size', schema: { type: 'integer', minimum: 1, maximum: 100, default: 10 } });
    const id = (doc['paths']['/widgets/{id}']['get']['parameters'] as Json[]).find((p) => p['name'] === 'id');
    expect(id).toMatchObject({ in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9-]{1,32}$' } });
  });

  it('serves the document at the service’s path; Swagger UI in development only', async () => {
    const served = await fetch(`${running.server.url}/registry/openapi.json`);
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual(JSON.parse(JSON.stringify(doc)));
    const ui = await fetch(`${running.server.url}/registry/docs`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toContain('text/html');
    expect(await (await fetch(`${running.server.url}/registry/docs/swagger-ui-init.js`)).text()).toContain('"Wallet registry API"');

    const production = await start({ ...config, mode: 'production' });
    try {
      expect((await fetch(`${production.server.url}/registry/openapi.json`)).status).toBe(200);
      expect((await fetch(`${production.server.url}/registry/docs`)).status).toBe(404);
      expect((await fetch(`${production.server.url}/registry/docs/swagger-ui-init.js`)).status).toBe(404);
    } finally {
      await stop(production);
    }
  });

  it('converts @nestjs/swagger’s 3.0 nullable schemas to 3.1', () => {
    expect(
      toOpenApi31({
        a: { type: 'string', nullable: true },
        b: { $ref: '#/x', nullable: true, description: 'd' },
        c: { type: 'string', enum: ['x'], nullable: true },
        d: { type: 'integer', nullable: false },
        e: { allOf: [{ $ref: '#/y' }], nullable: true },
      }),
    ).toEqual({
      a: { type: ['string', 'null'] },
      b: { description: 'd', anyOf: [{ $ref: '#/x' }, { type: 'null' }] },
      c: { type: ['string', 'null'], enum: ['x', null] },
      d: { type: 'integer' },
      e: { anyOf: [{ allOf: [{ $ref: '#/y' }] }, { type: 'null' }] },
    });
  });
});
