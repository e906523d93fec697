import fc from 'fast-check';
import type { JsonSchema } from './openapi-operations';

/**
 * Value generators for the fuzzer: from a parameter's or a body field's JSON
 * schema, a mix of valid values, values at and just past each boundary the
 * schema states, and hostile values that ignore the schema (wrong types,
 * huge and tiny numbers, long strings, unicode, deep nesting, WQL operators).
 *
 * Network rule: every URL these generators produce names a loopback literal
 * (127.0.0.1, 127.1, [::1]); no generated value names a host that needs DNS
 * or any other address.
 */

/** Values the run knows exist (ids of the caller's own records, tenants, services), offered beside random ones. */
export interface ValuePools {
  /** Lower-cased parameter or field name -> known values. */
  byName: Record<string, string[]>;
  /** A loopback port nothing listens on, for URLs that should fail to connect if a guard let them through. */
  closedPort: number;
  /**
   * The hosts and ports generated URLs use (default {@link LOOPBACK_HOSTS} and a few ports nothing
   * should listen on). A target whose outbound guard lets loopback through (the engine fuzzing) names
   * only ports it knows are closed.
   */
  urlHosts?: readonly string[];
  urlPorts?: readonly string[];
}

export const LOOPBACK_HOSTS = ['127.0.0.1', '127.1', '[::1]'] as const;

/** True when a URL's host is one of the loopback literals the fuzzer may name. */
export function isLoopbackLiteralUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === '127.0.0.1' || host === '[::1]';
  } catch {
    return false;
  }
}

/** http(s) URLs on loopback literals only, with ports, paths, queries and fragments. */
export function loopbackUrl(pools: ValuePools): fc.Arbitrary<string> {
  return fc
    .record({
      scheme: fc.constantFrom('http', 'https'),
      host: fc.constantFrom(...(pools.urlHosts ?? LOOPBACK_HOSTS)),
      port: fc.constantFrom(...(pools.urlPorts ?? ['', ':1', ':9', `:${pools.closedPort}`, ':65535'])),
      path: fc.constantFrom('', '/', '/.well-known/openid-credential-issuer', '/a/../../b', '/%2e%2e/x', '/x?y=1#z', `/${'p'.repeat(3000)}`),
      userinfo: fc.constantFrom('', 'user:pass@'),
    })
    .map(({ scheme, host, port, path, userinfo }) => `${scheme}://${userinfo}${host}${port}${path}`);
}

const LONG = (n: number, unit = 'a') => unit.repeat(n);

/** Strings an attacker tries first. None of them is a URL off loopback. */
export const HOSTILE_STRINGS: string[] = [
  '',
  ' ',
  'null',
  'undefined',
  'true',
  '0',
  '-1',
  '1e999',
  'NaN',
  '-Infinity',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  '../../../../etc/passwd',
  '..%2f..%2f..%2fetc%2fpasswd',
  '%00',
  '\u0000',
  'a\u0000b',
  '\r\nx-injected: 1',
  "' OR '1'='1",
  '"; DROP TABLE records; --',
  '%',
  '%%%%%%%%%%_',
  '*',
  '$or',
  '$where',
  '{"$gt":""}',
  '${jndi:ldap://127.0.0.1:1/a}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '\u202eevil',
  '\ud800',
  '\udfff\ud800',
  'ﷺ𒐫𒐫𒐫',
  '🧨'.repeat(300),
  'é'.repeat(2000),
  'e\u0301'.repeat(2000),
  'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
  'Bearer x',
  '-'.repeat(64),
  'A'.repeat(63),
  LONG(255),
  LONG(256),
  LONG(257),
  LONG(1024),
  LONG(1025),
  LONG(4097),
  LONG(65_537),
];

/** Numbers at the edges of what JSON, JavaScript and SQLite integers hold. */
export const HOSTILE_NUMBERS: number[] = [
  0,
  -0,
  -1,
  1,
  0.5,
  -0.5,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 53 + 2,
  -(2 ** 53) - 2,
  2 ** 63,
  1e308,
  -1e308,
  5e-324,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
];

