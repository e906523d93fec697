import fc from 'fast-check';
import type { FuzzOperation } from './openapi-operations';
import { fuzzBody, fuzzValue, hostileValue, type ValuePools } from './values';

/** Which credentials a fuzzed request carries. */
export type AuthMode = 'none' | 'valid' | 'garbage' | 'other-kind' | 'query-token';
/** How the body goes on the wire. */
export type BodyMode = 'none' | 'json' | 'duplicate-first' | 'duplicate-last' | 'invalid-json' | 'empty-json' | 'form' | 'oversize';

/** One generated request, before the tokens of the run are filled in. */
export interface RequestPlan {
  pathValues: unknown[];
  query: Array<[string, unknown]>;
  headers: Array<[string, unknown]>;
  body: unknown;
  bodyMode: BodyMode;
  duplicate: unknown;
  auth: AuthMode;
  /** Prefix `/t/<tenant>` (the path form of X-Tenant-ID), or none. */
  tenantPrefix: string | null;
}

/** The bytes of a request. */
export interface WireRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** Path segments sent as they are (not percent-encoded): traversal, bad escapes, empty. */
const RAW_SEGMENTS = ['..', '.', '%', '%ZZ', '%00', '%2e%2e', '%2F', '%u0041', ';x=1', '', '%C0%AE', 'a'.repeat(5000)];

/** The generator of request plans for one operation. */
export function requestPlans(operation: FuzzOperation, pools: ValuePools): fc.Arbitrary<RequestPlan> {
  const pathParams = operation.parameters.filter((p) => p.in === 'path');
  const queryParams = operation.parameters.filter((p) => p.in === 'query');
  const headerParams = operation.parameters.filter((p) => p.in === 'header');
  const named = (params: typeof queryParams) =>
    params.map((p) =>
      p.required
        ? fuzzValue(p.schema, p.name, pools).map((v) => [[p.name, v] as [string, unknown]])
        : // An optional parameter is left out more often than sent, so most requests reach the route's code.
          fc
            .oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: fuzzValue(p.schema, p.name, pools), weight: 2 })
            .map((v) => (v === undefined ? [] : [[p.name, v] as [string, unknown]])),
    );
  // Query parameters the route does not document, now and then (a DTO refuses unknown ones).
  const extraQuery = fc.oneof(
    { arbitrary: fc.constant([] as Array<[string, unknown]>), weight: 4 },
    {
      arbitrary: fc.array(
        fc.tuple(fc.constantFrom('limit', 'cursor', 'since', 'category', 'access_token', 'url', 'a[b]', '__proto__', 'id', 'x'.repeat(300)), hostileValue(pools)),
        { minLength: 1, maxLength: 2 },
      ),
      weight: 1,
    },
  );
  const mutating = ['POST', 'PUT', 'PATCH'].includes(operation.method);
  const bodyModes: Array<{ arbitrary: fc.Arbitrary<BodyMode>; weight: number }> = mutating || operation.body
    ? [
        { arbitrary: fc.constant<BodyMode>('json'), weight: 24 },
        { arbitrary: fc.constantFrom<BodyMode>('duplicate-first', 'duplicate-last'), weight: 4 },
        { arbitrary: fc.constantFrom<BodyMode>('invalid-json', 'empty-json', 'form', 'none'), weight: 3 },
        { arbitrary: fc.constant<BodyMode>('oversize'), weight: 1 },
      ]
    : [
        { arbitrary: fc.constant<BodyMode>('none'), weight: 12 },
        { arbitrary: fc.constantFrom<BodyMode>('json', 'invalid-json'), weight: 1 },
      ];
  return fc.record({
    pathValues: fc.tuple(
      ...pathParams.map((p) =>
        fc.oneof(
          { arbitrary: fuzzValue(p.schema, p.name, pools), weight: 12 },
          { arbitrary: fc.constantFrom(...RAW_SEGMENTS).map((raw) => ({ raw })), weight: 1 },
        ),
      ),
    ),
    query: fc.tuple(fc.tuple(...named(queryParams)), extraQuery).map(([known, extra]) => [...known.flat(), ...extra]),
    headers: fc.tuple(
      fc.tuple(...named(headerParams)),
      fc.option(fc.constantFrom('"1"', '"0"', '*', 'W/"1"', '"99999999999999999999"', 'garbage', '"1", "2"'), { nil: undefined, freq: 2 }),
    ).map(([known, ifMatch]) => [...known.flat(), ...(ifMatch !== undefined ? [['if-match', ifMatch] as [string, unknown]] : [])]),
    body: fuzzBody(operation.body?.schema, operation.path, pools),
    bodyMode: fc.oneof(...bodyModes),
    duplicate: hostileValue(pools),
    auth: fc.oneof(
      { arbitrary: fc.constant<AuthMode>('valid'), weight: 6 },
      { arbitrary: fc.constant<AuthMode>('none'), weight: 3 },
      { arbitrary: fc.constantFrom<AuthMode>('garbage', 'other-kind', 'query-token'), weight: 2 },
    ),
    tenantPrefix: fc.oneof(
      { arbitrary: fc.constant(null), weight: 12 },
      { arbitrary: fc.constantFrom('beta', 'default', 'no-such', 'BAD_TENANT', '..'), weight: 1 },
    ),
  });
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    // Too deep for this stack, or an object without a prototype: send a marker instead.
    return Object.prototype.toString.call(value);
  }
}

