import { Body, Controller, Get, Logger, Module, Param, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { RouteConfig } from '@nestjs/platform-fastify';
import { createCache } from '@wallet/cache';
import { loadConfig, type WalletConfig } from '@wallet/config';
import { NotFoundError, ValidationError, VersionConflictError, WalletError } from '@wallet/domain';
import { createStore } from '@wallet/persistence';
import { describeIfAvailable, redisAvailable, startOwnRedis } from '@wallet/testing';
import pino from 'pino';
import { Writable } from 'node:stream';
import { Public } from './auth/public.decorator';
import { createServiceApp, type RunningService } from './bootstrap/create-service-app';
import { MAX_JSON_BODY_MEMBERS, MAX_JSON_BODY_VALUES } from './bootstrap/json-body';
import type { Runtime } from './bootstrap/runtime';
import { installGracefulShutdown } from './bootstrap/shutdown';
import { REDACTED_PATHS } from './logging/logger';

@Public({ tenant: false })
@Controller('items')
class ItemsController {
  @Get('missing/:id')
  missing(@Param('id') id: string): never {
    throw new NotFoundError(`item ${id.slice(0, 20)}`);
  }

  @Get('stale')
  stale(): never {
    throw new VersionConflictError('items', 3, 4);
  }

  @Post('validate')
  validate(@Body() body: unknown): never {
    throw new ValidationError('the item is invalid', [{ path: '/name', message: `expected a string, got ${typeof body}` }]);
  }

  @Get('boom')
  boom(): never {
    throw new Error('database password is hunter2');
  }

  @Get('internal')
  internal(): never {
    throw new WalletError('internal', 'secret internal detail');
  }

  @Get('client')
  client(@Req() req: FastifyRequest): { ip: string; protocol: string } {
    return { ip: req.ip, protocol: req.protocol };
  }

  @Get('by-id/:id')
  byId(@Param('id') id: string): { id: string } {
    return { id };
  }

  @Post('secret')
  @RouteConfig({ sensitive: true })
  secret(@Body() _body: unknown): { ok: true } {
    return { ok: true };
  }

  @Post('echo')
  echo(@Body() body: unknown): unknown {
    return body;
  }

  @Get('slow')
  async slow(): Promise<{ done: true }> {
    await new Promise((r) => setTimeout(r, 400));
    return { done: true };
  }
}

@Module({ controllers: [ItemsController] })
class ItemsModule {}

function testConfig(overrides: Partial<Record<string, string>> = {}): WalletConfig {
  return loadConfig({
    argv: [],
    env: { WALLET_STORAGE_TYPE: 'memory', WALLET_SERVER_HOST: '127.0.0.1', WALLET_LOGGING_LOG_BODIES: 'true', ...overrides },
  }).config;
}

class LogCapture extends Writable {
  lines: Array<Record<string, unknown>> = [];
  raw = '';
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.raw += chunk.toString();
    for (const line of chunk.toString().split('\n').filter(Boolean)) this.lines.push(JSON.parse(line));
    done();
  }
}

