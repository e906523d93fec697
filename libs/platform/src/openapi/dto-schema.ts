import type { Type } from '@nestjs/common';
import { DECORATORS } from '@nestjs/swagger';
import { getMetadataStorage } from 'class-validator';

type PropertyDoc = Record<string, unknown>;

const CONDITIONAL = 'conditionalValidation';
const PRIMITIVES: unknown[] = [String, Number, Boolean, 'string', 'number', 'boolean'];
const NESTED = 'nestedValidation';

/** What a class-validator constraint says about the JSON it accepts, as `@ApiProperty` options. */
function documentedConstraint(name: string, constraints: unknown[]): PropertyDoc {
  const [first, second] = constraints;
  switch (name) {
    case 'isString':
      return { type: 'string' };
    case 'isInt':
      return { type: 'integer' };
    case 'isNumber':
      return { type: 'number' };
    case 'isBoolean':
      return { type: 'boolean' };
    case 'maxLength':
      return { maxLength: first };
    case 'minLength':
      return { minLength: first };
    case 'isLength':
      return { minLength: first, ...(typeof second === 'number' ? { maxLength: second } : {}) };
    case 'matches':
      return { pattern: first instanceof RegExp ? first.source : String(first) };
    case 'min':
      return { minimum: first };
    case 'max':
      return { maximum: first };
    case 'isIn':
      return { enum: first };
    case 'isEnum':
      return { enum: Array.isArray(second) ? second : Object.values(first as object) };
    case 'arrayMaxSize':
      return { maxItems: first };
    case 'arrayMinSize':
      return { minItems: first };
    case 'arrayUnique':
      return { uniqueItems: true };
    case 'isDateString':
    case 'isISO8601':
      return { format: 'date-time' };
    case 'isUrl':
      return { format: 'uri' };
    default:
      return {};
  }
}

/** A class that `@ApiProperty({ type })` names, whether given directly, lazily (`() => X`) or as `[X]`. */
function referencedClass(type: unknown): Type<unknown> | null {
  const inner = Array.isArray(type) ? type[0] : type;
  if (typeof inner !== 'function') return null;
  // A lazy reference is an arrow function (no prototype); a class has one.
  const resolved = (inner.prototype === undefined ? (inner as () => unknown)() : inner) as unknown;
  const target = Array.isArray(resolved) ? resolved[0] : resolved;
  if (typeof target !== 'function' || [String, Number, Boolean, Object, Array, Date].includes(target as never)) return null;
  return target as Type<unknown>;
}

const documentedNames = (prototype: object): string[] =>
  ((Reflect.getMetadata(DECORATORS.API_MODEL_PROPERTIES_ARRAY, prototype) as string[] | undefined) ?? []).map((key) => key.slice(1));

/**
 * Makes the OpenAPI schema of a DTO class say what its `class-validator`
 * decorators enforce, so constraints are written once (on the validator)
 * and the document cannot drift from the validation: lengths, patterns,
 * bounds, enums, array sizes and formats are copied into each property's
 * `@ApiProperty` metadata where the decorator did not set them itself;
 * `required` follows the validation (a field is required unless
 * `@IsOptional()`, `@Omittable()` or another `@ValidateIf()` lets it be left
 * out, or a property initializer gives it a default, which is documented),
 * `@IsOptional()` fields are nullable; constraints declared with
 * `{ each: true }` describe the items. Nested DTOs (`@ApiProperty({ type: () => X })`)
 * are visited too. This is what the @nestjs/swagger CLI plugin's class-validator
 * shim would add at build time, done where the document is built (the build
 * does not run the Nest CLI; see ADR 0015).
 *
 * Returns `Class.property` for every validated property without
 * `@ApiProperty` (it would be missing from the document; a test keeps the
 * list empty). Idempotent: applying it twice changes nothing more.
 */
