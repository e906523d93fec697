import { pointerSegment, ValidationError, type ValidationIssue } from '@wallet/domain';

/**
 * WQL, the Wallet Query Language of the Aries/Indy wallet design, over record
 * tags. A query is a JSON object:
 *
 * - `{"name": "value"}`: the tag `name` equals `value`; several keys in one
 *   object are an implicit AND;
 * - `{"name": {"$neq": "v"}}`, `{"$in": ["a", "b"]}`: the tag exists with a
 *   different value / one of the values;
 * - `{"name": {"$gt" | "$gte" | "$lt" | "$lte": "v"}}`, `{"$like": "pat%"}`:
 *   only on plaintext tags (names starting with `~`); comparison is by string
 *   (UTF-16 code unit order for ASCII), `$like` takes `%` (any run) and `_`
 *   (one character), case-sensitive;
 * - `{"$exist": ["name", ...]}` (or one name): every listed tag is present;
 * - `{"$and": [q, ...]}`, `{"$or": [q, ...]}`, `{"$not": q}`.
 *
 * `{}` and `{"$and": []}` match every record, `{"$or": []}` none. Values are
 * strings. Blinded (encrypted) tags can only be compared for equality, which
 * is why range and `$like` are refused on them.
 *
 * `parseWql` validates and returns an AST; every error is a
 * `ValidationError` whose issues carry the JSON pointer of the problem.
 */

export type WqlComparison = 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte' | 'like';

export type WqlNode =
  | { readonly op: 'and'; readonly clauses: readonly WqlNode[] }
  | { readonly op: 'or'; readonly clauses: readonly WqlNode[] }
  | { readonly op: 'not'; readonly clause: WqlNode }
  | { readonly op: WqlComparison; readonly name: string; readonly value: string }
  | { readonly op: 'in'; readonly name: string; readonly values: readonly string[] }
  | { readonly op: 'exist'; readonly names: readonly string[] };

export interface WqlLimits {
  /** Nesting of `$and`/`$or`/`$not` and operator objects (default 8). */
  maxDepth: number;
  /** Conditions in the whole query, every `$in` value and `$exist` name counted (default 64). */
  maxClauses: number;
  /**
   * Nodes of the whole query: every query object (empty ones included), every
   * `$and`/`$or`/`$not` and every condition (default 128). Bounds what a store
   * expands a query into, whatever its shape: `{"$or": [{}, {}, ...]}` has no
   * conditions but becomes one set operation per element.
   */
  maxNodes: number;
  /** Longest tag name (default 256). */
  maxNameLength: number;
  /** Longest tag value or pattern (default 1024). */
  maxValueLength: number;
}

export const DEFAULT_WQL_LIMITS: Readonly<WqlLimits> = Object.freeze({
  maxDepth: 8,
  maxClauses: 64,
  maxNodes: 128,
  maxNameLength: 256,
  maxValueLength: 1024,
});

/** True for tags stored in plain text (`~` prefix), on which range and `$like` are allowed. */
export function isPlaintextTag(name: string): boolean {
  return name.startsWith('~');
}

const RANGE_OPS: Record<string, WqlComparison> = { $gt: 'gt', $gte: 'gte', $lt: 'lt', $lte: 'lte', $like: 'like' };

class Parser {
  private clauses = 0;
  private nodes = 0;
  private readonly issues: ValidationIssue[] = [];

  constructor(
    private readonly limits: WqlLimits,
    private readonly base: string,
  ) {}

  fail(path: string, message: string): never {
    this.issues.push({ path: this.base + path, message });
    throw new ValidationError(`invalid WQL query: ${message} at ${this.base + path || '/'}`, this.issues);
  }

  node(path: string): void {
    this.nodes += 1;
    if (this.nodes > this.limits.maxNodes) this.fail(path, `too many parts (at most ${this.limits.maxNodes} objects, operators and conditions)`);
  }

  count(path: string, n = 1): void {
    this.clauses += n;
    if (this.clauses > this.limits.maxClauses) this.fail(path, `too many conditions (at most ${this.limits.maxClauses})`);
  }

