import { createCache } from '@wallet/cache';
import { loadConfig } from '@wallet/config';
import { createStore } from '@wallet/persistence';
import { apiDocumentFile, createServiceApp, type ServiceName } from '@wallet/platform';
import type { OpenAPIObject } from '@nestjs/swagger';
import pino from 'pino';
import { ALL_IN_ONE_SERVERS } from './servers';

export interface GeneratedApiDocument {
  service: ServiceName;
  /** Relative to the workspace root: `docs/api/<service>.openapi.json`. */
  file: string;
  document: OpenAPIObject;
  /** The file's content: the document as JSON, two-space indented, with a final newline. */
  text: string;
  /** Validated DTO properties the document does not show (should be none). */
  undocumented: string[];
}

/**
 * The OpenAPI documents of all six services, as the all-in-one's servers
 * build them at start (the standalone services compose the same modules, so
 * they serve the same documents). Starts each server on loopback with an
 * in-memory store and cache and the default configuration, then stops it.
 */
export async function generateApiDocuments(): Promise<GeneratedApiDocument[]> {
  const config = loadConfig({ argv: [], env: { WALLET_STORAGE_TYPE: 'memory', WALLET_SERVER_HOST: '127.0.0.1', WALLET_LOGGING_LEVEL: 'silent' } }).config;
  const store = await createStore({ type: 'memory' });
  const cache = await createCache({ type: 'memory' });
  const runtime = { config, store, cache, logger: pino({ level: 'silent' }) };
  const out: GeneratedApiDocument[] = [];
  try {
    for (const spec of ALL_IN_ONE_SERVERS) {
      const server = await createServiceApp({ ...spec, runtime, port: 0, host: '127.0.0.1' });
      try {
        for (const service of spec.info.services) {
          const document = server.apiDocuments.get(service);
          if (!document) throw new Error(`the ${spec.info.name} server built no document for ${service}`);
          out.push({ service, file: apiDocumentFile(service), document, text: `${JSON.stringify(document, null, 2)}\n`, undocumented: server.apiDocuments.undocumented(service) });
        }
      } finally {
        await server.close();
      }
    }
  } finally {
    await store.close();
    await cache.close();
  }
  return out.sort((a, b) => a.service.localeCompare(b.service));
}
