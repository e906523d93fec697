import { Transform } from 'class-transformer';
import { registerDecorator, type ValidationArguments, type ValidationOptions } from 'class-validator';

/**
 * Checks of the admin DTOs that class-validator has no decorator for, with the
 * messages the admin API has always given. Messages name the problem, never
 * the value.
 */

/** A constraint written as a predicate: `@Satisfies('isHttpUrl', isHttpUrl, 'must be ...')`. */
function satisfies(name: string, test: (value: unknown, args: ValidationArguments) => boolean, message: string, options: ValidationOptions = {}): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message, ...options },
      validator: { validate: test },
    });
}

/** The longest URL the admin API stores. */
export const MAX_URL_LENGTH = 2048;

/** An absolute http(s) URL without credentials or fragment, at most 2048 characters. */
export function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string' || value.length > MAX_URL_LENGTH) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password && !url.hash;
  } catch {
    return false;
  }
}

export const IsHttpUrl = (options?: ValidationOptions): PropertyDecorator =>
  satisfies('isHttpUrl', isHttpUrl, `must be an absolute http(s) URL without credentials or fragment, at most ${MAX_URL_LENGTH} characters`, options);

/** `pdp_url`: an AuthZEN PDP base URL, or `none` (no PDP). Null (the default PDP) is let through by `@IsOptional()`. */
export const IsPdpUrl = (): PropertyDecorator =>
  satisfies('isPdpUrl', (value) => value === 'none' || isHttpUrl(value), 'must be none or an absolute http(s) URL without credentials or fragment');

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

/** A public asymmetric JWK: a `kty` other than `oct`, and no private members. Use with `{ each: true }`. */
export const IsPublicJwk = (options?: ValidationOptions): PropertyDecorator =>
  satisfies(
    'isPublicJwk',
    (value) => {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
      const jwk = value as Record<string, unknown>;
      return typeof jwk['kty'] === 'string' && jwk['kty'] !== 'oct' && !PRIVATE_JWK_MEMBERS.some((member) => member in jwk);
    },
    'must be a public asymmetric JWK (no private members)',
    options,
  );

/**
 * RFC 3339 date-time with seconds and `Z` or an offset (`2030-01-01T00:00:00Z`,
 * `2030-01-01T01:00:00.5+01:00`): what the admin API has always accepted.
 */
export const DATE_TIME_PATTERN =
  /^(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

export const IsDateTime = (): PropertyDecorator =>
  satisfies('isDateTime', (value) => typeof value === 'string' && DATE_TIME_PATTERN.test(value), 'must be an RFC 3339 date-time with seconds and Z or an offset');

/** Refuses the field when `other` is given too (reported at this field). */
export const NotTogetherWith = (other: string, message: string): PropertyDecorator =>
  satisfies('notTogetherWith', (_value, args) => (args.object as Record<string, unknown>)[other] === undefined, message);

/** Trims a string before it is validated (`" Acme "` is stored as `Acme`); other values are left for the type check. */
export const Trim = (): PropertyDecorator => Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));