function nested(depth: number, leaf: unknown, wrap: (inner: unknown) => unknown): unknown {
  let out = leaf;
  for (let i = 0; i < depth; i++) out = wrap(out);
  return out;
}

/** WQL-shaped values: empty and nested operators, counts past every limit, operators where values belong. */
export function wqlQuery(): fc.Arbitrary<unknown> {
  const valid = fc.oneof(
    fc.constant({}),
    fc.constant({ a: 'x' }),
    fc.constant({ '~n': { $gte: '5' } }),
    fc.constant({ '~s': { $like: '%%%%%%%%%%%%%%_' } }),
    fc.constant({ a: { $neq: 'x' } }),
    fc.constant({ $exist: ['a', '~b'] }),
    fc.constant({ a: { $in: ['x', 'y'] } }),
    // Conditions that span every record of the caller's vault (every record has t0..t9, a, ~n, ~s).
    fc.integer({ min: 0, max: 9 }).map((i) => ({ [`t${i}`]: { $neq: 'z' } })),
    fc.constant({ '~s': { $like: '%' } }),
    fc.constant({ $exist: ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7', 't8', 't9', 'a', '~n', '~s'] }),
  );
  const invalid = fc.constantFrom<unknown>({ $in: [] }, { a: { $or: [] } }, { $unknown: 1 }, { a: 1 }, { a: { $like: 'x' } }, { '~n': { $gte: 5 } });
  // Mostly valid leaves, so that most trees reach the store; an invalid one now and then.
  const leaf = fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: invalid, weight: 1 });
  const tree = fc.letrec<{ node: unknown }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.record({ $and: fc.array(tie('node'), { maxLength: 6 }) }),
      fc.record({ $or: fc.array(tie('node'), { maxLength: 6 }) }),
      fc.record({ $not: tie('node') }),
    ),
  })).node;
  return fc.oneof(
    { arbitrary: tree, weight: 4 },
    fc.constantFrom<unknown>(
      { $or: [] },
      { $and: [] },
      { $not: {} },
      { $or: Array.from({ length: 120 }, () => ({})) },
      // The dearest shapes inside the limits (docs/vault.md, "what a query costs").
      { $and: Array.from({ length: 40 }, (_, i) => ({ [`t${i % 10}`]: { $neq: 'z' } })) },
      { $or: Array.from({ length: 40 }, (_, i) => ({ [`t${i % 10}`]: { $neq: 'z' } })) },
      { $or: Array.from({ length: 60 }, () => ({ '~s': { $like: '%' } })) },
      { $or: Array.from({ length: 30 }, (_, i) => ({ $not: { [`t${i % 10}`]: 'z' } })) },
      { $or: Array.from({ length: 500 }, () => ({})) },
      { $and: Array.from({ length: 127 }, () => ({ $not: {} })) },
      { $or: Array.from({ length: 64 }, (_, i) => ({ $not: { [`t${i}`]: 'x' } })) },
      { a: { $in: Array.from({ length: 40_000 }, (_, i) => `v${i}`) } },
      { $exist: Array.from({ length: 1000 }, (_, i) => `t${i}`) },
      Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`t${i}`, 'x'])),
      nested(9, {}, (inner) => ({ $not: inner })),
      nested(200, {}, (inner) => ({ $and: [inner] })),
      nested(1000, {}, (inner) => ({ $or: [inner, {}] })),
    ),
  );
}

const WIDEST = Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i]));

/** Values of every type, regardless of any schema. */
export function hostileValue(pools: ValuePools): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...HOSTILE_STRINGS), weight: 6 },
    { arbitrary: fc.constantFrom(...HOSTILE_NUMBERS), weight: 3 },
    { arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, [null], { '': '' }, ['a', 'a'], JSON.parse('{"__proto__":{"admin":true}}')), weight: 3 },
    { arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }), weight: 3 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 },
    { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 2 },
    { arbitrary: wqlQuery(), weight: 2 },
    { arbitrary: loopbackUrl(pools), weight: 1 },
    {
      arbitrary: fc.constantFrom<unknown>(
        nested(64, 'x', (inner) => [inner]),
        nested(1000, 'x', (inner) => [inner]),
        nested(1000, 'x', (inner) => ({ a: inner })),
        Array.from({ length: 50_000 }, (_, i) => i),
        Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i])),
        // As many keys as fit in the default 1 MiB body (class-transformer was quadratic in them).
        WIDEST,
      ),
      weight: 1,
    },
  );
}

