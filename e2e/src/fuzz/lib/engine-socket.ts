import WebSocket from 'ws';

/** One frame from the engine, as received. */
export interface ReceivedFrame {
  at: number;
  text: string;
  binary: boolean;
  /** The parsed JSON, or undefined when the text is not JSON. */
  json: unknown;
}

/** How a connection attempt ended when it did not open: the HTTP answer to the upgrade, or a network error. */
export interface Refusal {
  status: number;
  body: string;
  error?: string;
}

/**
 * A `ws` client that records everything the engine sends (frames, close code)
 * and can send what a well-behaved client never would: binary frames, text
 * frames that are not UTF-8, and messages split into fragments.
 */
export class FuzzSocket {
  readonly frames: ReceivedFrame[] = [];
  closed: { code: number; reason: string; at: number } | null = null;
  /** True once the fuzzer itself started the close (its code is then not the engine's). */
  closedByUs = false;
  /** Called with every frame as it arrives (after it is recorded). */
  listener: ((frame: ReceivedFrame) => void) | null = null;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      const text = buffer.toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const frame = { at: Date.now(), text, binary: isBinary, json };
      this.frames.push(frame);
      this.listener?.(frame);
      this.wake();
    });
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString('utf8'), at: Date.now() };
      this.wake();
    });
    // Errors (a reset, a frame the client library refuses) end in 'close' too; nothing to do here.
    socket.on('error', () => undefined);
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Opens a connection; resolves with the socket, or with the refusal when the upgrade was answered otherwise. */
  static open(url: string, headers: Record<string, string>, timeoutMs = 10_000): Promise<FuzzSocket | Refusal> {
    return new Promise((resolve) => {
      const socket = new WebSocket(url, { headers, handshakeTimeout: timeoutMs, perMessageDeflate: false });
      const fuzz = new FuzzSocket(socket);
      let settled = false;
      const settle = (value: FuzzSocket | Refusal) => {
        if (settled) return;
        settled = true;
        resolve(value);
      };
      socket.once('open', () => settle(fuzz));
      socket.once('unexpected-response', (_request, response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => settle({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', () => settle({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      socket.once('error', (error) => settle({ status: 0, body: '', error: error.message }));
    });
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** Sends a text frame (a string), or raw bytes with the text opcode (not necessarily UTF-8), or a binary frame. */
  send(data: string | Buffer, binary = false): void {
    if (!this.open) return;
    this.socket.send(data, { binary, fin: true });
  }

  /** Sends one text message as several frames (the first with the text opcode, then continuations). */
  sendFragments(parts: string[]): void {
    if (!this.open) return;
    parts.forEach((part, index) => this.socket.send(part, { binary: false, fin: index === parts.length - 1 }));
  }

  /** Waits until `done()` holds, the connection closes, or the time is up; true when `done()` held. */
  async until(done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return true;
    if (this.closed) return false;
    return new Promise((resolve) => {
      const finish = (value: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(value);
      };
      const check = () => {
        if (done()) finish(true);
        else if (this.closed) finish(false);
      };
      const timer = setTimeout(() => finish(done()), timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Closes from our side (normal closure) and waits briefly for the close to complete. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closedByUs = true;
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(1000);
    const done = await this.until(() => this.closed !== null, 1000);
    if (!done) this.socket.terminate();
  }
}
