import { ValidationError, type ValidationIssue } from '@wallet/domain';
import { registerDecorator, type ValidationOptions } from 'class-validator';

/** The name of the `@CheckedBy` constraint in class-validator's errors. */
export const CHECKED_BY = 'checkedBy';

/** At most this many issues of one check are kept. */
const MAX_CHECK_ISSUES = 20;

/**
 * A check of one DTO field by a validator the field's shape already has
 * elsewhere: a zod schema shared with the browser client (a WebAuthn
 * response), the WQL parser. Returns the issues with JSON-pointer paths
 * relative to the field (`''` or `/` is the field itself), or none; a thrown
 * `ValidationError` counts as its issues. `object` is the DTO instance, for
 * checks that depend on a sibling field.
 */
export type FieldCheck = (value: unknown, object: object) => readonly ValidationIssue[];

/**
 * Issues found by `@CheckedBy` checks, by DTO instance and property, kept
 * until `validationIssues` reports them (class-validator's errors carry one
 * message per constraint, not a list of paths). Weak: nothing outlives the
 * request's DTO instance.
 */
const found = new WeakMap<object, Map<string, readonly ValidationIssue[]>>();

/**
 * Validates a DTO field with `check` behind the global `WalletValidationPipe`,
 * so a field whose shape stays zod (or WQL) by ADR 0015 still fails as part
 * of the DTO, at its own paths: a bad operator in `{"query": {"a": {"$regex":
 * "x"}}}` is reported at `/query/a/$regex`, in the same `validation_failed`
 * problem as the other fields' issues.
 *
 * Runs on `undefined` too, unless the field is `@Omittable()` or
 * `@IsOptional()`. Document the field with `@ApiProperty` (its schema is not
 * derived from the check).
 */
export function CheckedBy(check: FieldCheck, options: ValidationOptions = {}): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name: CHECKED_BY,
      target: target.constructor,
      propertyName: String(propertyName),
      options,
      validator: {
        validate(value: unknown, args) {
          let issues: readonly ValidationIssue[];
          try {
            issues = check(value, args?.object ?? {});
          } catch (error) {
            if (!(error instanceof ValidationError)) throw error;
            issues = error.issues.length > 0 ? error.issues : [{ path: '', message: error.message }];
          }
          if (issues.length === 0) return true;
          if (args?.object) {
            const byProperty = found.get(args.object) ?? new Map<string, readonly ValidationIssue[]>();
            byProperty.set(args.property, issues.slice(0, MAX_CHECK_ISSUES));
            found.set(args.object, byProperty);
          }
          return false;
        },
        defaultMessage: () => 'is invalid',
      },
    });
  };
}

/** The issues a `@CheckedBy` check found on `object[property]` (paths relative to the field), if any. */
export function checkedIssues(object: unknown, property: string): readonly ValidationIssue[] | undefined {
  return typeof object === 'object' && object !== null ? found.get(object)?.get(property) : undefined;
}