function typesOf(schema: JsonSchema): string[] {
  if (Array.isArray(schema.type)) return schema.type;
  if (schema.type) return [schema.type];
  if (schema.properties) return ['object'];
  if (schema.items) return ['array'];
  return [];
}

/** Names of fields and parameters that carry URLs the service might fetch. */
const URL_NAME = /(^|_|-)(url|uri|iss|issuer|endpoint|jwks_uri|redirect_uri|response_uri|client_id)$|url$|uri$/i;

function stringValid(schema: JsonSchema, name: string, pools: ValuePools): fc.Arbitrary<string> {
  const known = pools.byName[name.toLowerCase()] ?? [];
  const options: Array<fc.Arbitrary<string>> = [];
  if (known.length) options.push(fc.constantFrom(...known));
  if (schema.format === 'uri' || schema.format === 'url' || URL_NAME.test(name)) options.push(loopbackUrl(pools));
  if (schema.format === 'date-time') options.push(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()));
  if (schema.format === 'uuid') options.push(fc.uuid());
  if (schema.pattern) {
    try {
      options.push(fc.stringMatching(new RegExp(schema.pattern), { size: 'small' }));
    } catch {
      // a pattern JavaScript cannot compile: the plain strings below still cover the field
    }
  }
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.max(minLength, Math.min(schema.maxLength ?? 40, 200));
  options.push(fc.string({ minLength, maxLength }));
  return fc.oneof(...options);
}

/** A value the schema allows (as far as the generators understand it). */
export function validValue(schema: JsonSchema, name: string, pools: ValuePools, depth = 0): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum?.length) return fc.constantFrom(...schema.enum);
  const variants = [...(schema.oneOf ?? []), ...(schema.anyOf ?? [])];
  if (variants.length) return fc.oneof(...variants.map((v) => validValue(v, name, pools, depth + 1)));
  if (name.toLowerCase() === 'query' && depth <= 1) return wqlQuery();
  const types = typesOf(schema);
  const pick = types.find((t) => t !== 'null') ?? (depth > 4 ? 'string' : 'any');
  switch (pick) {
    case 'string':
      return stringValid(schema, name, pools);
    case 'integer':
    case 'number': {
      const min = typeof schema.minimum === 'number' ? schema.minimum : -1000;
      const max = typeof schema.maximum === 'number' ? schema.maximum : 1000;
      return pick === 'integer'
        ? fc.integer({ min: Math.ceil(Math.min(min, max)), max: Math.floor(Math.max(min, max)) })
        : fc.double({ min: Math.min(min, max), max: Math.max(min, max), noNaN: true });
    }
    case 'boolean':
      return fc.boolean();
    case 'array': {
      const items = validValue(schema.items ?? {}, name, pools, depth + 1);
      const minLength = schema.minItems ?? 0;
      return fc.array(items, { minLength, maxLength: Math.max(minLength, Math.min(schema.maxItems ?? 4, 6)) });
    }
    case 'object': {
      const properties = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      // Optional fields are left out more often than sent: an opaque field (a cursor) has no valid
      // value the generator could know, so sending one nearly always makes the whole request invalid.
      const ABSENT = Symbol('absent');
      const model = Object.fromEntries(
        Object.entries(properties).map(([key, sub]) => [
          key,
          required.has(key) ? validValue(sub, key, pools, depth + 1) : fc.oneof({ arbitrary: fc.constant(ABSENT), weight: 3 }, { arbitrary: validValue(sub, key, pools, depth + 1), weight: 1 }),
        ]),
      );
      return fc.record(model).map((value) => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== ABSENT)));
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Values at, and one step past, each boundary the schema states. */
export function boundaryValue(schema: JsonSchema, name: string, pools: ValuePools): fc.Arbitrary<unknown> {
  const out: unknown[] = [];
  const types = typesOf(schema);
  if (types.includes('string') || (!types.length && !schema.enum)) {
    if (schema.maxLength !== undefined) out.push(LONG(schema.maxLength), LONG(schema.maxLength + 1), '\u00e9'.repeat(schema.maxLength), '🧨'.repeat(schema.maxLength));
    if (schema.minLength !== undefined && schema.minLength > 0) out.push(LONG(schema.minLength - 1), LONG(schema.minLength));
    out.push('', LONG(10_000));
  }
  if (types.includes('integer') || types.includes('number')) {
    for (const bound of [schema.minimum, schema.maximum]) {
      if (typeof bound === 'number') out.push(bound, bound - 1, bound + 1, bound - 0.5, bound + 0.5);
    }
    out.push(0, -1, 2 ** 53 + 2, 1e308, -1e308, 5e-324);
  }
  if (types.includes('array')) {
    if (schema.maxItems !== undefined) out.push(Array.from({ length: schema.maxItems + 1 }, () => 'x'));
    out.push([], Array.from({ length: 10_000 }, () => 'x'));
  }
  if (schema.enum?.length) out.push(`${String(schema.enum[0])}x`, String(schema.enum[0]).toUpperCase(), ` ${String(schema.enum[0])}`);
  if (types.includes('object') && schema.properties) {
    const required = schema.required ?? [];
    return fc.oneof(
      // A valid object missing one required field, or with an unknown field added.
      validValue(schema, name, pools).map((value) => {
        const copy = { ...(value as Record<string, unknown>) };
        if (required.length) delete copy[required[0]!];
        return copy;
      }),
      validValue(schema, name, pools).map((value) => ({ ...(value as Record<string, unknown>), unknownField: 'x' })),
    );
  }
  if (out.length === 0) return hostileValue(pools);
  return fc.constantFrom(...out);
}

