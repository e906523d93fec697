import { lookup } from 'node:dns/promises';
import { Agent, buildConnector, errors as undiciErrors, type Dispatcher } from 'undici';
import { AddressPolicy, isIpLiteral, normalizeHost, type AddressPolicyOptions } from './address-policy';
import { OutboundError } from './outbound-error';

/** Resolves a host name to every address it has (A and AAAA). */
export type HostResolver = (hostname: string) => Promise<string[]>;

const systemResolver: HostResolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

export interface OutboundClientOptions extends AddressPolicyOptions {
  /** Allow plain `http:` URLs. Development and tests only. */
  allowHttp?: boolean;
  /** Redirects followed per fetch (each hop is checked again). Default 3. */
  maxRedirects?: number;
  /** TCP + TLS connect timeout. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Whole fetch, redirects and body included. Default 10000 ms. */
  timeoutMs?: number;
  /** Largest response body. Default 1 MiB. */
  maxResponseBytes?: number;
  /** Sent on every request. */
  userAgent?: string;
}

export interface OutboundClientDeps {
  /** Injected DNS (tests map names to loopback addresses). */
  resolve?: HostResolver;
  /** Extra trusted CA certificates (PEM), for tests with their own TLS servers. */
  ca?: string | string[];
}

export interface OutboundRequest {
  method?: 'GET' | 'POST' | 'HEAD';
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /**
   * Media types the response must have (`application/json`, `image/*`);
   * parameters such as `charset` are ignored. Omitted: any. Checked only on
   * 2xx answers.
   */
  accept?: readonly string[];
  /** Overrides `maxResponseBytes` for this call (never above it). */
  maxBytes?: number;
  /** Overrides `timeoutMs` for this call (never above it). */
  timeoutMs?: number;
  /** Overrides `maxRedirects` for this call (never above it); 0 refuses redirects. */
  maxRedirects?: number;
}

export interface OutboundResponse {
  status: number;
  /** The URL that answered, after redirects. */
  url: string;
  /** Lower-case names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** The media type without parameters, lower-case; null when absent. */
  contentType: string | null;
  body: Buffer;
  text(): string;
  /** Parses the body as JSON; a `bad_gateway` `OutboundError` when it is not. */
  json(): unknown;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function mediaType(header: string | undefined): string | null {
  if (!header) return null;
  return (header.split(';')[0] ?? '').trim().toLowerCase() || null;
}

function acceptable(type: string | null, accept: readonly string[]): boolean {
  if (type === null) return false;
  return accept.some((pattern) => {
    const p = pattern.toLowerCase();
    return p === type || (p.endsWith('/*') && type.startsWith(p.slice(0, -1)));
  });
}

function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * The only way a service fetches a URL it did not configure itself.
 *
 * - `https:` only (unless `allowHttp`); no credentials in URLs; host allow and
 *   block lists.
 * - DNS is resolved here, every resolved address is checked (see
 *   {@link AddressPolicy}), and the socket connects to the checked address
 *   while TLS SNI, certificate checks and the `Host` header keep the name, so
 *   there is no window for DNS rebinding between check and connect.
 * - Redirects are followed by hand, at most `maxRedirects`, and each hop goes
 *   through every check again; credentials headers are dropped on a
 *   cross-origin hop.
 * - Connect, overall and body timeouts; the body is counted while it streams
 *   and the fetch aborts past the cap; the content type is checked per call.
 *
 * Security caveat: a 2xx answer only means the bytes came from that host.
 * Callers still validate the content (schema, integrity, signature).
 */
export class OutboundClient {
  private readonly policy: AddressPolicy;
  private readonly agent: Agent;
  private readonly resolve: HostResolver;
  private readonly allowHttp: boolean;
  private readonly maxRedirects: number;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly userAgent: string;

  constructor(options: OutboundClientOptions = {}, deps: OutboundClientDeps = {}) {
    this.policy = new AddressPolicy(options);
    this.resolve = deps.resolve ?? systemResolver;
    this.allowHttp = options.allowHttp ?? false;
    this.maxRedirects = options.maxRedirects ?? 3;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxResponseBytes = options.maxResponseBytes ?? 1_048_576;
    this.userAgent = options.userAgent ?? 'wallet-outbound/1';
    const connectTimeout = options.connectTimeoutMs ?? 5_000;
    const connector = buildConnector({ timeout: connectTimeout, ...(deps.ca ? { ca: deps.ca } : {}) });
    this.agent = new Agent({
      connect: (opts, callback) => {
        this.checkedAddress(opts.hostname).then(
          (address) => connector({ ...opts, hostname: address }, callback),
          (error: unknown) => callback(error as Error, null),
        );
      },
      connectTimeout,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      keepAliveTimeout: 4_000,
      connections: 64,
    });
  }

  /** Resolves `hostname` and returns the first address once every address passed the checks. */
  private async checkedAddress(hostname: string): Promise<string> {
    const host = normalizeHost(hostname);
    let addresses: string[];
    if (isIpLiteral(host)) {
      addresses = [host];
    } else {
      try {
        addresses = await this.resolve(host);
      } catch (error) {
        throw new OutboundError('dns_failed', `host ${host} does not resolve`, { cause: error });
      }
      if (addresses.length === 0) throw new OutboundError('dns_failed', `host ${host} does not resolve`);
    }
    // Every address, not just the one used: a name that also points inward is refused outright.
    for (const address of addresses) {
      const refusal = this.policy.checkAddress(address);
      if (refusal) throw new OutboundError('address_blocked', `host ${host} refused: ${refusal}`);
    }
    return addresses[0] as string;
  }

