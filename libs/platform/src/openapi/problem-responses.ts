import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';
import { PROBLEM_CONTENT_TYPE } from '../errors/problem';

/** The component names of the problem document schemas every service document carries. */
export const PROBLEM_SCHEMA = 'Problem';
export const VALIDATION_PROBLEM_SCHEMA = 'ValidationProblem';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** RFC 9457 problem details as `ProblemDetailsFilter` writes them. */
export const PROBLEM_SCHEMAS: Record<string, Record<string, unknown>> = {
  [PROBLEM_SCHEMA]: {
    type: 'object',
    description: 'RFC 9457 problem details. `code` is stable and machine-readable; `detail` is for people and never carries secrets.',
    properties: {
      type: { type: 'string', format: 'uri', example: 'https://wallet.dev/problems/not_found' },
      title: { type: 'string', example: 'Not Found' },
      status: { type: 'integer', example: 404 },
      code: { type: 'string', description: 'Stable code: `not_found`, `already_exists`, `token_required`, `tenant_mismatch`, ...', example: 'not_found' },
      detail: { type: 'string', example: 'tenant acme not found' },
      instance: { type: 'string', description: 'The request path', example: '/admin/tenants/acme' },
      correlationId: { type: 'string', description: 'The request id (also in `X-Request-ID`), to find the log line' },
    },
    required: ['type', 'title', 'status', 'code', 'detail'],
  },
  [VALIDATION_PROBLEM_SCHEMA]: {
    description: 'A `validation_failed` problem: what is wrong with the input, at JSON-pointer paths into the body, the query or the path parameter.',
    allOf: [
      ref(PROBLEM_SCHEMA),
      {
        type: 'object',
        properties: {
          issues: {
            type: 'array',
            maxItems: 20,
            items: {
              type: 'object',
              properties: {
                path: { type: 'string', description: 'JSON pointer (`/` is the whole input)', example: '/display_name' },
                message: { type: 'string', example: 'must be shorter than or equal to 200 characters' },
              },
              required: ['path', 'message'],
            },
          },
        },
      },
    ],
    example: {
      type: 'https://wallet.dev/problems/validation_failed',
      title: 'Bad Request',
      status: 400,
      code: 'validation_failed',
      detail: 'invalid body: unknown field: colour',
      issues: [{ path: '/', message: 'unknown field: colour' }],
      instance: '/admin/tenants',
      correlationId: '1f0c1e2a-6b1d-4c36-9a57-2f5d1c0e9b7a',
    },
  },
};

const COMPONENT_SCHEMAS = new Map<string, Record<string, unknown>>();

/**
 * A JSON Schema that is not a DTO class (e.g. the JSON Schema of a zod schema
 * that stays zod by ADR 0015), kept once under `#/components/schemas/<name>`
 * of every document that references it: returns the reference for
 * `@ApiBody({ schema })`, `@ApiOkResponse({ schema })` and the like.
 */
export function componentSchema(name: string, schema: Record<string, unknown>): { $ref: string } {
  const known = COMPONENT_SCHEMAS.get(name);
  if (known && JSON.stringify(known) !== JSON.stringify(schema)) throw new Error(`two different component schemas named ${name}`);
  COMPONENT_SCHEMAS.set(name, schema);
  return ref(name);
}

/** The component schemas a document references (see `componentSchema`), by name. */
export function referencedComponentSchemas(document: unknown): Record<string, Record<string, unknown>> {
  const text = JSON.stringify(document);
  const out: Record<string, Record<string, unknown>> = {};
  const pending = [...COMPONENT_SCHEMAS.keys()].filter((name) => text.includes(`"#/components/schemas/${name}"`));
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    const schema = COMPONENT_SCHEMAS.get(name);
    if (out[name] || !schema) continue;
    out[name] = schema;
    // A registered schema may reference others.
    const inner = JSON.stringify(schema);
    for (const other of COMPONENT_SCHEMAS.keys()) if (!out[other] && inner.includes(`"#/components/schemas/${other}"`)) pending.push(other);
  }
  return out;
}

/** A response whose body is a problem document (`application/problem+json`). */
export function problemResponse(description: string, example?: Record<string, unknown>, schema = PROBLEM_SCHEMA): Record<string, unknown> {
  return {
    description,
    content: { [PROBLEM_CONTENT_TYPE]: { schema: ref(schema), ...(example ? { example } : {}) } },
  };
}

/**
 * Documents an error answer of a route as a problem document:
 * `@ApiProblem(409, 'A tenant with this id exists', 'already_exists')`.
 * The common ones (400 invalid input, 401/403 for guarded routes, 404 for an
 * unknown tenant, 429 for rate-limited routes) are added to every operation
 * that does not declare them itself (see `buildServiceApiDocument`).
 */
export function ApiProblem(status: number, description: string, code?: string): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiResponse({
      status,
      description,
      content: {
        [PROBLEM_CONTENT_TYPE]: {
          schema: ref(status === 400 ? VALIDATION_PROBLEM_SCHEMA : PROBLEM_SCHEMA),
          ...(code ? { example: { type: `https://wallet.dev/problems/${code}`, status, code, title: titleOf(status), detail: description } } : {}),
        },
      },
    }),
  );
}

const titleOf = (status: number): string => STATUS_CODES[status] ?? 'Error';