/** The mix the fuzzer sends for one parameter or field: mostly valid, often boundary, often hostile. */
export function fuzzValue(schema: JsonSchema, name: string, pools: ValuePools): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: validValue(schema, name, pools), weight: 4 },
    { arbitrary: boundaryValue(schema, name, pools), weight: 2 },
    { arbitrary: hostileValue(pools), weight: 2 },
  );
}

/**
 * A body for the schema: a valid object whose every field is fuzzed, or a
 * wholly hostile value. Without a documented schema: generic JSON, hostile
 * values, and (for query routes) WQL queries.
 */
export function fuzzBody(schema: JsonSchema | undefined, path: string, pools: ValuePools): fc.Arbitrary<unknown> {
  if (!schema || (!schema.properties && !schema.type && !schema.oneOf && !schema.anyOf)) {
    return fc.oneof(
      { arbitrary: fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }), weight: 2 },
      { arbitrary: hostileValue(pools), weight: 2 },
      { arbitrary: fc.record({ query: wqlQuery(), limit: fuzzValue({ type: 'integer', minimum: 1, maximum: 100 }, 'limit', pools) }, { requiredKeys: ['query'] }), weight: /query/.test(path) ? 6 : 0 },
    );
  }
  if (schema.properties) {
    const required = (schema.required ?? []).filter((k) => k in schema.properties!);
    const fields = Object.fromEntries(Object.entries(schema.properties).map(([key, sub]) => [key, fuzzValue(sub, key, pools)]));
    const keys = Object.keys(schema.properties);
    // A valid body with one field fuzzed reaches the code behind validation; all fields fuzzed at
    // once mostly tests the validator.
    const oneFuzzed = fc
      .tuple(
        validValue(schema, '', pools),
        fc.constantFrom(...keys).chain((key) => fuzzValue(schema.properties![key]!, key, pools).map((value) => [key, value] as const)),
      )
      .map(([valid, [key, value]]) => ({ ...(valid as Record<string, unknown>), [key]: value }));
    return fc.oneof(
      { arbitrary: validValue(schema, '', pools), weight: 4 },
      ...(keys.length ? [{ arbitrary: oneFuzzed, weight: 4 }] : []),
      { arbitrary: fc.record(fields, { requiredKeys: required }), weight: 2 },
      { arbitrary: boundaryValue(schema, '', pools), weight: 1 },
      { arbitrary: hostileValue(pools), weight: 1 },
    );
  }
  return fuzzValue(schema, '', pools);
}
