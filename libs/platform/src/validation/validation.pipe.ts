import { ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { ValidationError, type ValidationIssue } from '@wallet/domain';
import type { ValidationError as ClassValidatorError } from 'class-validator';
import { validationIssues } from './validation-issues';

/** How deep a DTO-validated input may nest; deeper input is refused before it is walked recursively. */
export const MAX_INPUT_DEPTH = 32;

/** What the exception factory hands back to `transform`, which knows which argument failed. */
class ClassValidationFailure {
  constructor(readonly errors: ClassValidatorError[]) {}
}

const KIND: Record<ArgumentMetadata['type'], string> = { body: 'body', query: 'query', param: 'path parameter', custom: 'input' };

/**
 * Whether `value` nests deeper than `max` objects and arrays, checked without
 * recursion (class-transformer and class-validator recurse, so an input nested
 * thousands of levels deep would overflow the stack there: a 500).
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value: current, depth } = next;
    if (current === null || typeof current !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(current as Record<string, unknown>)) {
      if (child !== null && typeof child === 'object') stack.push({ value: child, depth: depth + 1 });
    }
  }
  return false;
}

/**
 * Most keys one object of a DTO-validated input may have. class-transformer
 * removes duplicate keys with `indexOf` per key (quadratic): an object of
 * 70,000 keys, which fits in a 1 MiB body, held the event loop for seconds.
 */
export const MAX_OBJECT_KEYS = 1000;

/**
 * The JSON pointer of the first object in `value` with more than `max` keys,
 * or null; without recursion, and not below `maxDepth` (deeper input is refused
 * by the depth check). Paths are built only for the object found.
 */
export function widerThan(value: unknown, max: number, maxDepth = MAX_INPUT_DEPTH + 1): string | null {
  interface Entry {
    value: unknown;
    key: string;
    parent: Entry | null;
    depth: number;
  }
  const pathOf = (entry: Entry): string => {
    const segments: string[] = [];
    for (let at: Entry | null = entry; at?.parent; at = at.parent) segments.unshift(at.key.replace(/~/g, '~0').replace(/\//g, '~1'));
    return segments.length ? `/${segments.join('/')}` : '/';
  };
  const stack: Entry[] = [{ value, key: '', parent: null, depth: 0 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const current = next.value;
    if (current === null || typeof current !== 'object' || next.depth > maxDepth) continue;
    const keys = Object.keys(current);
    if (!Array.isArray(current) && keys.length > max) return pathOf(next);
    for (const key of keys) {
      const child = (current as Record<string, unknown>)[key];
      if (child !== null && typeof child === 'object') stack.push({ value: child, key, parent: next, depth: next.depth + 1 });
    }
  }
  return null;
}

function failed(kind: string, issues: ValidationIssue[]): ValidationError {
  const first = issues[0];
  const where = first && first.path !== '/' ? `${first.path} ` : '';
  return new ValidationError(`invalid ${kind}${first ? `: ${where}${first.message}` : ''}`, issues);
}

/**
 * The one global pipe of every service (installed by `createServiceApp`): a
 * route argument typed with a DTO class (`@Body() input: CreateTenantDto`,
 * `@Query() q: ListQueryDto`, `@Param() p: TenantPathDto`) is turned into an
 * instance of that class and validated with its `class-validator` decorators.
 *
 * - Unknown fields are refused (`whitelist` + `forbidNonWhitelisted`), nested
 *   DTOs too (`@ValidateNested()` with `@Type()`).
 * - Failures are a `ValidationError` (400 problem+json, code
 *   `validation_failed`) whose `issues` carry JSON-pointer paths into the
 *   argument (see `validationIssues`); a path parameter is one value, so its
 *   path is `/` and the message names it.
 * - A DTO body must be a JSON object; a missing body is validated as `{}`
 *   (so a DTO whose fields are all optional makes the body optional).
 * - Arguments without a DTO class (`unknown`, `Record<...>`, `string`: raw
 *   and form-encoded bodies, protocol messages parsed with zod) pass through
 *   untouched, as do custom parameter decorators.
 */
export class WalletValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      // A nested object without a DTO class (a missing `@Type()`) is refused, not waved through.
      forbidUnknownValues: true,
      transform: true,
      // Conversions are explicit (`@Type(() => Number)` on query fields): a JSON body's "5" stays a string.
      transformOptions: { enableImplicitConversion: false },
      // The target lets `validationIssues` find the items of an array that failed; values are never reported.
      validationError: { target: true, value: false },
      exceptionFactory: (errors) => new ClassValidationFailure(errors),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (!metadata.metatype || !this.toValidate(metadata)) return super.transform(value, metadata);
    const kind = metadata.type === 'param' && metadata.data ? `path parameter ${metadata.data}` : KIND[metadata.type];
    if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw failed(kind, [{ path: '/', message: 'must be a JSON object' }]);
    }
    // Width first: it reads an object's keys only, while the depth walk reads its values, which
    // for an object of tens of thousands of keys costs V8 several times more.
    const wide = widerThan(value, MAX_OBJECT_KEYS);
    if (wide !== null) throw failed(kind, [{ path: wide, message: `must not have more than ${MAX_OBJECT_KEYS} fields` }]);
    if (nestsDeeperThan(value, MAX_INPUT_DEPTH)) {
      throw failed(kind, [{ path: '/', message: `must not nest deeper than ${MAX_INPUT_DEPTH} levels` }]);
    }
    try {
      return await super.transform(value, metadata);
    } catch (error) {
      if (!(error instanceof ClassValidationFailure)) throw error;
      if (value === undefined && metadata.type === 'body') throw failed(kind, [{ path: '/', message: 'a JSON object body is required' }]);
      if (metadata.type === 'param') {
        // Each path parameter is a value of its own: `/` is the value, the message names the parameter.
        const issues = error.errors.flatMap((e) =>
          validationIssues([e]).map((issue) => ({ path: `/${issue.path.split('/').slice(2).join('/')}`, message: `${String(e.property)} ${issue.message}` })),
        );
        throw failed(kind, issues);
      }
      throw failed(kind, validationIssues(error.errors));
    }
  }
}
