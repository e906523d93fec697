import { zRecordId, zTenantId } from '@wallet/domain';
import { zVerifierServiceDefinition } from '@wallet/protocol';
import { z } from 'zod';
import {
  zAuditQuery,
  zDeleteTenantQuery,
  zInviteCreate,
  zInviteRenew,
  zIssuerCreate,
  zIssuerUpdate,
  zListQuery,
  zMembershipPut,
  zTenantCreate,
  zTenantUpdate,
  zUserCreate,
  zUserUpdate,
  zVerifierCreate,
  zVerifierUpdate,
} from './admin.dto';

/** Where the committed copy of the document lives, relative to the workspace root. */
export const ADMIN_OPENAPI_PATH = 'docs/api/admin.openapi.json';

type JsonSchema = Record<string, unknown>;
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

interface OperationSpec {
  method: Method;
  /** OpenAPI path template, e.g. `/admin/tenants/{id}`. */
  path: string;
  id: string;
  summary: string;
  tag: string;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The body may be left out (every field optional). */
  bodyOptional?: boolean;
  status: number;
  /** A `#/components/schemas/...` name, or null for no body. */
  response: string | null;
  /** The one route without the bearer token. */
  public?: boolean;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const str = (extra: JsonSchema = {}) => ({ type: 'string', ...extra });
const nullable = (schema: JsonSchema) => ({ anyOf: [schema, { type: 'null' }] });
const meta = {
  version: { type: 'integer', minimum: 1 },
  created_at: str({ format: 'date-time' }),
  updated_at: str({ format: 'date-time' }),
};
const object = (properties: Record<string, unknown>): JsonSchema => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
});
const listing = (item: string): JsonSchema =>
  object({ items: { type: 'array', items: ref(item) }, next_cursor: nullable(str()) });

