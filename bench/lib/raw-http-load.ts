/**
 * A lean HTTP/1.1 load generator for benches on a 2-core machine, where the
 * client shares the CPU with the server it measures. Requests are serialized
 * before the clock starts and written as bytes to keep-alive sockets, one
 * request in flight per socket; a response is read by its status line and
 * `content-length` (chunked bodies are refused: none of our measured routes
 * sends one). It costs a fraction of undici's CPU per request, so the server,
 * not the client, sets the pace. Used for timed phases only.
 */
import { connect, type Socket } from 'node:net';

export interface RawRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface RawLoadResult {
  statuses: number[];
  /** Milliseconds per request, in completion order. */
  latencies: number[];
  seconds: number;
}

/** Serializes a request for `origin` (http only) into the bytes sent on the wire. */
export function serializeRequest(origin: string, request: RawRequest): Buffer {
  const url = new URL(origin);
  const body = request.body === undefined ? undefined : Buffer.from(request.body, 'utf8');
  const lines = [`${request.method} ${request.path} HTTP/1.1`, `host: ${url.host}`, 'connection: keep-alive'];
  for (const [name, value] of Object.entries(request.headers ?? {})) lines.push(`${name}: ${value}`);
  if (body) lines.push(`content-length: ${body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return body ? Buffer.concat([head, body]) : head;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** Reads one response at a time off a socket; resolves with its status code. */
class ResponseReader {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (status: number) => void; reject: (error: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      this.drain();
    });
    const fail = (error: Error) => {
      this.failure = error;
      this.waiting?.reject(error);
      this.waiting = null;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('the server closed the connection')));
  }

  next(): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.drain();
    });
  }

  private drain(): void {
    if (!this.waiting) return;
    const end = this.buffered.indexOf(HEADER_END);
    if (end < 0) return;
    const head = this.buffered.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const lengthMatch = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!lengthMatch) {
      this.waiting.reject(new Error(`response without content-length: ${head.split('\r\n', 1)[0]}`));
      this.waiting = null;
      return;
    }
    const total = end + HEADER_END.length + Number(lengthMatch[1]);
    if (this.buffered.length < total) return;
    this.buffered = this.buffered.subarray(total);
    const { resolve } = this.waiting;
    this.waiting = null;
    resolve(status);
  }
}

/** Sends every request over `connections` keep-alive sockets and waits for every response. */
export async function runRawLoad(origin: string, requests: readonly Buffer[], connections: number): Promise<RawLoadResult> {
  const url = new URL(origin);
  const sockets = await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true }, () => resolve(socket));
          socket.once('error', reject);
        }),
    ),
  );
  const statuses: number[] = [];
  const latencies: number[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  try {
    await Promise.all(
      sockets.map(async (socket) => {
        const reader = new ResponseReader(socket);
        while (next < requests.length) {
          const request = requests[next++]!;
          const t0 = process.hrtime.bigint();
          socket.write(request);
          statuses.push(await reader.next());
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
      }),
    );
  } finally {
    for (const socket of sockets) socket.destroy();
  }
  return { statuses, latencies, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}
