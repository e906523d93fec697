import { RequestMethod, type INestApplication, type Type } from '@nestjs/common';
import { HTTP_CODE_METADATA, METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ModulesContainer, Reflector } from '@nestjs/core';
import { STATUS_CODES } from 'node:http';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { TENANT_ID_PATTERN } from '@wallet/domain';
import { routeProtection, type RouteProtection } from '../auth/access-token.guard';
import { RATE_LIMIT } from '../rate-limit/rate-limit.decorator';
import { PlatformModule } from '../platform.module';
import type { ServiceName } from '../tokens';
import { describeDtoValidation } from './dto-schema';
import { PROBLEM_SCHEMAS, problemResponse, referencedComponentSchemas, VALIDATION_PROBLEM_SCHEMA } from './problem-responses';
import { SERVICE_API_DOCUMENTS, serviceApiOf } from './service-api';

/** The version our documents declare; @nestjs/swagger writes 3.0-style schemas, which `toOpenApi31` converts. */
export const OPENAPI_VERSION = '3.1.0';

export const SECURITY_SCHEMES = {
  accessToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT (ES256, typ at+jwt)',
    description: 'An access token from auth (a passkey login). Never accepted in the query string.',
  },
  adminToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'The admin token (`server.adminToken`; in development the generated one in the data directory).',
  },
} as const;

const TENANT_HEADER = {
  name: 'X-Tenant-ID',
  in: 'header',
  required: false,
  description:
    'The tenant the request is for, before login (else `default`); the path prefix `/t/{tenant}/...` does the same. After login the access token names the tenant, and naming another is refused (403 `tenant_mismatch`).',
  schema: { type: 'string', pattern: TENANT_ID_PATTERN.source },
};

/** One route as Nest registers it, with what the document needs to know about it. */
export interface DocumentedRoute {
  method: string;
  /** OpenAPI style: `/admin/tenants/{id}`. */
  path: string;
  protection: RouteProtection;
  rateLimited: boolean;
  /** The status of a successful answer (`@HttpCode`, else 201 for POST and 200 otherwise). */
  status: number;
  /** DTO classes of its body, query and path parameters. */
  dtos: Array<Type<unknown>>;
  controller: Type<unknown>;
  handler: string;
}

const PRIMITIVE_TYPES: unknown[] = [String, Number, Boolean, Object, Array, Date, Buffer, undefined];
const INPUT_PARAMS = [RouteParamtypes.BODY, RouteParamtypes.QUERY, RouteParamtypes.PARAM];

const joinPath = (...parts: string[]): string => `/${parts.flatMap((p) => p.split('/')).filter(Boolean).join('/')}`;

/** The routes of some controllers, read from their Nest metadata. */
export function routesOf(controllers: Iterable<Type<unknown>>): DocumentedRoute[] {
  const reflector = new Reflector();
  const routes: DocumentedRoute[] = [];
  for (const controller of controllers) {
    const bases = [Reflect.getMetadata(PATH_METADATA, controller) as string | string[] | undefined].flat().map((p) => p ?? '');
    const prototype = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const handler = prototype[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      const subs = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      if (method === undefined || subs === undefined) continue;
      const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ?? {}) as Record<string, { index: number }>;
      const types = (Reflect.getMetadata('design:paramtypes', prototype, name) ?? []) as unknown[];
      const dtos = Object.entries(args)
        .filter(([key]) => INPUT_PARAMS.includes(Number(key.split(':')[0])))
        .map(([, arg]) => types[arg.index])
        .filter((type): type is Type<unknown> => typeof type === 'function' && !PRIMITIVE_TYPES.includes(type));
      for (const base of bases) {
        for (const sub of [subs].flat()) {
          routes.push({
            method: RequestMethod[method].toLowerCase(),
            path: joinPath(base, sub).replace(/:([A-Za-z0-9_]+)/g, '{$1}'),
            // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
            protection: routeProtection(reflector, handler as Function, controller),
            rateLimited: reflector.getAllAndOverride(RATE_LIMIT, [handler as never, controller]) !== undefined,
            status: (Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined) ?? (method === RequestMethod.POST ? 201 : 200),
            dtos,
            controller,
            handler: name,
          });
        }
      }
    }
  }
  return routes;
}