async function startTestServer(config = testConfig(), cacheOverride?: Runtime['cache']) {
  const capture = new LogCapture();
  const logger = pino({ level: 'info', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, capture);
  const runtime: Runtime = {
    config,
    store: await createStore({ type: 'memory' }),
    cache: cacheOverride ?? (await createCache({ type: 'memory' })),
    logger,
  };
  const server = await createServiceApp({ info: { name: 'test', services: [] }, imports: [ItemsModule], runtime, port: 0 });
  return { server, runtime, capture };
}

describe('platform HTTP conventions', () => {
  let server: RunningService;
  let runtime: Runtime;
  let capture: LogCapture;

  beforeAll(async () => {
    ({ server, runtime, capture } = await startTestServer());
  });
  afterAll(async () => {
    await server.close();
    await runtime.store.close();
    await runtime.cache.close();
  });

  async function call(path: string, init?: RequestInit) {
    const response = await fetch(`${server.url}${path}`, init);
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  }

  it('maps typed domain errors to problem+json with a stable code', async () => {
    const missing = await call('/items/missing/42');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    expect(missing.body).toMatchObject({ status: 404, code: 'not_found', detail: 'item 42 not found', instance: '/items/missing/42' });
    expect(missing.body?.['correlationId']).toBe(missing.headers.get('x-request-id'));

    const stale = await call('/items/stale');
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: 'version_conflict', expectedVersion: 3, actualVersion: 4 });

    const invalid = await call('/items/validate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ code: 'validation_failed', issues: [{ path: '/name' }] });
  });

  it('answers unknown routes, malformed JSON and oversized bodies with 4xx problems', async () => {
    const unknown = await call('/nowhere');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'not_found', status: 404 });

    const malformed = await call('/items/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toContain('application/problem+json');
    expect(malformed.body).toMatchObject({ code: 'validation_failed' });

    const huge = 'x'.repeat(runtime.config.server.bodyLimitBytes + 10);
    const tooLarge = await call('/items/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ huge }),
    });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body).toMatchObject({ code: 'payload_too_large' });

    // A body of more object members than MAX_JSON_BODY_MEMBERS is refused before it is parsed;
    // one at the bound is parsed; array elements count only against MAX_JSON_BODY_VALUES.
    const members = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":{"v":${i}}`).join(',')}}`;
    const tooMany = await call('/items/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: members(MAX_JSON_BODY_MEMBERS / 2 + 1) });
    expect(tooMany.status).toBe(413);
    expect(tooMany.headers.get('content-type')).toContain('application/problem+json');
    expect(tooMany.body).toMatchObject({ code: 'payload_too_large', detail: `the JSON body holds more than ${MAX_JSON_BODY_MEMBERS} object members` });
    const atBound = await call('/items/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"a":${JSON.stringify(Array.from({ length: MAX_JSON_BODY_MEMBERS - 1 }, (_, i) => ({ [`k${i}`]: i })))}}` });
    expect(atBound.status).toBe(201);
    expect((atBound.body as { a: unknown[] }).a).toHaveLength(MAX_JSON_BODY_MEMBERS - 1);
    const values = await call('/items/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: Array.from({ length: MAX_JSON_BODY_VALUES }, () => 1) }) });
    expect(values.status).toBe(201);
    const tooManyValues = await call('/items/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: Array.from({ length: MAX_JSON_BODY_VALUES + 1 }, () => 1) }) });
    expect(tooManyValues.status).toBe(413);
    expect(tooManyValues.body).toMatchObject({ code: 'payload_too_large', detail: `the JSON body holds more than ${MAX_JSON_BODY_VALUES} values` });
    // Colons, commas and escaped quotes inside strings count for nothing.
    const inStrings = await call('/items/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ s: '\\":,{'.repeat(MAX_JSON_BODY_VALUES) }) });
    expect(inStrings.status).toBe(201);
    // Fastify's own refusals are kept: prototype poisoning and an empty body.
    const poisoned = await call('/items/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"__proto__":{"x":1}}' });
    expect(poisoned.status).toBe(400);
    const empty = await call('/items/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' });
    expect(empty.status).toBe(400);

    // Refused by Fastify before routing: each says what was wrong with the URL.
    const undecodable = await call('/items/by-id/%ZZ');
    expect(undecodable.status).toBe(400);
    expect(undecodable.headers.get('content-type')).toContain('application/problem+json');
    expect(undecodable.body).toMatchObject({ code: 'validation_failed', detail: 'the URL is not valid (a percent-escape that does not decode)' });
    const overlong = await call(`/items/by-id/${'a'.repeat(101)}`);
    expect(overlong.status).toBe(414);
    expect(overlong.headers.get('content-type')).toContain('application/problem+json');
    expect(overlong.body).toMatchObject({ status: 414, detail: 'a path segment is longer than this server accepts' });
  });

  it('turns unknown errors into a 500 with a correlation id and no internal detail', async () => {
    for (const path of ['/items/boom', '/items/internal']) {
      const res = await call(path);
      expect(res.status).toBe(500);
      expect(res.body).toMatchObject({ code: 'internal', status: 500 });
      expect(typeof res.body?.['correlationId']).toBe('string');
      const text = JSON.stringify(res.body);
      expect(text).not.toMatch(/hunter2|secret internal detail|at .*\.ts/);
    }
    const logged = capture.lines.find((l) => (l['err'] as { message?: string } | undefined)?.message?.includes('hunter2'));
    expect(logged).toBeTruthy(); // the detail goes to the log only
  });

  it('uses a well-formed x-request-id from the caller and replaces a malformed one', async () => {
    const given = await call('/health/live', { headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    const replaced = await call('/health/live', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs one JSON line per request with the request id, redacting authorization and sensitive bodies', async () => {
    const token = 'eyJhbGciOiJFUzI1NiJ9.super-secret-token';
    await call('/items/by-id/7?code=one-time-code', { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'log-test-1' } });
    await call('/items/secret', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'log-test-2', cookie: 'session=s3cr3t' },
      body: JSON.stringify({ privateData: 'keystore-blob-content' }),
    });
    await call('/items/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'log-test-3' },
      body: JSON.stringify({ hello: 'world' }),
    });
    await new Promise((r) => setTimeout(r, 50));
    const first = capture.lines.find((l) => l['reqId'] === 'log-test-1');
    expect(first).toMatchObject({
      msg: 'request completed',
      req: { method: 'GET', path: '/items/by-id/7', route: '/items/by-id/:id', headers: { authorization: '[redacted]' } },
      res: { statusCode: 200 },
    });
    expect(capture.lines.find((l) => l['reqId'] === 'log-test-2')).toMatchObject({ body: '[redacted]' });
    expect(capture.lines.find((l) => l['reqId'] === 'log-test-3')).toMatchObject({ body: '{"hello":"world"}' });
    expect(capture.raw).not.toContain('super-secret-token');
    expect(capture.raw).not.toContain('one-time-code');
    expect(capture.raw).not.toContain('keystore-blob-content');
    expect(capture.raw).not.toContain('s3cr3t');
  });

  it('labels request metrics by route pattern and status, not by raw URL', async () => {
    await call('/items/by-id/1');
    await call('/items/by-id/2');
    await call('/items/missing/3');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/http_request_duration_seconds_count\{[^}]*method="GET",route="\/items\/by-id\/:id",status_code="200"[^}]*\} ([2-9]|\d\d+)/);
    expect(metrics).toMatch(/route="\/items\/missing\/:id",status_code="404"/);
    expect(metrics).not.toContain('/items/by-id/1');
    expect(metrics).toContain('process_cpu_user_seconds_total');
  });

  it('reports the longest event-loop stall since the previous scrape', async () => {
    await fetch(`${server.url}/metrics`);
    // Let the monitor take its first samples after the scrape reset it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const until = Date.now() + 150;
    while (Date.now() < until) {
      // Hold the event loop, as an expensive request would.
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const max = Number(/^nodejs_eventloop_lag_max_seconds\{[^}]*\} ([0-9.e+-]+)$/m.exec(metrics)?.[1]);
    expect(max).toBeGreaterThanOrEqual(0.14);
    expect(metrics).toMatch(/^nodejs_eventloop_lag_p99_seconds\{/m);
  });
});

