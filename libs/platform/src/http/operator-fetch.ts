import { request } from 'undici';

export interface OperatorFetchOptions {
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Largest body read; past it the fetch fails. */
  maxBytes: number;
}

/**
 * GETs a URL the operator configured (another service of the deployment:
 * auth's JWKS, the registry). Configuration, not user input, so not the
 * guarded outbound client's job; still no redirects, timeouts and a size cap.
 * Resolves with the status and the body parsed as JSON (null when empty);
 * throws when the body is too large or not JSON.
 */
export async function fetchOperatorJson(url: string, options: OperatorFetchOptions): Promise<{ status: number; body: unknown }> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const response = await request(url, {
    method: 'GET',
    headers: { accept: 'application/json', ...options.headers },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > options.maxBytes) {
      response.body.destroy();
      throw new Error(`the answer from ${new URL(url).host} is too large`);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return { status: response.statusCode, body: text ? (JSON.parse(text) as unknown) : null };
  } catch {
    throw new Error(`${new URL(url).host} answered HTTP ${response.statusCode} without JSON`);
  }
}
