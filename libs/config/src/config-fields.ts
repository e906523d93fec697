import { z } from 'zod';
import { zConfigShape } from './config.schema';

/** Every environment variable the loader reads starts with this. */
export const ENV_PREFIX = 'WALLET_';
/** Environment variable naming the YAML file (the `--config` flag wins over it). */
export const CONFIG_FILE_ENV = 'WALLET_CONFIG';

/** The kinds of leaf the schema uses; environment strings and flags are coerced to them. */
export type ConfigFieldType = 'string' | 'integer' | 'number' | 'boolean' | 'enum' | 'string[]';

/** One configuration setting (a leaf of the schema), as `describeConfig` lists it. */
export interface ConfigField {
  /** Dotted path, e.g. `storage.mongodb.uri`; also the flag name after `--`. */
  path: string;
  /** Environment variable, e.g. `WALLET_STORAGE_MONGODB_URI`. */
  env: string;
  type: ConfigFieldType;
  /** The default value, or `undefined` when the setting is unset by default. */
  default: unknown;
  /** Secret settings are redacted by `redactConfig` and never echoed in errors. */
  secret: boolean;
  description: string;
  /** For enums (and arrays of enums): the allowed values. */
  allowed?: string[];
  /** Numeric bounds, when the schema sets them. */
  minimum?: number;
  maximum?: number;
}

/** A section (an object node) of the schema, for the docs. */
export interface ConfigSection {
  path: string;
  description: string;
}

/** The subset of JSON Schema that `z.toJSONSchema` emits for our schema. */
interface JsonSchemaNode {
  type?: string;
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  secret?: boolean;
  minimum?: number;
  maximum?: number;
}

/** `keyEncryptionKey` -> `KEY_ENCRYPTION_KEY`. */
function toUpperSnake(segment: string): string {
  return segment
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toUpperCase();
}

/**
 * The environment variable for a schema path: camelCase segments become
 * UPPER_SNAKE, joined with `_`, after the `WALLET_` prefix.
 * `allInOne.walletPort` -> `WALLET_ALL_IN_ONE_WALLET_PORT`.
 */
export function toEnvName(path: string | readonly string[]): string {
  const segments = typeof path === 'string' ? path.split('.') : path;
  return ENV_PREFIX + segments.map(toUpperSnake).join('_');
}

function leafType(path: string, node: JsonSchemaNode): Pick<ConfigField, 'type' | 'allowed'> {
  switch (node.type) {
    case 'string':
      return node.enum ? { type: 'enum', allowed: node.enum.map(String) } : { type: 'string' };
    case 'integer':
    case 'number':
    case 'boolean':
      return { type: node.type };
    case 'array':
      if (node.items?.type === 'string') {
        return node.items.enum
          ? { type: 'string[]', allowed: node.items.enum.map(String) }
          : { type: 'string[]' };
      }
      break;
    case undefined: // unions and other nodes without a single `type`
      break;
  }
  throw new Error(`config schema: ${path} has a type the loader cannot coerce to (${JSON.stringify(node)})`);
}

// Bounds this close to the safe-integer limits are zod's defaults for `.int()`, not ours.
const meaningfulBound = (bound: number | undefined): number | undefined =>
  bound === undefined || Math.abs(bound) >= Number.MAX_SAFE_INTEGER ? undefined : bound;

function walk(node: JsonSchemaNode, prefix: string[], fields: ConfigField[], sections: ConfigSection[]): void {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = [...prefix, key];
    const dotted = path.join('.');
    if (child.type === 'object' && child.properties) {
      sections.push({ path: dotted, description: child.description ?? '' });
      walk(child, path, fields, sections);
      continue;
    }
    if (!child.description) throw new Error(`config schema: ${dotted} has no description`);
    const field: ConfigField = {
      path: dotted,
      env: toEnvName(path),
      ...leafType(dotted, child),
      default: child.default,
      secret: child.secret === true,
      description: child.description,
    };
    const minimum = meaningfulBound(child.minimum);
    const maximum = meaningfulBound(child.maximum);
    if (minimum !== undefined) field.minimum = minimum;
    if (maximum !== undefined) field.maximum = maximum;
    fields.push(field);
  }
}

function buildIndex() {
  const root = z.toJSONSchema(zConfigShape, { io: 'input' }) as JsonSchemaNode;
  const fields: ConfigField[] = [];
  const sections: ConfigSection[] = [];
  walk(root, [], fields, sections);

  const byPath = new Map<string, ConfigField>();
  const byEnv = new Map<string, ConfigField>();
  for (const field of fields) {
    // Names are derived, so a collision is a schema bug: refuse to start.
    const clash = byEnv.get(field.env);
    if (clash) throw new Error(`config schema: ${field.path} and ${clash.path} both map to ${field.env}`);
    if (field.env === CONFIG_FILE_ENV) throw new Error(`config schema: ${field.path} maps to ${CONFIG_FILE_ENV}`);
    byPath.set(field.path, field);
    byEnv.set(field.env, field);
  }
  if (byPath.has('config')) throw new Error('config schema: a top-level `config` key would clash with --config');
  return { fields, sections, byPath, byEnv, sectionPaths: new Set(sections.map((s) => s.path)) };
}

/** Computed once from the schema at module load. */
export const FIELD_INDEX = buildIndex();

/**
 * Every setting of the schema, in schema order: path, environment variable,
 * type, default, secret marker, description and allowed values. The docs
 * generator renders `docs/configuration.md` from this list.
 */
export function describeConfig(): ConfigField[] {
  return FIELD_INDEX.fields.map((field) => structuredClone(field));
}

/** The schema's sections (object nodes) in schema order, with their descriptions. */
export function describeConfigSections(): ConfigSection[] {
  return FIELD_INDEX.sections.map((section) => ({ ...section }));
}

/** The closest known name within edit distance 2, for "did you mean" hints. */
export function suggestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  // Both rows hold b.length + 1 cells and every index below is inside them: `cell` only tells the checker so.
  const cell = (row: readonly number[], j: number) => row[j] ?? Number.POSITIVE_INFINITY;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(cell(previous, j) + 1, cell(current, j - 1) + 1, cell(previous, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return cell(previous, b.length);
}
