import type { LookupAddress, LookupOptions } from 'node:dns';
import { Agent, fetch as undiciFetch } from 'undici';
import WebSocket from 'ws';

/**
 * Clients of the local cluster, as they would be on the internet: they call
 * the Ingress hosts (`wallet.localhost`, `verifier.localhost`) through nginx
 * only. Each client has a loopback address of its own (127.0.0.2, ...), so
 * the services see distinct client addresses (rate limits) through the
 * trusted proxy. Host names never go to DNS: `localhost` and `*.localhost`
 * map to 127.0.0.1 here (as browsers do), anything else is refused.
 */

export const UPSTREAM_HEADER = 'x-wallet-upstream';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net/http/undici/ws: `*.localhost` is 127.0.0.1, other names are refused (never DNS). */
export function loopbackLookup(hostname: string, options: LookupOptions | number | LookupCallback, callback?: LookupCallback): void {
  const done = (typeof options === 'function' ? options : callback)!;
  const all = typeof options === 'object' && options !== null && options.all === true;
  if (hostname !== 'localhost' && !hostname.endsWith('.localhost') && hostname !== '127.0.0.1') {
    const error = Object.assign(new Error(`${hostname}: the cluster's clients resolve only *.localhost (to 127.0.0.1)`), { code: 'ENOTFOUND' });
    process.nextTick(() => done(error, all ? [] : ''));
    return;
  }
  process.nextTick(() => (all ? done(null, [{ address: '127.0.0.1', family: 4 }]) : done(null, '127.0.0.1', 4)));
}

export interface ProxiedAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The replica (or replicas, when nginx retried) that answered: `127.0.0.1:18411`. */
  upstream: string;
  json<T = Record<string, unknown>>(): T;
}

/** The `fetch` the wallet-client libraries take. */
export type ClientFetch = (url: string, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<Response>;

export class ClusterClient {
  readonly agent: Agent;
  /** Replicas seen in answers (X-Wallet-Upstream), in order. */
  readonly upstreams: string[] = [];

  /** `address`: the client's own loopback address (127.0.0.2 and up; 127.0.0.1 is the proxy's). */
  constructor(readonly address = '127.0.0.2') {
    this.agent = new Agent({ localAddress: address, connect: { lookup: loopbackLookup }, keepAliveTimeout: 4_000 });
  }

  /** For AuthClient, VaultClient, PasskeyTestClient: fetch through this client's address. */
  readonly fetch: ClientFetch = async (url, init) => {
    const response = await undiciFetch(url, { ...init, dispatcher: this.agent });
    const upstream = response.headers.get(UPSTREAM_HEADER);
    if (upstream) this.upstreams.push(upstream);
    return response as unknown as Response;
  };

  async request(method: string, url: string, init: { headers?: Record<string, string>; body?: string; json?: unknown } = {}): Promise<ProxiedAnswer> {
    const headers: Record<string, string> = { ...init.headers };
    let body = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers['content-type'] ??= 'application/json';
    }
    const response = await this.fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      text,
      upstream: response.headers.get(UPSTREAM_HEADER) ?? '',
      json: <T>() => JSON.parse(text) as T,
    };
  }

  get(url: string, headers: Record<string, string> = {}): Promise<ProxiedAnswer> {
    return this.request('GET', url, { headers });
  }

  /**
   * A WebSocket class for EngineClient (`new WebSocket(url)`), connecting
   * from this client's address; `onUpgrade` hears which replica took each
   * connection.
   */
  webSocketClass(onUpgrade: (upstream: string) => void = () => undefined): new (url: string) => WebSocket {
    const { address, upstreams } = this;
    return class ProxiedWebSocket extends WebSocket {
      constructor(url: string) {
        super(url, { lookup: loopbackLookup as never, localAddress: address });
        this.once('upgrade', (response) => {
          const upstream = String(response.headers[UPSTREAM_HEADER] ?? '');
          if (upstream) upstreams.push(upstream);
          onUpgrade(upstream);
        });
      }
    };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** Distinct loopback client addresses: 127.0.0.<first>, 127.0.0.<first + 1>, ... (127.0.0.1 is the proxy's). */
export function clientAddresses(count: number, first = 2): string[] {
  if (first < 2 || first + count > 255) throw new RangeError('client addresses are 127.0.0.2 to 127.0.0.254');
  return Array.from({ length: count }, (_, i) => `127.0.0.${first + i}`);
}