/** The modules of a running app whose routes belong to `service`'s document (the platform's own included). */
export function serviceModules(app: INestApplication, service: ServiceName, extra: ReadonlyArray<Type<unknown>> = []): Array<Type<unknown>> {
  const modules: Array<Type<unknown>> = [];
  for (const module of app.get(ModulesContainer).values()) {
    const metatype = module.metatype as Type<unknown>;
    if (metatype === PlatformModule || serviceApiOf(metatype) === service || extra.includes(metatype)) modules.push(metatype);
  }
  return modules;
}

/** The controllers those modules declare. */
export function controllersOf(app: INestApplication, modules: ReadonlyArray<Type<unknown>>): Array<Type<unknown>> {
  const controllers: Array<Type<unknown>> = [];
  for (const module of app.get(ModulesContainer).values()) {
    if (!modules.includes(module.metatype as Type<unknown>)) continue;
    for (const wrapper of module.controllers.values()) if (wrapper.metatype) controllers.push(wrapper.metatype as Type<unknown>);
  }
  return controllers;
}

export interface BuiltApiDocument {
  document: OpenAPIObject;
  routes: DocumentedRoute[];
  /** `Class.property` of validated DTO properties without `@ApiProperty` (missing from the document). */
  undocumented: string[];
}

/**
 * Builds `service`'s OpenAPI 3.1 document from the routes of the modules
 * tagged `@ServiceApi(service)` (and the platform's), with @nestjs/swagger:
 *
 * - each operation's `security` follows how the route is guarded (`[]` for
 *   `@Public()`, the access token, or the admin token);
 * - DTO schemas say what their class-validator decorators enforce
 *   (`describeDtoValidation`), and refuse unknown fields
 *   (`additionalProperties: false`), as the global pipe does;
 * - every operation lists the problem+json answers every route can give
 *   (400 invalid input; 401 and 403 when guarded; 404 for an unknown tenant;
 *   429 when rate-limited) unless it documents them itself.
 */
