/**
 * The little HTTP the auth and vault clients need, over an injectable
 * `fetch` (browsers' own, Node 20's, or a test double): JSON bodies and
 * RFC 9457 problem documents.
 */

/** The part of a `fetch` response the clients read. */
export interface FetchResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** The part of `fetch` the clients call; `globalThis.fetch` fits. */
export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<FetchResponseLike>;

/** An answer: status, headers and the body parsed as JSON (null when empty or not JSON), plus the raw text. */
export interface HttpAnswer {
  status: number;
  headers: { get(name: string): string | null };
  body: unknown;
  text: string;
}

/**
 * The problem document of an error answer (`application/problem+json`):
 * `code` is the service's stable machine-readable reason; extension members
 * (`currentEtag`, `currentVersion`, `issues`, ...) are kept as sent.
 */
export interface Problem {
  status: number;
  code: string;
  detail: string;
  [extension: string]: unknown;
}

/**
 * `options.fetch`, else the global one, bound to `globalThis`: browsers throw
 * "Illegal invocation" when `fetch` is called as a method of another object.
 */
export function resolveFetch(fetchOption: FetchLike | undefined): FetchLike {
  if (fetchOption) return fetchOption;
  const global = (globalThis as { fetch?: FetchLike }).fetch;
  if (!global) throw new TypeError('no fetch: pass options.fetch');
  return global.bind(globalThis);
}

/** `baseUrl` without trailing slashes, so `${base}${path}` never doubles one. */
export function trimBaseUrl(baseUrl: string): string {
  if (typeof baseUrl !== 'string' || baseUrl === '') throw new TypeError('baseUrl is required');
  return baseUrl.replace(/\/+$/, '');
}

/** Sends one request and reads the whole answer. Network failures reject with the fetch's own error. */
export async function send(
  fetchFn: FetchLike,
  url: string,
  method: string,
  init: { headers?: Record<string, string>; json?: unknown; body?: string } = {},
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...init.headers };
  let body: string | undefined = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] = 'application/json';
  }
  const response = await fetchFn(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let parsed: unknown = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON (an export archive, or a proxy's HTML error page): the caller has `text`.
    }
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/** The problem document of an error answer; a made-up one when a proxy answered something else. */
export function problemOf(answer: HttpAnswer): Problem {
  const body = answer.body;
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const record = body as Record<string, unknown>;
    if (typeof record['code'] === 'string') {
      return {
        ...record,
        status: answer.status,
        code: record['code'],
        detail: typeof record['detail'] === 'string' ? record['detail'] : `HTTP ${answer.status}`,
      };
    }
  }
  return { status: answer.status, code: `http_${answer.status}`, detail: `HTTP ${answer.status} without a problem document` };
}

/** `"abc"` or `W/"abc"` → `abc`; null stays null. */
export function unquoteEtag(value: string | null): string | null {
  if (value === null) return null;
  return value.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}