/** Percent-encodes like encodeURIComponent, but never throws on a lone surrogate (it is sent as U+FFFD). */
function encode(text: string): string {
  return encodeURIComponent(text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));
}

/**
 * Longest encoded query pair or path segment. Node refuses a request head over 16 KiB (431) before
 * any service code runs, so longer values would only test Node; long strings go in bodies instead.
 */
const MAX_URL_PART = 6000;
const cap = (text: string) => (text.length > MAX_URL_PART ? text.slice(0, MAX_URL_PART).replace(/%[0-9A-F]?$/, '') : text);

function queryPairs(name: string, value: unknown): string[] {
  if (Array.isArray(value) && value.length <= 50) return value.map((v) => cap(`${encode(name)}=${encode(asText(v))}`));
  if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length <= 20) {
    return Object.entries(value).map(([k, v]) => cap(`${encode(`${name}[${k}]`)}=${encode(asText(v))}`));
  }
  return [cap(`${encode(name)}=${encode(asText(value))}`)];
}

/** Bytes of the request line and headers (what Node's 16 KiB header limit counts). */
export function headBytes(request: WireRequest): number {
  return request.method.length + request.path.length + Object.entries(request.headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0) + 16;
}

/** Header values as undici accepts them: no control characters, Latin-1 only, at most 8 KiB. */
function headerValue(value: unknown): string {
  return asText(value)
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, '?')
    .slice(0, 8192);
}

export interface Credentials {
  valid: string | undefined;
  /** A token of the wrong kind for this port (a user token on admin, the admin token elsewhere). */
  otherKind: string;
}

/** Turns a plan into bytes. `bodyLimit` is the server's body limit (an oversize body is one byte over it). */
export function wireRequest(operation: FuzzOperation, plan: RequestPlan, credentials: Credentials, bodyLimit: number): WireRequest {
  let index = 0;
  let path = operation.path.replace(/\{[^}]+\}/g, () => {
    const value = plan.pathValues[index++];
    if (value && typeof value === 'object' && 'raw' in value) return String((value as { raw: string }).raw);
    return cap(encode(asText(value)));
  });
  if (plan.tenantPrefix) path = `/t/${plan.tenantPrefix}${path}`;
  const query = plan.query.flatMap(([name, value]) => queryPairs(name, value));
  if (plan.auth === 'query-token' && credentials.valid) query.push(`access_token=${encode(credentials.valid)}`);
  if (query.length) path += `?${query.join('&')}`;

  const headers: Record<string, string> = {};
  for (const [name, value] of plan.headers) headers[name.toLowerCase()] = headerValue(value);
  if (plan.auth === 'valid' && credentials.valid) headers['authorization'] = `Bearer ${credentials.valid}`;
  if (plan.auth === 'garbage') headers['authorization'] = 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.';
  if (plan.auth === 'other-kind') headers['authorization'] = `Bearer ${credentials.otherKind}`;

  let body: string | undefined;
  switch (plan.bodyMode) {
    case 'none':
      break;
    case 'json':
      body = asText(plan.body === undefined ? null : plan.body);
      headers['content-type'] = 'application/json';
      break;
    case 'duplicate-first':
    case 'duplicate-last': {
      // The same key twice in one object: JSON.parse keeps the last one, other parsers the first.
      const object = plan.body && typeof plan.body === 'object' && !Array.isArray(plan.body) ? (plan.body as Record<string, unknown>) : { query: plan.body };
      const key = Object.keys(object)[0] ?? 'query';
      const inner = asText(object).slice(1, -1);
      const extra = `${JSON.stringify(key)}:${asText(plan.duplicate)}`;
      body = plan.bodyMode === 'duplicate-first' ? `{${extra}${inner ? `,${inner}` : ''}}` : `{${inner ? `${inner},` : ''}${extra}}`;
      headers['content-type'] = 'application/json';
      break;
    }
    case 'invalid-json':
      body = `${asText(plan.body).slice(0, 200)}{"`;
      headers['content-type'] = 'application/json';
      break;
    case 'empty-json':
      body = '';
      headers['content-type'] = 'application/json';
      break;
    case 'form':
      body = `a=1&b=${encode(asText(plan.body).slice(0, 200))}`;
      headers['content-type'] = 'application/x-www-form-urlencoded';
      break;
    case 'oversize':
      body = `{"a":"${'x'.repeat(bodyLimit)}"}`;
      headers['content-type'] = 'application/json';
      break;
  }
  return { method: operation.method, path, headers, body };
}

/** A short, printable description of a request for reports (long values cut). */
export function describeRequest(request: WireRequest): string {
  const cut = (text: string, n: number) => (text.length > n ? `${text.slice(0, n)}... (${text.length} chars)` : text);
  const headers = Object.entries(request.headers)
    .map(([k, v]) => `${k}: ${k === 'authorization' ? v.replace(/^(Bearer ).*/, '$1<token>') : cut(v, 80)}`)
    .join('; ');
  return `${request.method} ${cut(request.path.replace(/access_token=[^&]*/, 'access_token=<token>'), 300)} [${headers}]${
    request.body !== undefined ? ` body ${cut(request.body, 400)}` : ''
  }`;
}
