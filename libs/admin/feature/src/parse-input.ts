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