  query(value: unknown, path: string, depth: number): WqlNode {
    if (depth > this.limits.maxDepth) this.fail(path, `nested too deeply (at most ${this.limits.maxDepth} levels)`);
    if (!isPlainObject(value)) this.fail(path, 'must be an object');
    this.node(path);
    const clauses: WqlNode[] = [];
    for (const key of Object.keys(value)) {
      const child = `${path}/${escapePointer(key)}`;
      const item = value[key];
      switch (key) {
        case '$and':
        case '$or': {
          if (!Array.isArray(item)) this.fail(child, `${key} takes an array of queries`);
          this.node(child);
          const inner = item.map((q, i) => this.query(q, `${child}/${i}`, depth + 1));
          clauses.push({ op: key === '$and' ? 'and' : 'or', clauses: inner });
          break;
        }
        case '$not':
          this.node(child);
          clauses.push({ op: 'not', clause: this.query(item, child, depth + 1) });
          break;
        case '$exist': {
          const names = typeof item === 'string' ? [item] : item;
          if (!Array.isArray(names) || names.length === 0) this.fail(child, '$exist takes a tag name or a non-empty array of names');
          this.node(child);
          this.count(child, names.length);
          names.forEach((name, i) => this.name(name, Array.isArray(item) ? `${child}/${i}` : child));
          clauses.push({ op: 'exist', names: names as string[] });
          break;
        }
        default:
          if (key.startsWith('$')) this.fail(child, `unknown operator ${truncate(key)}`);
          this.name(key, child);
          clauses.push(this.condition(key, item, child, depth + 1));
      }
    }
    if (clauses.length === 1) return clauses[0] as WqlNode;
    return { op: 'and', clauses };
  }

  private condition(name: string, value: unknown, path: string, depth: number): WqlNode {
    this.node(path);
    if (typeof value === 'string') {
      this.count(path);
      this.value(value, path);
      return { op: 'eq', name, value };
    }
    if (depth > this.limits.maxDepth) this.fail(path, `nested too deeply (at most ${this.limits.maxDepth} levels)`);
    if (!isPlainObject(value)) this.fail(path, 'must be a string or an operator object such as {"$neq": "..."}');
    const keys = Object.keys(value);
    if (keys.length !== 1) this.fail(path, 'an operator object has exactly one operator');
    const op = keys[0] as string;
    const operand = value[op];
    const child = `${path}/${escapePointer(op)}`;
    if (op === '$in') {
      if (!Array.isArray(operand) || operand.length === 0) this.fail(child, '$in takes a non-empty array of strings');
      this.count(child, operand.length);
      operand.forEach((item, i) => this.value(item, `${child}/${i}`));
      return { op: 'in', name, values: operand as string[] };
    }
    if (op === '$neq') {
      this.count(child);
      this.value(operand, child);
      return { op: 'neq', name, value: operand as string };
    }
    const range = RANGE_OPS[op];
    if (range === undefined) this.fail(child, `unknown operator ${truncate(op)}`);
    if (!isPlaintextTag(name)) {
      this.fail(child, `${op} is only allowed on plaintext tags (names starting with "~"); blinded tags support equality, $neq, $in and $exist`);
    }
    this.count(child);
    this.value(operand, child);
    return { op: range, name, value: operand as string };
  }

  private name(name: unknown, path: string): void {
    if (typeof name !== 'string' || name.length === 0) this.fail(path, 'a tag name must be a non-empty string');
    if (name.length > this.limits.maxNameLength) this.fail(path, `tag name longer than ${this.limits.maxNameLength} characters`);
    if (name.startsWith('$')) this.fail(path, 'a tag name must not start with "$"');
  }

  private value(value: unknown, path: string): void {
    if (typeof value !== 'string') this.fail(path, 'must be a string');
    if (value.length > this.limits.maxValueLength) this.fail(path, `value longer than ${this.limits.maxValueLength} characters`);
  }
}

/**
 * Validates a WQL query (already parsed from JSON) and returns its AST.
 * `basePath` prefixes every error path (e.g. `/query` when the query sits in a
 * request body). Throws `ValidationError`.
 */
