import type { PipeTransform } from '@nestjs/common';
import { ValidationError, type ValidationIssue } from '@wallet/domain';
import type { z } from 'zod';

/**
 * Validates outside input (body, query, path parameter) against a zod schema
 * and throws `ValidationError` (400 problem+json) listing every issue, each
 * with a JSON-pointer path. Messages name the field, never echo its value.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value ?? (what === 'body' ? undefined : {}));
  if (result.success) return result.data;
  const issues: ValidationIssue[] = result.error.issues.slice(0, 20).map((issue) => ({
    path: `/${issue.path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`,
    message:
      issue.code === 'unrecognized_keys'
        ? `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.slice(0, 5).map((k) => k.slice(0, 64)).join(', ')}`
        : issue.message,
  }));
  const first = issues[0];
  throw new ValidationError(`invalid ${what}${first ? `: ${first.path === '/' ? '' : `${first.path} `}${first.message}` : ''}`, issues);
}

/**
 * A Nest pipe that validates a route argument (`@Body`, `@Query`, `@Param`)
 * with `parseInput`. The schema is kept on the pipe, so the OpenAPI test can
 * check that a route validates with exactly the schema its documentation was
 * built from.
 */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(
    readonly schema: S,
    private readonly what: string,
    /** Used when the request has no body at all (routes whose every body field is optional). */
    private readonly whenAbsent?: unknown,
  ) {}

  transform(value: unknown): z.output<S> {
    return parseInput(this.schema, value === undefined ? this.whenAbsent : value, this.what);
  }
}

export const body = <S extends z.ZodType>(schema: S) => new ZodPipe(schema, 'body');
/** A body that may be left out entirely (treated as `{}`). */
export const optionalBody = <S extends z.ZodType>(schema: S) => new ZodPipe(schema, 'body', {});
export const query = <S extends z.ZodType>(schema: S) => new ZodPipe(schema, 'query');
