import { ModulesContainer } from '@nestjs/core';
import { createCache } from '@wallet/cache';
import { loadConfig } from '@wallet/config';
import { createStore } from '@wallet/persistence';
import { apiDocumentFile, createServiceApp, routesOf, SERVICE_API_DOCUMENTS, type RunningService, type Runtime } from '@wallet/platform';
import type { Type } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { generateApiDocuments, type GeneratedApiDocument } from './api-documents';
import { ALL_IN_ONE_SERVERS } from './servers';

const ADMIN_TOKEN = 'api-documents-spec-admin-token-0123456789';
const WORKSPACE_ROOT = join(__dirname, '..', '..', '..');

type Operations = Record<string, Record<string, unknown>>;

describe.each(ALL_IN_ONE_SERVERS.map((spec) => [spec.info.name, spec] as const))('the OpenAPI documents of the %s server', (_name, spec) => {
  let runtime: Runtime;
  let server: RunningService;

  beforeAll(async () => {
    const config = loadConfig({ argv: [], env: { WALLET_STORAGE_TYPE: 'memory', WALLET_SERVER_HOST: '127.0.0.1', WALLET_LOGGING_LEVEL: 'silent', WALLET_SERVER_ADMIN_TOKEN: ADMIN_TOKEN } }).config;
    runtime = { config, store: await createStore({ type: 'memory' }), cache: await createCache({ type: 'memory' }), logger: pino({ level: 'silent' }) };
    server = await createServiceApp({ ...spec, runtime, port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await runtime.store.close();
    await runtime.cache.close();
  });

  it('document every route the server serves (each in at least one of its services’ documents)', () => {
    const controllers: Array<Type<unknown>> = [];
    for (const module of server.app.get(ModulesContainer).values()) {
      for (const wrapper of module.controllers.values()) if (wrapper.metatype) controllers.push(wrapper.metatype as Type<unknown>);
    }
    const served = routesOf(controllers).map((r) => `${r.method} ${r.path}`);
    expect(served.length).toBeGreaterThan(4);
    const documented = new Set(
      server.apiDocuments.services().flatMap((service) => {
        const paths = server.apiDocuments.get(service)!.paths as unknown as Operations;
        return Object.entries(paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));
      }),
    );
    expect([...new Set(served)].filter((route) => !documented.has(route)).sort()).toEqual([]);
    expect(server.apiDocuments.services().sort()).toEqual([...spec.info.services].sort());
  });

  it('are served where SERVICE_API_DOCUMENTS says, public or behind the admin token, with Swagger UI in development', async () => {
    expect(runtime.config.mode).toBe('development');
    for (const service of spec.info.services) {
      const { path, readers, uiPath, title } = SERVICE_API_DOCUMENTS[service];
      if (uiPath) {
        // Swagger UI (development only; the platform's spec checks production has none).
        const ui = await fetch(`${server.url}${uiPath}`);
        expect({ service, status: ui.status, type: ui.headers.get('content-type') }).toEqual({ service, status: 200, type: expect.stringContaining('text/html') });
        expect(await (await fetch(`${server.url}${uiPath}/swagger-ui-init.js`)).text()).toContain(JSON.stringify(title));
      }
      if (!path) continue;
      const anonymous = await fetch(`${server.url}${path}`);
      if (readers === 'admin') {
        expect({ service, status: anonymous.status }).toEqual({ service, status: 401 });
        const authorized = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        expect(await authorized.json()).toEqual(JSON.parse(JSON.stringify(server.apiDocuments.get(service))));
      } else {
        expect({ service, status: anonymous.status }).toEqual({ service, status: 200 });
        expect(await anonymous.json()).toEqual(JSON.parse(JSON.stringify(server.apiDocuments.get(service))));
      }
    }
  });
});

describe('docs/api/*.openapi.json', () => {
  let generated: GeneratedApiDocument[];

  beforeAll(async () => {
    generated = await generateApiDocuments();
  });

  it('are what the code generates (run `npm run docs:api` after changing a route, a DTO or an @Api* decorator)', () => {
    const stale = generated.filter(({ file, text }) => readFileSync(join(WORKSPACE_ROOT, file), 'utf8') !== text).map((d) => d.file);
    expect(stale).toEqual([]);
    expect(generated.map((d) => d.file)).toEqual(['admin', 'auth', 'engine', 'registry', 'storage', 'verifier'].map((s) => apiDocumentFile(s as never)));
  });

  it('show every validated DTO property (each has @ApiProperty)', () => {
    expect(generated.flatMap((d) => d.undocumented.map((property) => `${d.service}: ${property}`))).toEqual([]);
  });
});
