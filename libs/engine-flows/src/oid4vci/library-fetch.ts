import type { DocumentFetch } from '@wallet/protocol';
import type { GuardedFetch } from '../ports';
import type { LibraryFetch } from './openid4vc';

function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(headers).forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

function bodyText(body: RequestInit['body']): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  throw new TypeError('unsupported request body type');
}

/** Rewrites a response before the library reads it (credential response decryption). */
export type ResponseFilter = (url: string, response: { status: number; headers: Record<string, string>; body: Uint8Array }) => Promise<{
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}>;

/**
 * The WHATWG `fetch` the @openid4vc libraries call, on the guarded fetch:
 * only GET and POST, string bodies, the guard's size limit, and an optional
 * filter over responses.
 */
export function libraryFetch(fetch: GuardedFetch, filter?: ResponseFilter): LibraryFetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = (init?.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'POST') throw new TypeError(`method ${method} is not used by the engine`);
    const body = bodyText(init?.body);
    let response = await fetch(url, { method, headers: headerRecord(init?.headers), ...(body !== undefined ? { body } : {}) });
    if (filter) response = await filter(url, response);
    const empty = response.status === 204 || response.status === 304;
    return new Response(empty ? null : Buffer.from(response.body), { status: response.status, headers: response.headers });
  };
}

/** Documents for issuer key and status list lookups, on the guarded fetch. */
export function documentFetch(fetch: GuardedFetch): DocumentFetch {
  return {
    getText: async (url, accept) => {
      const response = await fetch(url, { method: 'GET', headers: { accept: accept.join(', ') } });
      if (response.status !== 200) throw new Error(`the document answered HTTP ${response.status}`);
      const type = (response.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      const fits = accept.some((a) => a === type || (a.endsWith('/*') && type.startsWith(a.slice(0, -1))) || (a === 'application/json' && type.endsWith('+json')));
      if (!fits) throw new Error(`the document has content type ${type || '(none)'}`);
      return Buffer.from(response.body).toString('utf8');
    },
  };
}
