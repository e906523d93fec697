import type { PipeTransform } from '@nestjs/common';
import { ValidationError, zodIssues } from '@wallet/domain';
import { z } from 'zod';
import type { FieldCheck } from './checked-by.decorator';

/**
 * Validates outside input against a zod schema and throws `ValidationError`
 * (400 problem+json) listing every issue, each with a JSON-pointer path, in
 * the same shape the global `WalletValidationPipe` reports DTO failures.
 * Messages name the field, never echo its value.
 *
 * Only for inputs that stay zod by ADR 0015: a REST body that carries a
 * protocol message or a configuration document shared as a zod schema (e.g.
 * a verifier service definition). Our own REST shapes are DTO classes.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value ?? (what === 'body' ? undefined : {}));
  if (result.success) return result.data;
  const issues = zodIssues(result.error);
  const first = issues[0];
  throw new ValidationError(`invalid ${what}${first ? `: ${first.path === '/' ? '' : `${first.path} `}${first.message}` : ''}`, issues);
}

/**
 * A `@CheckedBy` check by a zod schema, for a DTO field whose shape stays zod
 * by ADR 0015 (a protocol message the browser client parses too):
 * `@CheckedBy(zodCheck(zRegistrationResponse)) credential!: unknown`.
 */
export function zodCheck(schema: z.ZodType): FieldCheck {
  return (value) => {
    const result = schema.safeParse(value);
    return result.success ? [] : zodIssues(result.error);
  };
}

/**
 * A Nest pipe that validates one route argument with `parseInput`:
 * `@Body(new ZodPipe(zServiceDefinition, 'body')) input: ServiceDefinition`.
 * Declare the argument's type as `unknown` or a type alias (not a class), so
 * the global DTO pipe lets it through; document the body with
 * `@ApiBody({ schema: zodJsonSchema(schema) })`.
 */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(
    readonly schema: S,
    private readonly what: string,
  ) {}

  transform(value: unknown): z.output<S> {
    return parseInput(this.schema, value, this.what);
  }
}

/**
 * The JSON Schema (draft 2020-12, which OpenAPI 3.1 uses) of what a zod
 * schema accepts, for `@ApiBody({ schema })` on routes validated by `ZodPipe`.
 */
export function zodJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}