export function parseWql(query: unknown, limits: Partial<WqlLimits> = {}, basePath = ''): WqlNode {
  const parser = new Parser({ ...DEFAULT_WQL_LIMITS, ...limits }, basePath);
  return parser.query(query, '', 1);
}

/** The AST back as a WQL JSON object (normalised: one operator per object, explicit `$and`). */
export function toWqlJson(node: WqlNode): Record<string, unknown> {
  switch (node.op) {
    case 'and':
      return { $and: node.clauses.map(toWqlJson) };
    case 'or':
      return { $or: node.clauses.map(toWqlJson) };
    case 'not':
      return { $not: toWqlJson(node.clause) };
    case 'exist':
      return { $exist: [...node.names] };
    case 'in':
      return { [node.name]: { $in: [...node.values] } };
    case 'eq':
      return { [node.name]: node.value };
    case 'neq':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'like':
      return { [node.name]: { [`$${node.op}`]: node.value } };
  }
}

/** Rewrites every tag name and value of a query (the blinding helpers use it). Structure is kept. */
export function mapWql(
  node: WqlNode,
  mapName: (name: string) => string,
  mapValue: (name: string, value: string) => string,
): WqlNode {
  switch (node.op) {
    case 'and':
    case 'or':
      return { op: node.op, clauses: node.clauses.map((c) => mapWql(c, mapName, mapValue)) };
    case 'not':
      return { op: 'not', clause: mapWql(node.clause, mapName, mapValue) };
    case 'exist':
      return { op: 'exist', names: node.names.map(mapName) };
    case 'in':
      return { op: 'in', name: mapName(node.name), values: node.values.map((v) => mapValue(node.name, v)) };
    case 'eq':
    case 'neq':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'like':
      return { op: node.op, name: mapName(node.name), value: mapValue(node.name, node.value) };
  }
}

/**
 * Evaluates a query against one record's tags. The memory store uses it, and
 * it is the reference the SQL and MongoDB translations are tested against.
 */
export function matchesWql(node: WqlNode, tags: Readonly<Record<string, string>>): boolean {
  const has = (name: string) => Object.prototype.hasOwnProperty.call(tags, name);
  switch (node.op) {
    case 'and':
      return node.clauses.every((c) => matchesWql(c, tags));
    case 'or':
      return node.clauses.some((c) => matchesWql(c, tags));
    case 'not':
      return !matchesWql(node.clause, tags);
    case 'exist':
      return node.names.every(has);
    case 'in':
      return has(node.name) && node.values.includes(tags[node.name] as string);
    case 'eq':
    case 'neq':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'like': {
      if (!has(node.name)) return false;
      const actual = tags[node.name] as string;
      switch (node.op) {
        case 'eq':
          return actual === node.value;
        case 'neq':
          return actual !== node.value;
        case 'gt':
          return actual > node.value;
        case 'gte':
          return actual >= node.value;
        case 'lt':
          return actual < node.value;
        case 'lte':
          return actual <= node.value;
        case 'like':
          return likeToRegExp(node.value).test(actual);
      }
    }
  }
}

/** A `$like` pattern as an anchored regular expression (`%` any run, `_` one character, case-sensitive). */
export function likeToRegExp(pattern: string): RegExp {
  let source = '^';
  for (const char of pattern) {
    if (char === '%') source += '[\\s\\S]*';
    else if (char === '_') source += '[\\s\\S]';
    else source += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`${source}$`, 'u');
}

/** A `$like` pattern as a SQLite GLOB pattern (GLOB is case-sensitive, like the other drivers). */
export function likeToGlob(pattern: string): string {
  let glob = '';
  for (const char of pattern) {
    if (char === '%') glob += '*';
    else if (char === '_') glob += '?';
    else if (char === '*' || char === '?' || char === '[') glob += `[${char}]`;
    else glob += char;
  }
  return glob;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function escapePointer(part: string): string {
  return pointerSegment(truncate(part));
}

function truncate(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}...` : text;
}