describe('client address behind a reverse proxy', () => {
  const forwarded = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' };

  async function clientSeen(overrides: Partial<Record<string, string>>) {
    const { server, runtime } = await startTestServer(testConfig(overrides));
    try {
      return (await (await fetch(`${server.url}/items/client`, { headers: forwarded })).json()) as { ip: string; protocol: string };
    } finally {
      await server.close();
      await runtime.store.close();
      await runtime.cache.close();
    }
  }

  it('ignores X-Forwarded-* by default, honours them only from the listed proxy ranges', async () => {
    expect(await clientSeen({})).toEqual({ ip: '127.0.0.1', protocol: 'http' });
    expect(await clientSeen({ WALLET_SERVER_TRUSTED_PROXIES: '10.0.0.0/8,fd00::/8' })).toEqual({ ip: '127.0.0.1', protocol: 'http' });
    expect(await clientSeen({ WALLET_SERVER_TRUSTED_PROXIES: '10.0.0.0/8,127.0.0.0/8' })).toEqual({ ip: '203.0.113.7', protocol: 'https' });
    expect(await clientSeen({ WALLET_SERVER_TRUST_PROXY: 'true' })).toEqual({ ip: '203.0.113.7', protocol: 'https' });
  });
});

describe('framework logs in a process with several servers', () => {
  it('are not labelled with whichever server started last', async () => {
    const { server: first, runtime, capture } = await startTestServer();
    const second = await createServiceApp({ info: { name: 'second', services: [] }, imports: [ItemsModule], runtime, port: 0 });
    try {
      // Services log through Nest's static Logger (jobs, error filters): that is process-wide.
      new Logger('jobs').log({ msg: 'job run', job: 'cleanup' });
      const line = capture.lines.find((l) => l['msg'] === 'job run');
      expect(line).toMatchObject({ context: 'jobs', job: 'cleanup' });
      expect(line).not.toHaveProperty('server');
      // Access logs still name their server.
      await fetch(`${first.url}/health/live`);
      await fetch(`${second.url}/health/live`);
      await new Promise((r) => setTimeout(r, 20));
      const servers = capture.lines.filter((l) => l['msg'] === 'request completed').map((l) => l['server']);
      expect(servers).toEqual(expect.arrayContaining(['test', 'second']));
    } finally {
      await second.close();
      await first.close();
      await runtime.store.close();
      await runtime.cache.close();
    }
  });
});

