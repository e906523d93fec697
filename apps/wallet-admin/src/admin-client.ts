import { request } from 'undici';

/** An answer of the admin API that was not a success. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: { code?: string; detail?: string; title?: string; issues?: Array<{ path: string; message: string }> },
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

/** The server could not be reached at all. */
export class ConnectionError extends Error {}

export interface ClientOptions {
  url: string;
  token: string | undefined;
  actor?: string | undefined;
  timeoutMs?: number;
}

/** A small JSON client for the admin API (undici; the global fetch is not used outside the guarded client). */
export class AdminClient {
  private readonly base: string;

  constructor(private readonly options: ClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    let response;
    try {
      response = await request(`${this.base}${path}`, {
        method: method as 'GET',
        headers: {
          accept: 'application/json',
          ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
          ...(this.options.actor ? { 'x-admin-actor': this.options.actor } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headersTimeout: this.options.timeoutMs ?? 30_000,
        bodyTimeout: this.options.timeoutMs ?? 30_000,
      });
    } catch (error) {
      const reason = error instanceof Error ? ((error as { code?: string }).code ?? error.message) : 'unknown error';
      throw new ConnectionError(`cannot reach the admin API at ${this.base}: ${reason}`);
    }
    const text = await response.body.text();
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = { detail: text.slice(0, 200) };
      }
    }
    if (response.statusCode >= 400) throw new ApiError(response.statusCode, (parsed ?? {}) as ApiError['problem']);
    return parsed as T;
  }

  /** Every item of a paginated listing. */
  async listAll<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const page: { items: T[]; next_cursor: string | null } = await this.call(
        'GET',
        `${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return items;
  }
}
