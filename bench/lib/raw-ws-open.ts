/**
 * Handshakes on WebSocket connections that are already open, for timing the
 * engine's `handshake` itself apart from connecting, upgrading and closing
 * (which `raw-ws-handshake.ts` times together with it). Lean like that
 * client: raw TCP sockets, a fixed upgrade request, frames built before the
 * clock, an all-zero mask. Each connection answers the server's pings (so
 * the keep-alive round does not close it) and hands its text frames to
 * whoever waits for the next one.
 */
import { connect, type Socket } from 'node:net';
import { CLOSE_FRAME, HEADER_END, readFrame, upgradeRequest } from './raw-ws-handshake';

/** A masked (zero key) control frame with `payload` (at most 125 bytes), e.g. the pong to a ping. */
function controlFrame(opcode: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

/** An open, upgraded connection. */
export class OpenConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private waiter: ((result: { text: string } | { error: string }) => void) | null = null;
  /** Why the connection ended, once it has. */
  ended: string | null = null;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.end(`socket error: ${error.message}`));
    socket.on('close', () => this.end('the server closed the connection'));
  }

  private end(reason: string): void {
    this.ended ??= reason;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.({ error: this.ended });
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    for (;;) {
      const frame = readFrame(this.buffered);
      if (!frame) return;
      const { opcode, payload } = frame;
      this.buffered = this.buffered.subarray(frame.size);
      if (opcode === 0x9) {
        this.socket.write(controlFrame(0xa, payload));
      } else if (opcode === 0x8) {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.end(`closed by the server: ${code} ${payload.toString('utf8', 2)}`);
      } else if (opcode === 0x1) {
        const waiter = this.waiter;
        this.waiter = null;
        waiter?.({ text: payload.toString('utf8') });
      }
    }
  }

  /** Writes `frame` and resolves with the next text frame's text; rejects when the connection ends first. */
  exchange(frame: Buffer): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.ended) return reject(new Error(this.ended));
      this.waiter = (result) => ('text' in result ? resolve(result.text) : reject(new Error(result.error)));
      this.socket.write(frame);
    });
  }

  /** Closes as a browser does (close frame; the server ends TCP), or destroys after `lingerMs`. */
  close(lingerMs = 5_000): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      const timer = setTimeout(() => this.socket.destroy(), lingerMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.waiter = null;
      this.socket.write(CLOSE_FRAME);
    });
  }
}


/** Connect + upgrade; resolves once the server answered `101`. */
function openOne(url: URL, upgrade: Buffer, localAddress: string | undefined): Promise<OpenConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true, ...(localAddress ? { localAddress } : {}) });
    let buffered: Buffer = Buffer.alloc(0);
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf(HEADER_END);
      if (end < 0) return;
      socket.off('data', onData);
      socket.off('error', fail);
      socket.off('close', onClose);
      if (buffered.toString('latin1', 0, 12) !== 'HTTP/1.1 101') {
        return fail(new Error(`upgrade refused: ${buffered.toString('latin1', 0, end).split('\r\n', 1)[0]}`));
      }
      const connection = new OpenConnection(socket);
      const rest = buffered.subarray(end + HEADER_END.length);
      if (rest.length) socket.emit('data', rest);
      resolve(connection);
    };
    const onClose = () => fail(new Error('the server closed the connection during the upgrade'));
    socket.on('data', onData);
    socket.on('error', fail);
    socket.on('close', onClose);
    socket.write(upgrade);
  });
}

/**
 * Opens `count` connections to `wsUrl`, `concurrency` at a time, from
 * `localAddress` (another loopback address per round keeps the ephemeral
 * ports of earlier rounds, in TIME_WAIT, out of the way).
 */
export async function openConnections(
  wsUrl: string,
  count: number,
  concurrency: number,
  localAddress?: string,
): Promise<{ connections: OpenConnection[]; failures: string[]; seconds: number }> {
  const url = new URL(wsUrl.replace(/^ws/, 'http'));
  const upgrade = upgradeRequest(url);
  const connections: OpenConnection[] = [];
  const failures: string[] = [];
  let started = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (started < count) {
        started++;
        try {
          connections.push(await openOne(url, upgrade, localAddress));
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
        }
      }
    }),
  );
  return { connections, failures, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

export interface FrameLoadResult {
  /** The answer's first 40 characters per frame, in completion order. */
  answers: string[];
  /** Milliseconds from writing the frame to its answer, in completion order. */
  latencies: number[];
  failures: string[];
  seconds: number;
}

/** Sends `frames[i]` on `connections[i]`, at most `inFlight` unanswered at a time, and collects the answers. */
export async function exchangeFrames(connections: OpenConnection[], frames: Buffer[], inFlight: number): Promise<FrameLoadResult> {
  const answers: string[] = [];
  const latencies: number[] = [];
  const failures: string[] = [];
  const count = Math.min(connections.length, frames.length);
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, count) }, async () => {
      while (next < count) {
        const i = next++;
        const sent = process.hrtime.bigint();
        try {
          const text = await connections[i]!.exchange(frames[i]!);
          latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
          answers.push(text.slice(0, 40));
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
        }
      }
    }),
  );
  return { answers, latencies, failures, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}