  /** Checks a URL before any connection: scheme, credentials, host lists, IP literals. */
  checkUrl(input: string | URL): URL {
    let url: URL;
    try {
      url = new URL(String(input));
    } catch {
      throw new OutboundError('invalid_url', 'not an absolute URL');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.allowHttp)) {
      throw new OutboundError('scheme_not_allowed', `${url.protocol.replace(/:$/, '')} URLs are not allowed`);
    }
    if (url.username || url.password) {
      throw new OutboundError('credentials_in_url', 'URLs with user information are not allowed');
    }
    const host = normalizeHost(url.hostname);
    if (!host) throw new OutboundError('invalid_url', 'the URL has no host');
    const hostRefusal = this.policy.checkHost(host);
    if (hostRefusal) throw new OutboundError('host_not_allowed', hostRefusal);
    if (isIpLiteral(host)) {
      const refusal = this.policy.checkAddress(host);
      if (refusal) throw new OutboundError('address_blocked', `host ${host} refused: ${refusal}`);
    }
    return url;
  }

  /**
   * Fetches `input` under every check above. Answers with any status (the
   * caller decides what a 404 or 304 means) except redirects, which are
   * followed. Throws {@link OutboundError} on refusal or failure.
   */
  async fetch(input: string | URL, request: OutboundRequest = {}): Promise<OutboundResponse> {
    const timeoutMs = Math.min(request.timeoutMs ?? this.timeoutMs, this.timeoutMs);
    const maxBytes = Math.min(request.maxBytes ?? this.maxResponseBytes, this.maxResponseBytes);
    const maxRedirects = Math.min(request.maxRedirects ?? this.maxRedirects, this.maxRedirects);
    const signal = AbortSignal.timeout(timeoutMs);
    let url = this.checkUrl(input);
    let method = request.method ?? 'GET';
    let body = request.body;
    let headers: Record<string, string> = { 'user-agent': this.userAgent, ...lowerKeys(request.headers ?? {}) };

    for (let hop = 0; ; hop++) {
      const response = await this.send(url, method, headers, body, signal, timeoutMs);
      if (REDIRECTS.has(response.statusCode) && response.headers['location']) {
        response.body.resume();
        if (hop >= maxRedirects) {
          throw new OutboundError('too_many_redirects', `more than ${maxRedirects} redirects from ${url.hostname}`);
        }
        const location = String(response.headers['location']);
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new OutboundError('invalid_url', `${url.hostname} redirected to an invalid URL`);
        }
        next = this.checkUrl(next);
        if (next.origin !== url.origin) {
          const { authorization: _a, cookie: _c, ...rest } = headers;
          headers = rest;
        }
        if (response.statusCode === 303 || ((response.statusCode === 301 || response.statusCode === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
          const { 'content-type': _t, ...rest } = headers;
          headers = rest;
        }
        url = next;
        continue;
      }
      const flat = flattenHeaders(response.headers);
      const contentType = mediaType(flat['content-type']);
      const ok = response.statusCode >= 200 && response.statusCode < 300;
      if (ok && request.accept && method !== 'HEAD' && !acceptable(contentType, request.accept)) {
        response.body.resume();
        throw new OutboundError(
          'content_type',
          `${url.hostname} answered with content type ${contentType ?? '(none)'}, expected ${request.accept.join(' or ')}`,
        );
      }
      const bytes = await this.readCapped(response.body, flat['content-length'], maxBytes, url, timeoutMs);
      const finalUrl = url.toString();
      return {
        status: response.statusCode,
        url: finalUrl,
        headers: flat,
        contentType,
        body: bytes,
        text: () => bytes.toString('utf8'),
        json: () => {
          try {
            return JSON.parse(bytes.toString('utf8')) as unknown;
          } catch (error) {
            throw new OutboundError('content_type', `${new URL(finalUrl).hostname} answered with invalid JSON`, {
              cause: error,
            });
          }
        },
      };
    }
  }

  private async send(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: string | Uint8Array | undefined,
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<Dispatcher.ResponseData> {
    try {
      return await this.agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: method as Dispatcher.HttpMethod,
        headers,
        body: body ?? null,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (error) {
      throw this.translate(error, url);
    }
  }

  private async readCapped(
    stream: Dispatcher.ResponseData['body'],
    contentLength: string | undefined,
    maxBytes: number,
    url: URL,
    timeoutMs: number,
  ): Promise<Buffer> {
    const tooLarge = () => new OutboundError('too_large', `${url.hostname} sent more than ${maxBytes} bytes`);
    if (contentLength !== undefined && Number(contentLength) > maxBytes) {
      stream.destroy();
      throw tooLarge();
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of stream) {
        total += (chunk as Buffer).length;
        if (total > maxBytes) {
          stream.destroy();
          throw tooLarge();
        }
        chunks.push(chunk as Buffer);
      }
    } catch (error) {
      if (error instanceof OutboundError) throw error;
      throw this.translate(error, url, timeoutMs);
    }
    return Buffer.concat(chunks, total);
  }

  private translate(error: unknown, url: URL, timeoutMs?: number): OutboundError {
    if (error instanceof OutboundError) return error;
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof OutboundError) return cause;
    const name = (error as { name?: string }).name;
    if (
      name === 'TimeoutError' ||
      name === 'AbortError' ||
      error instanceof undiciErrors.HeadersTimeoutError ||
      error instanceof undiciErrors.BodyTimeoutError ||
      error instanceof undiciErrors.ConnectTimeoutError
    ) {
      return new OutboundError('timeout', `${url.hostname} did not answer in time${timeoutMs ? ` (${timeoutMs} ms)` : ''}`, {
        cause: error,
      });
    }
    return new OutboundError('connect_failed', `could not fetch from ${url.hostname}`, { cause: error });
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    await this.agent.close();
  }
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
