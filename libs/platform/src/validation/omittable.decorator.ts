import { ValidateIf } from 'class-validator';

/**
 * The DTO field may be left out; when it is present, its other validators
 * apply. Unlike class-validator's `@IsOptional()`, `null` is not "left out":
 * `{"display_name": null}` is refused unless the field says `@IsOptional()`
 * (which accepts null) or validates null itself. The OpenAPI documents show
 * such a field as not required and not nullable.
 */
export function Omittable(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}
