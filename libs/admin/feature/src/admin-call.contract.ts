/**
 * Test code shared by the admin feature's specs that drive a real admin
 * server over HTTP: one call with the admin token and an optional JSON body,
 * answered with the status, the content type and the parsed body.
 */
export interface AdminAnswer {
  status: number;
  type: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field by the specs
  body: Record<string, any>;
}

/** `url` is read at each call (the server starts in a `beforeAll`). */
export function adminCaller(url: () => string, token: string) {
  return async (method: string, path: string, body?: unknown): Promise<AdminAnswer> => {
    const response = await fetch(`${url()}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, type: response.headers.get('content-type') ?? '', body: (text ? JSON.parse(text) : null) as Record<string, unknown> };
  };
}
