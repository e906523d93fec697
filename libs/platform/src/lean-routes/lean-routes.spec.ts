import { Body, Controller, Inject, Injectable, Module, Post, type OnModuleInit } from '@nestjs/common';
import { createCache } from '@wallet/cache';
import { loadConfig, type WalletConfig } from '@wallet/config';
import { createStore } from '@wallet/persistence';
import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Public } from '../auth/public.decorator';
import { createServiceApp, type RunningService } from '../bootstrap/create-service-app';
import type { Runtime } from '../bootstrap/runtime';
import { LeanRoutes } from './lean-routes';

/** The regular route: what the lean path leaves behind lands here. */
@Public({ tenant: false })
@Controller('lean')
class EchoController {
  @Post('echo')
  echo(@Body() body: unknown): unknown {
    return { path: 'regular', fields: body };
  }
}

@Injectable()
class EchoLeanRoute implements OnModuleInit {
  constructor(@Inject(LeanRoutes) private readonly routes: LeanRoutes) {}

  onModuleInit(): void {
    this.routes.add({
      method: 'POST',
      path: '/lean/echo',
      contentType: 'application/x-www-form-urlencoded',
      handle: async (fields) => {
        if (fields['fail'] === 'yes') throw new Error('secret cause');
        return { status: 200, body: { path: 'lean', fields: { ...fields } }, headers: { 'cache-control': 'no-store' } };
      },
    });
  }
}

@Module({ controllers: [EchoController], providers: [EchoLeanRoute] })
class EchoModule {}

class LogCapture extends Writable {
  lines: Array<Record<string, unknown>> = [];
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    for (const line of chunk.toString().split('\n').filter(Boolean)) this.lines.push(JSON.parse(line));
    done();
  }
}

function testConfig(overrides: Record<string, string> = {}): WalletConfig {
  return loadConfig({
    argv: [],
    env: { WALLET_STORAGE_TYPE: 'memory', WALLET_SERVER_HOST: '127.0.0.1', WALLET_SERVER_BODY_LIMIT_BYTES: '4096', ...overrides },
  }).config;
}

async function start(config = testConfig()) {
  const capture = new LogCapture();
  const runtime: Runtime = {
    config,
    store: await createStore({ type: 'memory' }),
    cache: await createCache({ type: 'memory' }),
    logger: pino({ level: 'info' }, capture),
  };
  const server = await createServiceApp({ info: { name: 'lean-test', services: [] }, imports: [EchoModule], runtime, port: 0 });
  return { server, runtime, capture };
}

const FORM = 'application/x-www-form-urlencoded';

/** A POST with a chunked body (no content-length): always the regular path. */
function postChunked(url: string, body: string, contentType = FORM): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': contentType } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.write(body.slice(0, 3));
    req.end(body.slice(3));
  });
}

