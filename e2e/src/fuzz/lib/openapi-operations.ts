/**
 * The routes of an OpenAPI 3 document as the fuzzer sees them: method, path
 * template, parameters and body schema with every `$ref` resolved, the
 * security the route documents, and which error answers it documents as
 * problem+json.
 */

/** The subset of JSON Schema (OpenAPI 3.0/3.1 dialect) the generators understand; anything else is ignored. */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number | boolean;
  exclusiveMaximum?: number | boolean;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  nullable?: boolean;
  example?: unknown;
  default?: unknown;
}

export interface FuzzParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: JsonSchema;
}

export type RouteSecurity = 'public' | 'accessToken' | 'adminToken' | 'other';

export interface FuzzOperation {
  /** The service whose document lists the route (auth, storage, registry, admin, verifier). */
  service: string;
  method: string;
  /** The path template, e.g. `/storage/vault/records/{id}`. */
  path: string;
  /** `METHOD /path` - how reports and `--route` name the operation. */
  key: string;
  parameters: FuzzParameter[];
  /** The JSON body schema when the route documents one; `undefined` when it documents none. */
  body: { schema: JsonSchema; required: boolean } | undefined;
  security: RouteSecurity;
  /** Response status (`"400"`, `"4XX"`, `"default"`) -> its documented media types. */
  responses: Record<string, string[]>;
}

export interface OpenApiDocument {
  paths?: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, JsonSchema>; securitySchemes?: Record<string, unknown> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
/** Deeper `$ref` chains than this are cut (a recursive schema would otherwise never end). */
const MAX_REF_DEPTH = 12;

/** Resolves every local `$ref` of a schema, cutting recursion at a fixed depth. */
export function resolveSchema(document: OpenApiDocument, schema: unknown, depth = 0): JsonSchema {
  if (!schema || typeof schema !== 'object' || depth > MAX_REF_DEPTH) return {};
  const s = schema as JsonSchema;
  if (typeof s.$ref === 'string') {
    const name = /^#\/components\/schemas\/(.+)$/.exec(s.$ref)?.[1];
    const target = name ? document.components?.schemas?.[decodeURIComponent(name)] : undefined;
    return resolveSchema(document, target, depth + 1);
  }
  const out: JsonSchema = { ...s };
  if (s.items) out.items = resolveSchema(document, s.items, depth + 1);
  if (s.properties) {
    out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, resolveSchema(document, v, depth + 1)]));
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    out.additionalProperties = resolveSchema(document, s.additionalProperties, depth + 1);
  }
  for (const key of ['oneOf', 'anyOf', 'allOf'] as const) {
    if (Array.isArray(s[key])) out[key] = s[key]!.map((x) => resolveSchema(document, x, depth + 1));
  }
  if (out.allOf) {
    // Merge an allOf of objects into one object schema, which is what the generators need.
    const merged: JsonSchema = { type: 'object', properties: {}, required: [] };
    for (const part of [out, ...out.allOf]) {
      Object.assign(merged.properties!, part.properties ?? {});
      merged.required!.push(...(part.required ?? []));
      if (part.additionalProperties !== undefined) merged.additionalProperties = part.additionalProperties;
    }
    const { allOf: _allOf, ...rest } = out;
    return { ...rest, ...merged };
  }
  return out;
}

function securityOf(document: OpenApiDocument, operation: Record<string, unknown>): RouteSecurity {
  const security = (operation['security'] ?? (document as { security?: unknown }).security) as Array<Record<string, unknown>> | undefined;
  if (!security || security.length === 0 || security.some((s) => Object.keys(s).length === 0)) return 'public';
  const names = security.flatMap((s) => Object.keys(s));
  if (names.includes('adminToken')) return 'adminToken';
  if (names.includes('accessToken')) return 'accessToken';
  return 'other';
}

/** Every operation of a document, in document order. */
export function operationsOf(service: string, document: OpenApiDocument): FuzzOperation[] {
  const out: FuzzOperation[] = [];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    const shared = (item['parameters'] as unknown[] | undefined) ?? [];
    for (const method of METHODS) {
      const operation = item[method] as Record<string, unknown> | undefined;
      if (!operation) continue;
      const parameters = [...shared, ...((operation['parameters'] as unknown[] | undefined) ?? [])]
        .map((p) => {
          const raw = (p as { $ref?: string }).$ref
            ? (document.components as Record<string, Record<string, unknown>> | undefined)?.['parameters']?.[String((p as { $ref: string }).$ref).split('/').pop()!]
            : p;
          return raw as { name?: string; in?: string; required?: boolean; schema?: unknown } | undefined;
        })
        .filter((p): p is { name: string; in: 'path' | 'query' | 'header'; required?: boolean; schema?: unknown } =>
          !!p && typeof p.name === 'string' && ['path', 'query', 'header'].includes(String(p.in)),
        )
        .map((p) => ({ name: p.name, in: p.in, required: p.in === 'path' || p.required === true, schema: resolveSchema(document, p.schema) }));
      const requestBody = operation['requestBody'] as { required?: boolean; content?: Record<string, { schema?: unknown }> } | undefined;
      const jsonBody = requestBody?.content?.['application/json'] ?? Object.values(requestBody?.content ?? {})[0];
      const responses: Record<string, string[]> = {};
      for (const [status, response] of Object.entries((operation['responses'] as Record<string, { content?: Record<string, unknown> }> | undefined) ?? {})) {
        responses[status] = Object.keys(response?.content ?? {});
      }
      out.push({
        service,
        method: method.toUpperCase(),
        path,
        key: `${method.toUpperCase()} ${path}`,
        parameters,
        body: jsonBody ? { schema: resolveSchema(document, jsonBody.schema), required: requestBody?.required === true } : undefined,
        security: securityOf(document, operation),
        responses,
      });
    }
  }
  return out;
}

/**
 * Whether the route documents a problem+json answer for this 4xx status: the
 * status itself, else `4XX`, else `default`. A status the route does not
 * document is not checked here (the fuzzer reports it separately).
 */
export function documentsProblemJson(operation: FuzzOperation, status: number): boolean | undefined {
  const types = operation.responses[String(status)] ?? operation.responses[`${String(status)[0]}XX`] ?? operation.responses['default'];
  if (!types) return undefined;
  return types.includes('application/problem+json');
}