export function buildServiceApiDocument(app: INestApplication, service: ServiceName, extraModules: ReadonlyArray<Type<unknown>> = []): BuiltApiDocument {
  const info = SERVICE_API_DOCUMENTS[service];
  const modules = serviceModules(app, service, extraModules);
  const routes = routesOf(controllersOf(app, modules));
  const dtos = new Set(routes.flatMap((r) => r.dtos));
  const undocumented = describeDtoValidation(dtos);
  const config = new DocumentBuilder().setOpenAPIVersion(OPENAPI_VERSION).setTitle(info.title).setDescription(info.description).setVersion('1.0.0').build();
  const raw = SwaggerModule.createDocument(app, config, {
    include: modules,
    operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}`,
  });
  const document = tidy(toOpenApi31(completeOperations(raw, routes, dtos)));
  return { document, routes, undocumented };
}

/** A stable, readable layout: the usual top-level order, no empty lists or objects @nestjs/swagger leaves behind. */
function tidy(document: OpenAPIObject): OpenAPIObject {
  const { contact: _contact, ...info } = document.info;
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item as Record<string, Json>)) {
      if (Array.isArray(operation['parameters']) && operation['parameters'].length === 0) delete operation['parameters'];
    }
  }
  return {
    openapi: document.openapi,
    info,
    ...(document.tags && document.tags.length > 0 ? { tags: document.tags } : {}),
    paths: document.paths,
    ...(document.components ? { components: document.components } : {}),
  };
}

type Json = Record<string, unknown>;

function completeOperations(document: OpenAPIObject, routes: readonly DocumentedRoute[], dtos: ReadonlySet<Type<unknown>>): OpenAPIObject {
  const byKey = new Map(routes.map((r) => [`${r.method} ${r.path}`, r]));
  const used = new Set<keyof typeof SECURITY_SCHEMES>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, value] of Object.entries(item as Json)) {
      const route = byKey.get(`${method} ${path}`);
      if (!route || typeof value !== 'object' || value === null) continue;
      const operation = value as Json & { responses: Json; parameters?: Json[] };
      const { protection } = route;
      const scheme = protection.kind === 'admin' ? 'adminToken' : protection.kind === 'token' ? 'accessToken' : null;
      if (scheme) used.add(scheme);
      operation['security'] ??= scheme ? [{ [scheme]: [] }] : [];
      const tenantScoped = protection.kind === 'token' || (protection.kind === 'public' && protection.tenant);
      if (tenantScoped && !(operation.parameters ?? []).some((p) => String(p['name']).toLowerCase() === 'x-tenant-id')) {
        operation.parameters = [...(operation.parameters ?? []), TENANT_HEADER];
      }
      const responses = operation.responses;
      const add = (status: string, response: Json) => {
        responses[status] ??= response;
      };
      // @nestjs/swagger leaves out the success answer once a route documents any other.
      if (!Object.keys(responses).some((status) => /^[23]/.test(status))) add(String(route.status), { description: STATUS_CODES[route.status] ?? '' });
      // An answer documented without words gets the status text (OpenAPI requires a description).
      for (const [status, response] of Object.entries(responses)) {
        const described = response as Json;
        if (described['description'] === '' && STATUS_CODES[Number(status)]) described['description'] = STATUS_CODES[Number(status)];
      }
      add('400', problemResponse('Invalid input (`validation_failed`, with `issues`), or a bearer token in the query string', undefined, VALIDATION_PROBLEM_SCHEMA));
      if (protection.kind === 'admin') add('401', problemResponse('Missing or wrong admin bearer token (`unauthorized`)'));
      if (protection.kind === 'token') {
        add('401', problemResponse('Missing, invalid, expired or revoked access token (`token_required`, `invalid_token`, `token_expired`, ...)'));
        add('403', problemResponse('The request names another tenant than the token (`tenant_mismatch`), or the account may not do this'));
      }
      if (tenantScoped) add('404', problemResponse('The tenant does not exist or is disabled (`not_found`)'));
      if (route.rateLimited) add('429', problemResponse('Too many requests (`rate_limited`); `Retry-After` says when to retry'));
      operation['responses'] = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
    }
  }
  const components = (document.components ??= {}) as Json & { schemas?: Json; securitySchemes?: Json };
  const schemas = (components.schemas ??= {});
  // The global pipe refuses unknown fields: say so on every DTO schema.
  for (const dto of dtos) {
    const schema = schemas[dto.name] as Json | undefined;
    if (schema && schema['additionalProperties'] === undefined) schema['additionalProperties'] = false;
  }
  Object.assign(schemas, PROBLEM_SCHEMAS, referencedComponentSchemas(document.paths));
  components.schemas = Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)));
  if (used.size > 0) components.securitySchemes = Object.fromEntries([...used].sort().map((name) => [name, SECURITY_SCHEMES[name]]));
  return document;
}

/**
 * @nestjs/swagger writes OpenAPI 3.0 schemas (`nullable: true`); in 3.1
 * (JSON Schema 2020-12) null is a type. Converts every schema in place.
 */
export function toOpenApi31<T>(value: T): T {
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (node === null || typeof node !== 'object') return node;
    const out: Json = {};
    for (const [key, child] of Object.entries(node as Json)) out[key] = visit(child);
    if (!('nullable' in out)) return out;
    const { nullable, ...schema } = out;
    if (nullable !== true) return schema;
    if (typeof schema['type'] === 'string') {
      const nullableType = { ...schema, type: [schema['type'], 'null'] };
      return Array.isArray(schema['enum']) ? { ...nullableType, enum: [...(schema['enum'] as unknown[]), null] } : nullableType;
    }
    if (Array.isArray(schema['type'])) return { ...schema, type: [...new Set([...(schema['type'] as unknown[]), 'null'])] };
    const { description, example, examples, default: fallback, ...shape } = schema;
    return {
      ...(description === undefined ? {} : { description }),
      ...(example === undefined ? {} : { example }),
      ...(examples === undefined ? {} : { examples }),
      ...(fallback === undefined ? {} : { default: fallback }),
      anyOf: [shape, { type: 'null' }],
    };
  };
  return visit(value) as T;
}