const RESPONSE_SCHEMAS: Record<string, JsonSchema> = {
  Status: object({ status: { const: 'ok' }, mode: { enum: ['development', 'production'] }, store: str(), cache: str() }),
  Tenant: object({
    id: str(),
    display_name: str(),
    enabled: { type: 'boolean' },
    require_invite: { type: 'boolean' },
    trust_config: object({ pdp_url: nullable(str({ description: 'AuthZEN PDP URL, `none`, or null for the default PDP' })) }),
    allowed_protocols: { type: 'array', items: str() },
    allowed_origins: { type: 'array', items: str({ description: 'Browser origins of the tenant\'s front ends (WebSocket Origin check); empty: the deployment\'s' }) },
    ...meta,
  }),
  TenantList: listing('Tenant'),
  TenantDeleted: object({ deleted: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Records deleted per collection' } }),
  User: object({
    id: str(),
    handle: str(),
    display_name: str(),
    status: { enum: ['active', 'suspended'] },
    role: nullable({ enum: ['member', 'admin'] }),
    private_data_set: { type: 'boolean' },
    ...meta,
  }),
  UserList: listing('User'),
  Issuer: object({
    id: str(),
    credential_issuer_identifier: str({ format: 'uri' }),
    client_id: nullable(str()),
    visible: { type: 'boolean' },
    client_private_key_set: { type: 'boolean', description: 'The key itself is never returned' },
    ...meta,
  }),
  IssuerList: listing('Issuer'),
  Verifier: object({
    id: str(),
    name: str(),
    url: str({ format: 'uri' }),
    client_id: nullable(str({ description: 'OpenID4VP pre-registered client id (no prefix), or null' })),
    jwks: { type: 'array', items: { type: 'object' }, description: 'Public keys its signed requests use (pre-registered verifiers)' },
    ...meta,
  }),
  VerifierList: listing('Verifier'),
  Invite: object({
    id: str(),
    expires_at: nullable(str({ format: 'date-time' })),
    max_uses: { type: 'integer' },
    uses: { type: 'integer' },
    revoked: { type: 'boolean' },
    status: { enum: ['active', 'expired', 'revoked', 'used_up'] },
    ...meta,
  }),
  InviteList: listing('Invite'),
  InvitesCreated: object({
    items: {
      type: 'array',
      items: { allOf: [ref('Invite'), object({ code: str({ description: 'The invite code; shown only in this answer' }) })] },
    },
  }),
  AuditEvent: object({
    id: str(),
    at: str({ format: 'date-time' }),
    tenant: str(),
    actor_type: { enum: ['admin', 'user', 'system'] },
    actor: nullable(str()),
    action: str(),
    resource: str(),
    resource_id: nullable(str()),
    before: nullable({ type: 'object' }),
    after: nullable({ type: 'object' }),
    request_id: nullable(str()),
  }),
  AuditList: listing('AuditEvent'),
  VerifierService: {
    ...jsonSchema(zVerifierServiceDefinition),
    description: 'A relying-party service of the verifier, in the shape of the verifier services file (docs/verifier.md)',
  },
  VerifierServiceList: listing('VerifierService'),
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem details',
    properties: {
      type: str(),
      title: str(),
      status: { type: 'integer' },
      detail: str(),
      code: str(),
      instance: str(),
      correlationId: str(),
      issues: { type: 'array', items: object({ path: str(), message: str() }) },
    },
    required: ['type', 'title', 'status', 'detail', 'code'],
  },
};

const T = '/admin/tenants/{tenant}';

/** Every admin route. The route-walking test keeps this list and the controllers in step. */
export const ADMIN_OPERATIONS: readonly OperationSpec[] = [
  { method: 'get', path: '/admin/status', id: 'getStatus', summary: 'Service status (no token needed)', tag: 'status', status: 200, response: 'Status', public: true },
  { method: 'get', path: '/admin/openapi.json', id: 'getOpenApi', summary: 'This document', tag: 'status', status: 200, response: null },
  { method: 'get', path: '/admin/tenants', id: 'listTenants', summary: 'List tenants', tag: 'tenants', query: zListQuery, status: 200, response: 'TenantList' },
  { method: 'post', path: '/admin/tenants', id: 'createTenant', summary: 'Create a tenant', tag: 'tenants', body: zTenantCreate, status: 201, response: 'Tenant' },
  { method: 'get', path: '/admin/tenants/{id}', id: 'getTenant', summary: 'Get a tenant', tag: 'tenants', status: 200, response: 'Tenant' },
  { method: 'patch', path: '/admin/tenants/{id}', id: 'updateTenant', summary: 'Update a tenant', tag: 'tenants', body: zTenantUpdate, status: 200, response: 'Tenant' },
  {
    method: 'delete',
    path: '/admin/tenants/{id}',
    id: 'deleteTenant',
    summary: 'Delete a tenant: refused while it has users unless force=true, which deletes all its records',
    tag: 'tenants',
    query: zDeleteTenantQuery,
    status: 200,
    response: 'TenantDeleted',
  },
  { method: 'get', path: `${T}/users`, id: 'listUsers', summary: 'List users of a tenant', tag: 'users', query: zListQuery, status: 200, response: 'UserList' },
  { method: 'post', path: `${T}/users`, id: 'createUser', summary: 'Add a user (pre-provisioned account with a membership)', tag: 'users', body: zUserCreate, status: 201, response: 'User' },
  { method: 'get', path: `${T}/users/{id}`, id: 'getUser', summary: 'Get a user', tag: 'users', status: 200, response: 'User' },
  { method: 'patch', path: `${T}/users/{id}`, id: 'updateUser', summary: 'Update or suspend a user (suspending revokes their refresh tokens)', tag: 'users', body: zUserUpdate, status: 200, response: 'User' },
  { method: 'delete', path: `${T}/users/{id}`, id: 'deleteUser', summary: 'Remove a user and their records', tag: 'users', status: 204, response: null },
  { method: 'put', path: `${T}/users/{id}/membership`, id: 'putMembership', summary: 'Add or change a membership', tag: 'users', body: zMembershipPut, status: 200, response: 'User' },
  { method: 'delete', path: `${T}/users/{id}/membership`, id: 'deleteMembership', summary: 'Remove a membership', tag: 'users', status: 204, response: null },
  { method: 'get', path: `${T}/issuers`, id: 'listIssuers', summary: 'List issuers', tag: 'issuers', query: zListQuery, status: 200, response: 'IssuerList' },
  { method: 'post', path: `${T}/issuers`, id: 'createIssuer', summary: 'Create an issuer (client_private_key is write-only)', tag: 'issuers', body: zIssuerCreate, status: 201, response: 'Issuer' },
  { method: 'get', path: `${T}/issuers/{id}`, id: 'getIssuer', summary: 'Get an issuer', tag: 'issuers', status: 200, response: 'Issuer' },
  { method: 'patch', path: `${T}/issuers/{id}`, id: 'updateIssuer', summary: 'Update an issuer', tag: 'issuers', body: zIssuerUpdate, status: 200, response: 'Issuer' },
  { method: 'delete', path: `${T}/issuers/{id}`, id: 'deleteIssuer', summary: 'Delete an issuer', tag: 'issuers', status: 204, response: null },
  { method: 'get', path: `${T}/verifiers`, id: 'listVerifiers', summary: 'List verifiers', tag: 'verifiers', query: zListQuery, status: 200, response: 'VerifierList' },
  { method: 'post', path: `${T}/verifiers`, id: 'createVerifier', summary: 'Create a verifier', tag: 'verifiers', body: zVerifierCreate, status: 201, response: 'Verifier' },
  { method: 'get', path: `${T}/verifiers/{id}`, id: 'getVerifier', summary: 'Get a verifier', tag: 'verifiers', status: 200, response: 'Verifier' },
  { method: 'patch', path: `${T}/verifiers/{id}`, id: 'updateVerifier', summary: 'Update a verifier', tag: 'verifiers', body: zVerifierUpdate, status: 200, response: 'Verifier' },
  { method: 'delete', path: `${T}/verifiers/{id}`, id: 'deleteVerifier', summary: 'Delete a verifier', tag: 'verifiers', status: 204, response: null },
  { method: 'get', path: `${T}/invites`, id: 'listInvites', summary: 'List invites (codes are never listed)', tag: 'invites', query: zListQuery, status: 200, response: 'InviteList' },
  { method: 'post', path: `${T}/invites`, id: 'createInvites', summary: 'Create invite codes (returned once; only their SHA-256 is stored)', tag: 'invites', body: zInviteCreate, bodyOptional: true, status: 201, response: 'InvitesCreated' },
  { method: 'post', path: `${T}/invites/{id}/revoke`, id: 'revokeInvite', summary: 'Revoke an invite', tag: 'invites', status: 200, response: 'Invite' },
  { method: 'post', path: `${T}/invites/{id}/renew`, id: 'renewInvite', summary: 'Renew an invite (new expiry, optional new use limit; un-revokes)', tag: 'invites', body: zInviteRenew, bodyOptional: true, status: 200, response: 'Invite' },
  { method: 'get', path: '/admin/verifier-services', id: 'listVerifierServices', summary: 'List the verifier’s relying-party services', tag: 'verifier-services', query: zListQuery, status: 200, response: 'VerifierServiceList' },
  { method: 'get', path: '/admin/verifier-services/{id}', id: 'getVerifierService', summary: 'Get a verifier service', tag: 'verifier-services', status: 200, response: 'VerifierService' },
  { method: 'put', path: '/admin/verifier-services/{id}', id: 'putVerifierService', summary: 'Create or replace a verifier service (the verifier picks it up within seconds)', tag: 'verifier-services', body: zVerifierServiceDefinition, status: 200, response: 'VerifierService' },
  { method: 'delete', path: '/admin/verifier-services/{id}', id: 'deleteVerifierService', summary: 'Delete a verifier service', tag: 'verifier-services', status: 204, response: null },
  { method: 'get', path: '/admin/audit', id: 'listAudit', summary: 'Audit log of admin changes, oldest first', tag: 'audit', query: zAuditQuery, status: 200, response: 'AuditList' },
];

function jsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** Path parameter names of an OpenAPI path template, in order. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? '');
}

