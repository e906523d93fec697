import { Body, Controller, Get, Module, Param, Post, Query } from '@nestjs/common';
import { createCache } from '@wallet/cache';
import { loadConfig } from '@wallet/config';
import { createStore } from '@wallet/persistence';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import pino from 'pino';
import { z } from 'zod';
import { Public } from '../auth/public.decorator';
import { createServiceApp, type RunningService } from '../bootstrap/create-service-app';
import type { Runtime } from '../bootstrap/runtime';
import { MAX_OBJECT_KEYS, nestsDeeperThan, widerThan } from './validation.pipe';
import { Omittable } from './omittable.decorator';
import { ZodPipe } from './zod-input';

class AddressDto {
  @IsString() @MinLength(1) @MaxLength(100) street!: string;
  @Omittable() @IsString() city?: string;
}

class ItemDto {
  @IsString() @Matches(/^[a-z0-9-]{1,32}$/, { message: 'must be a lowercase id' }) id!: string;
  @IsInt() @Min(1) @Max(99) quantity!: number;
}

class OrderDto {
  @IsString() @MinLength(1) @MaxLength(20) name!: string;
  @Omittable() @IsBoolean() express?: boolean;
  @IsOptional() @IsString() note?: string | null;
  @IsObject() @ValidateNested() @Type(() => AddressDto) address!: AddressDto;
  @ArrayMaxSize(5) @ValidateNested({ each: true }) @Type(() => ItemDto) items: ItemDto[] = [];
  @Omittable() @ArrayMaxSize(4) @ArrayUnique({ message: 'must not repeat a tag' }) @Matches(/^[a-z]+$/, { each: true, message: 'must be lowercase letters' }) tags?: string[];
  @IsIn(['standard', 'gift']) wrapping: 'standard' | 'gift' = 'standard';
}

class OptionsDto {
  @Omittable() @IsInt() @Min(60) ttl?: number;
}

class ListQueryDto {
  @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit = 100;
  @Omittable() @IsString() @MaxLength(40) cursor?: string;
}

class ShopPathDto {
  @Matches(/^[a-z][a-z0-9-]{0,62}$/, { message: 'must be a lowercase shop id' }) shop!: string;
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'must be 1-64 URL-safe characters' }) id!: string;
}

@Public({ tenant: false })
@Controller('v')
class ValidatedController {
  @Post('orders')
  create(@Body() order: OrderDto): unknown {
    return { isInstance: order instanceof OrderDto, address: order.address instanceof AddressDto, order };
  }

  @Post('options')
  options(@Body() options: OptionsDto): unknown {
    return { options };
  }

  @Get('list')
  list(@Query() query: ListQueryDto): unknown {
    return { query, type: typeof query.limit };
  }

  @Get('shops/:shop/items/:id')
  item(@Param() params: ShopPathDto): unknown {
    return { params };
  }

  @Post('raw')
  raw(@Body() body: unknown, @Query() query: Record<string, unknown>, @Param('x') x: string): unknown {
    return { body, query, x: x ?? null };
  }

  @Post('sink')
  sink(@Body() body: unknown): unknown {
    return { array: Array.isArray(body) };
  }

  @Post('zod')
  zod(@Body(new ZodPipe(z.strictObject({ n: z.number() }), 'body')) body: { n: number }): unknown {
    return body;
  }
}

@Module({ controllers: [ValidatedController] })
class ValidatedModule {}