export function describeDtoValidation(classes: Iterable<Type<unknown>>, seen = new Set<Type<unknown>>()): string[] {
  const undocumented: string[] = [];
  const storage = getMetadataStorage();
  const pending = [...classes];
  for (let dto = pending.pop(); dto !== undefined; dto = pending.pop()) {
    if (seen.has(dto)) continue;
    seen.add(dto);
    const prototype = dto.prototype as object;
    const documented = new Set(documentedNames(prototype));
    const defaults = initialValues(dto);
    const metadatas = storage.getTargetValidationMetadatas(dto, '', false, false);
    const byProperty = new Map<string, typeof metadatas>();
    for (const metadata of metadatas) byProperty.set(metadata.propertyName, [...(byProperty.get(metadata.propertyName) ?? []), metadata]);
    for (const [property, list] of byProperty) {
      if (!documented.has(property)) {
        undocumented.push(`${dto.name}.${property}`);
        continue;
      }
      const existing = (Reflect.getMetadata(DECORATORS.API_MODEL_PROPERTIES, prototype, property) ?? {}) as PropertyDoc;
      const derived: PropertyDoc = {};
      const items: PropertyDoc = {};
      for (const metadata of list) {
        if (metadata.type === CONDITIONAL || metadata.type === NESTED || !metadata.constraintCls) continue;
        for (const constraint of storage.getTargetValidatorConstraints(metadata.constraintCls)) {
          Object.assign(metadata.each ? items : derived, documentedConstraint(constraint.name, metadata.constraints ?? []));
        }
      }
      const conditional = list.filter((m) => m.type === CONDITIONAL);
      const nullable = conditional.some((m) => m.name === 'isOptional');
      const fallback = defaults[property];
      // A field with a default (a property initializer, which the pipe applies) may be left out.
      const required = conditional.length === 0 && fallback === undefined && existing['required'] !== false;
      const doc: PropertyDoc = { ...derived, ...existing, required };
      if (fallback !== undefined && existing['default'] === undefined) doc['default'] = fallback;
      // A primitive type (the property's design type, or `type: Number`) is refined by the validator
      // (`@IsInt()` makes it an integer); a class, an array or a schema type given explicitly stays.
      if (derived['type'] !== undefined && (existing['type'] === undefined || PRIMITIVES.includes(existing['type']))) doc['type'] = derived['type'];
      if (nullable && existing['nullable'] === undefined) doc['nullable'] = true;
      if (Object.keys(items).length > 0) {
        const given = (existing['items'] ?? {}) as PropertyDoc;
        // Swagger builds `items` itself from `type: [X]` / `isArray`; the item constraints go on top.
        doc['items'] = { ...(doc['isArray'] ? { type: itemType(existing['type']) } : {}), ...items, ...given };
      }
      Reflect.defineMetadata(DECORATORS.API_MODEL_PROPERTIES, doc, prototype, property);
    }
    for (const property of documented) {
      const meta = (Reflect.getMetadata(DECORATORS.API_MODEL_PROPERTIES, prototype, property) ?? {}) as PropertyDoc;
      const nested = referencedClass(meta['type']);
      if (nested) pending.push(nested);
    }
  }
  return undocumented;
}

/**
 * The values a DTO's property initializers give (`limit = 100`), which the
 * pipe's `plainToInstance` keeps when the client leaves the field out: what
 * the CLI plugin would document as `default`. JSON values only; a class
 * whose constructor needs arguments or throws has none.
 */
function initialValues(dto: Type<unknown>): Record<string, unknown> {
  let instance: unknown;
  try {
    instance = new dto();
  } catch {
    return {};
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(instance as Record<string, unknown>)) {
    if (value === undefined || typeof value === 'function') continue;
    try {
      out[key] = JSON.parse(JSON.stringify(value)) as unknown;
    } catch {
      // Not JSON (a cycle, a BigInt): not a documented default.
    }
  }
  return out;
}

function itemType(type: unknown): string | undefined {
  const inner = Array.isArray(type) ? type[0] : type;
  if (inner === String || inner === 'string') return 'string';
  if (inner === Number || inner === 'number') return 'number';
  if (inner === Boolean || inner === 'boolean') return 'boolean';
  if (inner === 'integer') return 'integer';
  return undefined;
}