/** The zod schema a path parameter is validated with. */
export function pathParamSchema(path: string, name: string): z.ZodType {
  const tenantParam = name === 'tenant' || (name === 'id' && path === '/admin/tenants/{id}');
  return tenantParam ? zTenantId : zRecordId;
}

/** The admin API as an OpenAPI 3.1 document, built from the same zod schemas the routes validate with. */
export function buildAdminOpenApi(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of ADMIN_OPERATIONS) {
    const parameters: unknown[] = pathParams(op.path).map((name) => ({
      name,
      in: 'path',
      required: true,
      schema: jsonSchema(pathParamSchema(op.path, name)),
    }));
    if (op.query) {
      const properties = (jsonSchema(op.query)['properties'] ?? {}) as Record<string, JsonSchema>;
      for (const [name, schema] of Object.entries(properties)) parameters.push({ name, in: 'query', required: false, schema });
    }
    const responses: Record<string, unknown> = {
      [String(op.status)]: op.response
        ? { description: 'OK', content: { 'application/json': { schema: ref(op.response) } } }
        : op.id === 'getOpenApi'
          ? { description: 'OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } }
          : { description: 'No content' },
    };
    const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });
    if (!op.public) responses['401'] = problem('Missing or wrong admin bearer token');
    if (op.body || op.query || pathParams(op.path).length > 0) responses['400'] = problem('Invalid input (unknown field, bad id, bad value)');
    if (pathParams(op.path).length > 0) responses['404'] = problem('Tenant or record not found');
    if (op.method === 'post' || op.method === 'patch' || op.method === 'put') responses['409'] = problem('Duplicate id or unique field, or concurrent change');
    if (op.id === 'deleteTenant') {
      responses['403'] = problem('The default tenant cannot be deleted');
      responses['412'] = problem('The tenant still has users and force is not set');
    }
    const item = (paths[op.path] ??= {});
    item[op.method] = {
      operationId: op.id,
      summary: op.summary,
      tags: [op.tag],
      ...(op.public ? { security: [] } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(op.body ? { requestBody: { required: !op.bodyOptional, content: { 'application/json': { schema: jsonSchema(op.body) } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Wallet admin API',
      version: '1.0.0',
      description:
        'Operator API of the wallet platform, served only on the admin port. Every route except GET /admin/status needs `Authorization: Bearer <admin token>`. JSON is snake_case; errors are RFC 9457 problem details. An optional `X-Admin-Actor` header names the operator in the audit log.',
    },
    servers: [{ url: 'http://localhost:8081', description: 'all-in-one (standalone admin service: port 3005)' }],
    security: [{ adminToken: [] }],
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' } },
      schemas: RESPONSE_SCHEMAS,
    },
    paths,
  };
}