describe('the global ValidationPipe (DTO classes, problem+json validation_failed)', () => {
  let server: RunningService;
  let runtime: Runtime;

  beforeAll(async () => {
    const config = loadConfig({ argv: [], env: { WALLET_STORAGE_TYPE: 'memory', WALLET_SERVER_HOST: '127.0.0.1' } }).config;
    runtime = { config, store: await createStore({ type: 'memory' }), cache: await createCache({ type: 'memory' }), logger: pino({ level: 'silent' }) };
    server = await createServiceApp({ info: { name: 'test', services: [] }, imports: [ValidatedModule], runtime, port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await runtime.store.close();
    await runtime.cache.close();
  });

  async function call(method: string, path: string, body?: unknown, contentType = 'application/json') {
    const response = await fetch(`${server.url}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies are checked field by field
    return { status: response.status, type: response.headers.get('content-type') ?? '', body: (text ? JSON.parse(text) : null) as Record<string, any> };
  }

  const valid = { name: 'Ada', address: { street: 'Main 1' }, items: [{ id: 'a-1', quantity: 2 }] };

  it('hands the handler an instance of the DTO, nested DTOs included, with defaults applied', async () => {
    const answer = await call('POST', '/v/orders', valid);
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({
      isInstance: true,
      address: true,
      order: { name: 'Ada', address: { street: 'Main 1' }, items: [{ id: 'a-1', quantity: 2 }], wrapping: 'standard' },
    });
  });

  it('refuses unknown fields at any depth, naming them at the object that holds them', async () => {
    const top = await call('POST', '/v/orders', { ...valid, colour: 'red' });
    expect(top.status).toBe(400);
    expect(top.type).toContain('application/problem+json');
    expect(top.body).toMatchObject({ code: 'validation_failed', detail: 'invalid body: unknown field: colour', issues: [{ path: '/', message: 'unknown field: colour' }] });

    const two = await call('POST', '/v/orders', { ...valid, a: 1, b: 2 });
    expect(two.body['issues']).toEqual([{ path: '/', message: 'unknown fields: a, b' }]);

    const nested = await call('POST', '/v/orders', { ...valid, address: { street: 'x', zip: '1' } });
    expect(nested.body['issues']).toEqual([{ path: '/address', message: 'unknown field: zip' }]);

    const inArray = await call('POST', '/v/orders', { ...valid, items: [{ id: 'a', quantity: 1 }, { id: 'b', quantity: 1, price: 3 }] });
    expect(inArray.body['issues']).toEqual([{ path: '/items/1', message: 'unknown field: price' }]);

    const longName = 'k'.repeat(500);
    const long = await call('POST', '/v/orders', { ...valid, [longName]: 1 });
    expect(long.body['issues']).toEqual([{ path: '/', message: `unknown field: ${'k'.repeat(64)}` }]);
  });

  it('reports wrong types and values at JSON-pointer paths, one issue per field, never echoing the value', async () => {
    const answer = await call('POST', '/v/orders', {
      name: 42,
      address: { street: '' },
      items: [{ id: 'ok', quantity: 1 }, { id: 'NOT OK', quantity: 1000 }],
      tags: ['abc', 'AB~C', 'x/y'],
      wrapping: 'box',
    });
    expect(answer.status).toBe(400);
    expect(answer.body['issues']).toEqual([
      { path: '/name', message: 'must be a string' },
      { path: '/address/street', message: 'must be longer than or equal to 1 characters' },
      { path: '/items/1/id', message: 'must be a lowercase id' },
      { path: '/items/1/quantity', message: 'must not be greater than 99' },
      { path: '/tags/1', message: 'must be lowercase letters' },
      { path: '/tags/2', message: 'must be lowercase letters' },
      { path: '/wrapping', message: 'must be one of the following values: standard, gift' },
    ]);
    expect(answer.body['detail']).toBe('invalid body: /name must be a string');
    expect(JSON.stringify(answer.body)).not.toMatch(/NOT OK|AB~C|box/);
  });

  it('refuses a nested object of the wrong shape and a non-array where an array of DTOs belongs', async () => {
    for (const address of ['Main 1', [], null, 5]) {
      const answer = await call('POST', '/v/orders', { ...valid, address });
      expect({ address, status: answer.status, paths: answer.body['issues'].map((i: { path: string }) => i.path) }).toEqual({ address, status: 400, paths: ['/address'] });
    }
    const items = await call('POST', '/v/orders', { ...valid, items: 'many' });
    expect(items.status).toBe(400);
    expect(items.body['issues'][0]['path']).toBe('/items');
    const tooMany = await call('POST', '/v/orders', { ...valid, tags: ['a', 'b', 'c', 'd', 'e'] });
    expect(tooMany.body['issues']).toEqual([{ path: '/tags', message: 'must contain no more than 4 elements' }]);
    const repeated = await call('POST', '/v/orders', { ...valid, tags: ['a', 'a'] });
    expect(repeated.body['issues']).toEqual([{ path: '/tags', message: 'must not repeat a tag' }]);
  });

  it('keeps JSON strict: "5" is not a number in a body, null is not an omitted field', async () => {
    const stringNumber = await call('POST', '/v/orders', { ...valid, items: [{ id: 'a', quantity: '5' }] });
    expect(stringNumber.body['issues']).toEqual([{ path: '/items/0/quantity', message: 'must be an integer number' }]);
    const nullOmittable = await call('POST', '/v/orders', { ...valid, express: null });
    expect(nullOmittable.body['issues']).toEqual([{ path: '/express', message: 'must be a boolean value' }]);
    const nullOptional = await call('POST', '/v/orders', { ...valid, note: null });
    expect(nullOptional.status).toBe(201);
  });

  it('wants a JSON object as a DTO body; a missing body is {} (optional when every field is)', async () => {
    for (const body of ['[1,2]', '"text"', '7', 'null']) {
      const answer = await call('POST', '/v/orders', body);
      expect({ body, status: answer.status, issues: answer.body['issues'] }).toEqual({ body, status: 400, issues: [{ path: '/', message: 'must be a JSON object' }] });
    }
    const missing = await call('POST', '/v/orders');
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ code: 'validation_failed', issues: [{ path: '/', message: 'a JSON object body is required' }] });
    expect((await call('POST', '/v/options')).body).toEqual({ options: {} });
    expect((await call('POST', '/v/options', { ttl: 59 })).body['issues']).toEqual([{ path: '/ttl', message: 'must not be less than 60' }]);
  });

  it('refuses input nested deeper than the limit before walking it (a 400, not a stack overflow)', async () => {
    const depth = 5_000;
    const answer = await call('POST', '/v/orders', `${'{"a":'.repeat(depth)}{}${'}'.repeat(depth)}`);
    expect(answer.status).toBe(400);
    expect(answer.body['issues']).toEqual([{ path: '/', message: 'must not nest deeper than 32 levels' }]);
    expect(nestsDeeperThan({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(nestsDeeperThan({ a: [{ b: {} }] }, 3)).toBe(true);
    const rawDeep = await call('POST', '/v/sink', `${'['.repeat(200_000)}${']'.repeat(200_000)}`);
    expect(rawDeep.status).toBeLessThan(500);
  });

  it('refuses an object with more than MAX_OBJECT_KEYS fields before class-transformer walks it (seconds of event loop, not a 400)', async () => {
    // 19,000 keys pass the body parser's bound (20,000 members; 70,000 keys, which took 3 to 17 s
    // here, are now a 413 before parsing); class-transformer's key de-duplication is quadratic.
    const wide = Object.fromEntries(Array.from({ length: 19_000 }, (_, i) => [`k${i}`, i]));
    // Compared with the same body on a route without a DTO (parsing alone, slow on a loaded machine):
    // walked by class-transformer it took 3 to 17 s.
    let started = performance.now();
    expect((await call('POST', '/v/sink', wide)).status).toBeLessThan(300);
    const parsing = performance.now() - started;
    started = performance.now();
    const top = await call('POST', '/v/orders', wide);
    expect(performance.now() - started).toBeLessThan(5 * parsing + 500);
    expect(top.status).toBe(400);
    expect(top.body['issues']).toEqual([{ path: '/', message: `must not have more than ${MAX_OBJECT_KEYS} fields` }]);
    const nested = await call('POST', '/v/orders', { ...valid, address: { street: 'x', ...Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`a/${i}`, 1])) } });
    expect(nested.body['issues']).toEqual([{ path: '/address', message: `must not have more than ${MAX_OBJECT_KEYS} fields` }]);
    expect(widerThan({ a: [{ 'b~/c': { x: 1, y: 2, z: 3 } }] }, 2)).toBe('/a/0/b~0~1c');
    expect(widerThan({ a: [1, 2, 3, 4] }, 2)).toBeNull();
    expect(widerThan({ a: { b: { x: 1, y: 2, z: 3 } } }, 2, 1)).toBeNull();
    // Deep and narrow: walked without recursion and without building long paths, then refused for depth.
    const deep = await call('POST', '/v/orders', `${'{"a":'.repeat(19_000)}{}${'}'.repeat(19_000)}`);
    expect(deep.body['issues']).toEqual([{ path: '/', message: 'must not nest deeper than 32 levels' }]);
    // At the limit the usual validation runs and names the unknown fields.
    const atLimit = await call('POST', '/v/orders', { ...valid, ...Object.fromEntries(Array.from({ length: MAX_OBJECT_KEYS - 3 }, (_, i) => [`u${i}`, 1])) });
    expect(atLimit.body['issues']).toEqual([{ path: '/', message: 'unknown fields: u0, u1, u2, u3, u4' }]);
  });

  it('validates and converts query DTOs, refusing unknown parameters', async () => {
    expect((await call('GET', '/v/list')).body).toEqual({ query: { limit: 100 }, type: 'number' });
    expect((await call('GET', '/v/list?limit=7&cursor=c1')).body).toEqual({ query: { limit: 7, cursor: 'c1' }, type: 'number' });
    for (const [query, path] of [
      ['limit=0', '/limit'],
      ['limit=abc', '/limit'],
      ['limit=1.5', '/limit'],
      ['limit=1&limit=2', '/limit'],
      [`cursor=${'c'.repeat(41)}`, '/cursor'],
      ['bogus=1', '/'],
    ] as const) {
      const answer = await call('GET', `/v/list?${query}`);
      expect({ query, status: answer.status, code: answer.body['code'], path: answer.body['issues']?.[0]?.path }).toEqual({ query, status: 400, code: 'validation_failed', path });
    }
    expect((await call('GET', '/v/list?bogus=1')).body['detail']).toBe('invalid query: unknown field: bogus');
  });

  it('validates path parameters; each is one value, so its path is / and the message names it', async () => {
    expect((await call('GET', '/v/shops/acme/items/i_1')).body).toEqual({ params: { shop: 'acme', id: 'i_1' } });
    const bad = await call('GET', '/v/shops/ACME/items/i_1');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      code: 'validation_failed',
      detail: 'invalid path parameter: shop must be a lowercase shop id',
      issues: [{ path: '/', message: 'shop must be a lowercase shop id' }],
    });
    const both = await call('GET', `/v/shops/ACME/items/${'x'.repeat(65)}`);
    expect(both.body['issues'].map((i: { message: string }) => i.message)).toEqual(['shop must be a lowercase shop id', 'id must be 1-64 URL-safe characters']);
  });

  it('leaves routes without a DTO untouched: raw JSON, arrays, form-encoded and text bodies, free query strings', async () => {
    expect((await call('POST', '/v/raw?anything=1', { deep: { er: [1, { x: null }] }, unknown: true })).body).toEqual({
      body: { deep: { er: [1, { x: null }] }, unknown: true },
      query: { anything: '1' },
      x: null,
    });
    expect((await call('POST', '/v/raw', [1, 'two'])).body['body']).toEqual([1, 'two']);
    const zodded = await call('POST', '/v/zod', { n: 1, extra: true });
    expect(zodded.body).toMatchObject({ code: 'validation_failed', detail: 'invalid body: unknown field: extra', issues: [{ path: '/', message: 'unknown field: extra' }] });
    expect((await call('POST', '/v/zod', { n: 1 })).body).toEqual({ n: 1 });
  });
});
