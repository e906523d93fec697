import { MAX_VALIDATION_ISSUES, pointerSegment, type ValidationIssue } from '@wallet/domain';
import { getMetadataStorage, type ValidationError as ClassValidatorError } from 'class-validator';
import { CHECKED_BY, checkedIssues } from './checked-by.decorator';

/** Unknown field names named per object, and how much of each name. */
const MAX_UNKNOWN_NAMES = 5;
const MAX_NAME_LENGTH = 64;

const pointer = (segments: readonly string[]): string => `/${segments.map(pointerSegment).join('/')}`;

/**
 * Constraints that say the value has the wrong type or shape. When one of
 * them failed, the others on the same field (lengths, patterns) say nothing
 * useful, so only it is reported (as zod reports a type error alone).
 */
const SHAPE_CONSTRAINTS = [
  'isDefined',
  'nestedValidation',
  'isObject',
  'isArray',
  'isString',
  'isBoolean',
  'isInt',
  'isNumber',
  'isIn',
  'isEnum',
  'unknownValue',
];

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * class-validator's default messages start with the property name ("name must
 * be a string", "each value in tags must ..."); the issue path already says
 * where, so the message keeps only what is wrong.
 */
function withoutProperty(message: string, property: string): string {
  return message.replace(new RegExp(`^(each value in |nested property )?${escapeRegExp(property)} `), '');
}

/**
 * For a constraint declared with `{ each: true }`, class-validator reports the
 * array as a whole ("each value in tags must ..."). The items that failed are
 * found by running the same constraint on each item again, so the issue can
 * name them (`/tags/2`) as zod did. Null when that cannot be done (no target,
 * an asynchronous constraint): then the array itself is reported.
 */
function failingItems(error: ClassValidatorError, constraint: string): number[] | null {
  const target = error.target as Record<string, unknown> | undefined;
  const value = target?.[error.property];
  if (!target || !Array.isArray(value)) return null;
  const storage = getMetadataStorage();
  const metadatas = storage
    .getTargetValidationMetadatas(target.constructor, '', false, false)
    .filter((m) => m.propertyName === error.property && m.each && m.constraintCls);
  for (const metadata of metadatas) {
    for (const validator of storage.getTargetValidatorConstraints(metadata.constraintCls)) {
      if (validator.name !== constraint || validator.async) continue;
      const failing: number[] = [];
      value.forEach((item: unknown, index) => {
        const args = { value: item, constraints: metadata.constraints, targetName: target.constructor.name, object: target, property: error.property };
        if (validator.instance.validate(item, args) !== true) failing.push(index);
      });
      return failing.length > 0 ? failing : null;
    }
  }
  return null;
}

/**
 * Turns class-validator's error tree into `ValidationIssue`s with JSON-pointer
 * paths relative to the validated value, in the shape zod parsing produced
 * before (see ADR 0015):
 *
 * - a field's problem is reported at the field (`/trust_config/pdp_url`,
 *   `/items/0/id`); of several failed constraints, a type or shape error alone;
 * - `{ each: true }` constraints name the failing items (`/allowed_protocols/1`);
 * - unknown fields (`forbidNonWhitelisted`) are one issue at the object that
 *   holds them: `unknown field: colour` or `unknown fields: a, b`;
 * - a `@CheckedBy` field reports its check's issues below the field
 *   (`/query/a/$regex`).
 *
 * Messages name the problem, never the value the client sent.
 */
export function validationIssues(errors: readonly ClassValidatorError[], base: readonly string[] = []): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const visit = (list: readonly ClassValidatorError[], parent: readonly string[]) => {
    const unknown: string[] = [];
    for (const error of list) {
      if (issues.length >= MAX_VALIDATION_ISSUES) return;
      const constraints = error.constraints ?? {};
      if ('whitelistValidation' in constraints) {
        unknown.push(String(error.property));
        continue;
      }
      const here = error.property === undefined ? parent : [...parent, String(error.property)];
      const property = String(error.property);
      const keys = Object.keys(constraints);
      const shape = keys.find((k) => SHAPE_CONSTRAINTS.includes(k));
      for (const key of shape ? [shape] : keys) {
        const message = constraints[key] ?? 'is invalid';
        const items = failingItems(error, key);
        const checked = key === CHECKED_BY ? checkedIssues(error.target, property) : undefined;
        if (checked) {
          const base = pointer(here);
          for (const issue of checked) {
            const below = issue.path === '/' ? '' : issue.path;
            issues.push({ path: base === '/' ? below || '/' : `${base}${below}`, message: issue.message });
          }
        } else if (items) {
          for (const index of items) issues.push({ path: pointer([...here, String(index)]), message: withoutProperty(message, property) });
        } else if (key === 'unknownValue') {
          issues.push({ path: pointer(here), message: 'must be an object of the documented shape' });
        } else {
          issues.push({ path: pointer(here), message: withoutProperty(message, property) });
        }
      }
      if (error.children && error.children.length > 0) visit(error.children, here);
    }
    if (unknown.length > 0) {
      const names = unknown.slice(0, MAX_UNKNOWN_NAMES).map((name) => name.slice(0, MAX_NAME_LENGTH));
      issues.push({ path: pointer(parent), message: `unknown field${unknown.length > 1 ? 's' : ''}: ${names.join(', ')}` });
    }
  };
  visit(errors, base);
  return issues.slice(0, MAX_VALIDATION_ISSUES);
}
