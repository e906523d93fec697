import type { ServiceName } from '../tokens';

export const SERVICE_API = 'wallet:service-api';

/**
 * Puts the routes of a Nest module into a service's OpenAPI document:
 * `@ServiceApi('storage') @Module({ controllers: [...] }) class StorageFeatureModule {}`.
 * Every module with controllers that a service serves carries it; the
 * platform's own routes (landing page, health, metrics) are in every
 * service's document. A test walks every route of every server and fails
 * when one is in no document.
 */
export function ServiceApi(service: ServiceName): ClassDecorator {
  return (target) => Reflect.defineMetadata(SERVICE_API, service, target);
}

/** The service a module's routes are documented under, if any. */
export function serviceApiOf(module: unknown): ServiceName | undefined {
  return typeof module === 'function' ? (Reflect.getMetadata(SERVICE_API, module) as ServiceName | undefined) : undefined;
}

export interface ServiceApiDocument {
  title: string;
  description: string;
  /** Where the service serves its document; null: not served (the file under docs/api/ is the reference). */
  path: string | null;
  /** Where Swagger UI shows it in development mode (never in production); null: nowhere. */
  uiPath: string | null;
  /** Who may read the served document: anyone, or only holders of the admin token. */
  readers: 'anyone' | 'admin';
}

/** Each service's OpenAPI document: what it is called and where it is served (under the service's own path prefix). */
export const SERVICE_API_DOCUMENTS: Record<ServiceName, ServiceApiDocument> = {
  auth: {
    title: 'Wallet auth API',
    description:
      'Passkey (WebAuthn) accounts, sessions and access tokens, the client-held encrypted keystore blob, the JWKS of access tokens, and the public tenant configuration for front ends. Access tokens are ES256 JWTs (`Authorization: Bearer`); never in the query string. Errors are RFC 9457 problem details.',
    path: '/auth/openapi.json',
    uiPath: '/auth/docs',
    readers: 'anyone',
  },
  storage: {
    title: 'Wallet storage API',
    description:
      'The end-to-end encrypted credential vault: opaque blobs with blinded searchable tags (WQL), multi-device sync, export and import, and the v1 VC/VP compatibility routes. Every route needs an access token from auth. Errors are RFC 9457 problem details.',
    path: '/storage/openapi.json',
    uiPath: '/storage/docs',
    readers: 'anyone',
  },
  engine: {
    title: 'Wallet engine: HTTP routes',
    description:
      'The engine speaks the WebSocket API v2 at /api/v2/wallet, described by docs/api/engine.asyncapi.json and docs/engine.md. Over HTTP it serves only the platform routes below.',
    path: null,
    uiPath: null,
    readers: 'anyone',
  },
  registry: {
    title: 'Wallet registry API',
    description:
      'Credential type metadata (SD-JWT VC type metadata with embedded images and integrity checks) and issuer metadata with trust decisions. Reads are public for wallets; writes need the admin token. Errors are RFC 9457 problem details.',
    path: '/registry/openapi.json',
    uiPath: '/registry/docs',
    readers: 'anyone',
  },
  admin: {
    title: 'Wallet admin API',
    description:
      'Operator API of the wallet platform, served only on the admin port. Every route except GET /admin/status needs `Authorization: Bearer <admin token>`. JSON is snake_case; errors are RFC 9457 problem details. An optional `X-Admin-Actor` header names the operator in the audit log.',
    path: '/admin/openapi.json',
    // Swagger UI is a page a browser opens without the admin token: it would publish the document
    // the token guards (and invite trying an operator API from a browser). Load the document into a tool instead.
    uiPath: null,
    readers: 'admin',
  },
  verifier: {
    title: 'Wallet verifier API',
    description:
      'An OpenID4VP relying party: cross-device (QR) and same-device presentation flows, the wallet response endpoints, OAuth token endpoints for relying-party back ends and its JWKS. Its callers hold no access tokens of ours: flows are protected by unguessable session ids, nonces, single-use codes and PKCE.',
    path: '/openapi.json',
    uiPath: '/docs',
    readers: 'anyone',
  },
};

/** Where the committed copy of a service's document lives, relative to the workspace root. */
export const apiDocumentFile = (service: ServiceName): string => `docs/api/${service}.openapi.json`;
