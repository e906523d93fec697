import type { z } from 'zod';
import { ValidationError, type ValidationIssue } from './errors';

/** At most this many issues are reported for one input (the rest are left out). */
export const MAX_VALIDATION_ISSUES = 20;
/** Unknown field names named per issue, and how much of each name. */
const MAX_UNKNOWN_NAMES = 5;
const MAX_NAME_LENGTH = 64;

/** Escapes one JSON-pointer segment (RFC 6901): `~` as `~0`, `/` as `~1`. */
export const pointerSegment = (segment: string): string => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * A zod error's issues as `ValidationIssue`s, at most
 * {@link MAX_VALIDATION_ISSUES}: JSON-pointer paths below `base` (`''`: the
 * value itself, which is reported as `/`), messages that never echo the
 * value; unknown keys are named (at most five, each cut to 64 characters).
 */
export function zodIssues(error: z.ZodError, base = ''): ValidationIssue[] {
  return error.issues.slice(0, MAX_VALIDATION_ISSUES).map((issue) => {
    const below = issue.path.map((segment) => `/${pointerSegment(String(segment))}`).join('');
    return {
      path: `${base}${below}` || '/',
      message:
        issue.code === 'unrecognized_keys'
          ? `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys
              .slice(0, MAX_UNKNOWN_NAMES)
              .map((key) => key.slice(0, MAX_NAME_LENGTH))
              .join(', ')}`
          : issue.message,
    };
  });
}

/**
 * The `ValidationError` (400 `validation_failed`) for input a zod schema
 * refused: `message` says what was invalid, the issues say where (see
 * {@link zodIssues}).
 */
export function zodValidationError(message: string, error: z.ZodError, base = ''): ValidationError {
  return new ValidationError(message, zodIssues(error, base), { cause: error });
}
