import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

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

/** A small JSON client for the admin API (node:http; the global fetch is not used outside the guarded client). */
export class AdminClient {
  private readonly base: string;

  constructor(private readonly options: ClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    let response: { status: number; text: string };
    try {
      response = await this.send(method, `${this.base}${path}`, payload);
    } catch (error) {
      const reason = error instanceof Error ? ((error as { code?: string }).code ?? error.message) : 'unknown error';
      throw new ConnectionError(`cannot reach the admin API at ${this.base}: ${reason}`);
    }
    let parsed: unknown = null;
    if (response.text) {
      try {
        parsed = JSON.parse(response.text);
      } catch {
        parsed = { detail: response.text.slice(0, 200) };
      }
    }
    if (response.status >= 400) throw new ApiError(response.status, (parsed ?? {}) as ApiError['problem']);
    return parsed as T;
  }

  /** One request with node:http(s): it loads faster than any client library, which matters for a CLI. */
  private send(method: string, url: string, payload: string | undefined): Promise<{ status: number; text: string }> {
    const target = new URL(url);
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const req = request(
        target,
        {
          method,
          headers: {
            accept: 'application/json',
            ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
            ...(this.options.actor ? { 'x-admin-actor': this.options.actor } : {}),
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
          timeout: timeoutMs,
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(payload);
    });
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