describe('lean routes', () => {
  let server: RunningService;
  let runtime: Runtime;
  let capture: LogCapture;

  beforeAll(async () => {
    ({ server, runtime, capture } = await start());
  });
  afterAll(async () => {
    await server.close();
    await runtime.store.close();
    await runtime.cache.close();
  });

  const post = (path: string, body: string, headers: Record<string, string> = { 'content-type': FORM }) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers, body }).then(async (r) => ({ status: r.status, headers: r.headers, body: (await r.json()) as Record<string, unknown> }));

  it('serves a plain form POST ahead of the framework, with request id, access log line and metrics', async () => {
    const answer = await post('/lean/echo', 'a=1&b=two', { 'content-type': `${FORM}; charset=UTF-8`, 'x-request-id': 'lean-req-1', 'user-agent': 'lean-test', authorization: 'Bearer secret-token' });
    expect(answer).toMatchObject({ status: 200, body: { path: 'lean', fields: { a: '1', b: 'two' } } });
    expect(answer.headers.get('x-request-id')).toBe('lean-req-1');
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(answer.headers.get('cache-control')).toBe('no-store');
    await new Promise((r) => setTimeout(r, 100));
    const line = capture.lines.find((l) => l['reqId'] === 'lean-req-1');
    expect(line).toMatchObject({
      msg: 'request completed',
      server: 'lean-test',
      req: { method: 'POST', path: '/lean/echo', route: '/lean/echo', headers: { 'user-agent': 'lean-test', authorization: '[redacted]' } },
      res: { statusCode: 200 },
    });
    expect(JSON.stringify(capture.lines)).not.toContain('secret-token');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/http_request_duration_seconds_count\{[^}]*method="POST",route="\/lean\/echo",status_code="200"[^}]*\} [1-9]/);
  });

  it('parses the form exactly as the regular path does', async () => {
    const form = 'state=a&state=b&c=x+y&d=%C3%A9t%C3%A9&e=%ZZ&empty=&__proto__=1';
    const lean = await post('/lean/echo', form);
    const regular = await postChunked(`${server.url}/lean/echo`, form);
    expect(lean.body['path']).toBe('lean');
    expect(regular.body['path']).toBe('regular');
    expect(lean.body['fields']).toEqual(regular.body['fields']);
    expect(lean.body['fields']).toMatchObject({ state: ['a', 'b'], c: 'x y', d: 'été' });
  });

  it('leaves everything but a plain request to the regular pipeline', async () => {
    // Another media type, a query string, a chunked body: the regular route.
    expect((await post('/lean/echo', JSON.stringify({ a: 1 }), { 'content-type': 'application/json' })).body).toEqual({ path: 'regular', fields: { a: 1 } });
    expect((await post('/lean/echo?x=1', 'a=1')).body).toMatchObject({ path: 'regular' });
    expect((await postChunked(`${server.url}/lean/echo`, 'a=1')).body).toMatchObject({ path: 'regular' });
    // A body over the limit: Fastify's 413 problem, not a lean answer.
    const big = await post('/lean/echo', `a=${'x'.repeat(5000)}`);
    expect(big.status).toBe(413);
    expect(big.headers.get('content-type')).toContain('application/problem+json');
    // A media type no route parses: Fastify's 415.
    expect((await post('/lean/echo', 'x', { 'content-type': 'text/x-unknown' })).status).toBe(415);
  });

  it('answers a failing handler with a 500 that tells nothing of the cause', async () => {
    const answer = await post('/lean/echo', 'fail=yes');
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ error: 'server_error', error_description: 'an internal error occurred' });
  });

  it('refuses a second route on the same method and path', () => {
    const routes = new LeanRoutes();
    const route = { method: 'POST' as const, path: '/x', contentType: FORM as typeof FORM, handle: async () => ({ status: 200, body: {} }) };
    routes.add(route);
    expect(() => routes.add(route)).toThrow('already registered');
  });
});

describe('lean routes with CORS or body logging configured', () => {
  it('leave browser requests (with an Origin) to the regular path, which answers CORS', async () => {
    const { server, runtime } = await start(testConfig({ WALLET_SERVER_CORS_ORIGINS: 'https://wallet.example' }));
    try {
      const response = await fetch(`${server.url}/lean/echo`, { method: 'POST', headers: { 'content-type': FORM, origin: 'https://wallet.example' }, body: 'a=1' });
      expect(response.headers.get('access-control-allow-origin')).toBe('https://wallet.example');
      expect(await response.json()).toMatchObject({ path: 'regular' });
      const withoutOrigin = await fetch(`${server.url}/lean/echo`, { method: 'POST', headers: { 'content-type': FORM }, body: 'a=1' });
      expect(await withoutOrigin.json()).toMatchObject({ path: 'lean' });
    } finally {
      await server.close();
      await runtime.store.close();
    }
  });

  it('leave every request to the regular path when bodies are logged (a debugging mode)', async () => {
    const { server, runtime } = await start(testConfig({ WALLET_LOGGING_LOG_BODIES: 'true' }));
    try {
      const response = await fetch(`${server.url}/lean/echo`, { method: 'POST', headers: { 'content-type': FORM }, body: 'a=1' });
      expect(await response.json()).toMatchObject({ path: 'regular' });
    } finally {
      await server.close();
      await runtime.store.close();
    }
  });
});