describe('CORS', () => {
  it('answers preflights only for the configured origins', async () => {
    const { server, runtime } = await startTestServer(testConfig({ WALLET_SERVER_CORS_ORIGINS: 'https://wallet.example' }));
    try {
      const preflight = (origin: string) =>
        fetch(`${server.url}/items/echo`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'POST' },
        });
      const allowed = await preflight('https://wallet.example');
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://wallet.example');
      const other = await preflight('https://evil.example');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await server.close();
      await runtime.store.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes in-flight requests, refuses new ones, closes store and cache and exits 0', async () => {
    const { server, runtime } = await startTestServer();
    const exits: number[] = [];
    const shutdown = installGracefulShutdown({ servers: [server], runtime, timeoutMs: 5000, exit: (c) => exits.push(c), signals: [] });
    const inFlight = fetch(`${server.url}/items/slow`);
    await new Promise((r) => setTimeout(r, 100));
    const done = shutdown();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ done: true });
    await done;
    expect(exits).toEqual([0]);
    await expect(fetch(`${server.url}/health/live`)).rejects.toThrow();
    await expect(runtime.store.ping()).rejects.toThrow();
  });

  it('exits 1 when shutdown takes longer than the timeout', async () => {
    const { server, runtime } = await startTestServer();
    const exits: number[] = [];
    const stuck = { close: () => new Promise<void>(() => undefined) };
    const shutdown = installGracefulShutdown({ servers: [stuck], runtime, timeoutMs: 100, exit: (c) => exits.push(c), signals: [] });
    void shutdown();
    await new Promise((r) => setTimeout(r, 250));
    expect(exits).toEqual([1]);
    await server.close();
  });
});

describeIfAvailable('platform:redis-readiness', redisAvailable(), 'no Redis server (set REDIS_URL or put redis-server on PATH)')(
  'readiness with Redis',
  () => {
    it('reports not ready while Redis is down and ready again after it returns', async () => {
      const redis = await startOwnRedis();
      const cache = await createCache({ type: 'redis', url: redis.url, keyPrefix: 'ready-test:', commandTimeoutMs: 500 });
      const { server, runtime } = await startTestServer(testConfig(), cache);
      try {
        expect((await fetch(`${server.url}/health/ready`)).status).toBe(200);
        await redis.stop();
        const down = await fetch(`${server.url}/health/ready`);
        expect(down.status).toBe(503);
        expect(await down.json()).toMatchObject({ status: 'error', error: { cache: { status: 'down' } } });
        expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
        await redis.start();
        let status = 0;
        for (let i = 0; i < 50 && status !== 200; i++) {
          await new Promise((r) => setTimeout(r, 100));
          status = (await fetch(`${server.url}/health/ready`)).status;
        }
        expect(status).toBe(200);
      } finally {
        await server.close();
        await runtime.store.close();
        await cache.close();
        await redis.stop();
      }
    });
  },
);
