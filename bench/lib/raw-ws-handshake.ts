/**
 * A lean WebSocket client for timing handshakes on a 2-core machine, where
 * the client shares the CPU with the server it measures (like
 * `raw-http-load.ts` for HTTP). Per connection it opens a TCP socket, writes
 * a fixed HTTP upgrade request, waits for `101`, writes one pre-built masked
 * text frame (the engine's `handshake`), reads one text frame back, and then
 * closes as a browser does (close frame 1000; the server ends the TCP
 * connection). It does
 * not validate `Sec-WebSocket-Accept`, and uses an all-zero mask (allowed by
 * RFC 6455; the server unmasks either way), so frames are serialized before
 * the clock starts. Used for timed phases only; `ws` drives everything else.
 */
import { connect } from 'node:net';

/** A client-to-server text frame: FIN + text opcode, masked with a zero key. */
export function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const length = payload.length;
  let head: Buffer;
  if (length < 126) {
    head = Buffer.from([0x81, 0x80 | length]);
  } else if (length < 65_536) {
    head = Buffer.alloc(4);
    head[0] = 0x81;
    head[1] = 0x80 | 126;
    head.writeUInt16BE(length, 2);
  } else {
    throw new RangeError('frames over 64 KiB are not needed here');
  }
  return Buffer.concat([head, Buffer.alloc(4), payload]);
}

/** Close frame, code 1000, masked with a zero key. */
export const CLOSE_FRAME = Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
export const HEADER_END = Buffer.from('\r\n\r\n');

export function upgradeRequest(url: URL): Buffer {
  const lines = [
    `GET ${url.pathname}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    // A fixed key: the server only echoes its hash, which this client does not check.
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  ];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** One whole server frame off the front of `buffered` (servers do not mask), or null while incomplete. */
export function readFrame(buffered: Buffer): { opcode: number; payload: Buffer; size: number } | null {
  if (buffered.length < 2) return null;
  let length = buffered[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffered.length < 4) return null;
    length = buffered.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffered.length < 10) return null;
    length = Number(buffered.readBigUInt64BE(2));
    offset = 10;
  }
  if (buffered.length < offset + length) return null;
  return { opcode: buffered[0]! & 0x0f, payload: buffered.subarray(offset, offset + length), size: offset + length };
}

/**
 * The first text frame's text, skipping pings and pongs (the server's
 * keep-alive ping can reach a connection mid-handshake); a close frame is an
 * error naming its code and reason.
 */
function readTextFrame(buffered: Buffer): { text: string } | { closed: string } | null {
  let at = 0;
  for (;;) {
    const frame = readFrame(buffered.subarray(at));
    if (!frame) return null;
    at += frame.size;
    if (frame.opcode === 0x1) return { text: frame.payload.toString('utf8') };
    if (frame.opcode === 0x8) {
      const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
      return { closed: `closed by the server: ${code} ${frame.payload.toString('utf8', 2)}` };
    }
  }
}

export interface HandshakeOutcome {
  /** The first text frame the server answered with. */
  text: string;
  /** Milliseconds from connect to that frame. */
  ms: number;
}

/** One connect + upgrade + handshake frame + first answer, then a clean close. */
export function handshakeOnce(url: URL, upgrade: Buffer, frame: Buffer): Promise<HandshakeOutcome> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    socket.write(upgrade);
    let buffered: Buffer = Buffer.alloc(0);
    let upgraded = false;
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(error);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('the server closed the connection before answering')));
    socket.on('data', (chunk: Buffer) => {
      if (settled) return;
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (!upgraded) {
        const end = buffered.indexOf(HEADER_END);
        if (end < 0) return;
        const status = buffered.toString('latin1', 0, 12);
        if (status !== 'HTTP/1.1 101') return fail(new Error(`upgrade refused: ${buffered.toString('latin1', 0, end).split('\r\n', 1)[0]}`));
        upgraded = true;
        buffered = buffered.subarray(end + HEADER_END.length);
        socket.write(frame);
      }
      const read = readTextFrame(buffered);
      if (!read) return;
      if ('closed' in read) return fail(new Error(read.closed));
      settled = true;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      socket.removeAllListeners('data');
      socket.removeAllListeners('close');
      // As a browser closes: the close frame, then the server answers with its own
      // and ends the TCP connection (this socket ends too: no half-open).
      const linger = setTimeout(() => socket.destroy(), 5_000);
      socket.on('data', () => undefined);
      socket.on('close', () => clearTimeout(linger));
      socket.write(CLOSE_FRAME);
      resolve({ text: read.text, ms });
    });
  });
}

/** An error's code and message (connect errors may come as an AggregateError with an empty message). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  const inner = error instanceof AggregateError ? ` [${error.errors.map((e: unknown) => describe(e)).join('; ')}]` : '';
  return `${error.name}${code ? ` ${code}` : ''}: ${error.message}${inner}`;
}

export interface HandshakeLoadResult {
  /** The first frame's text per handshake, in completion order (only its start is kept). */
  answers: string[];
  /** Milliseconds per handshake, in completion order. */
  latencies: number[];
  failures: string[];
  seconds: number;
}

/**
 * Runs one handshake per frame of `frames`, `concurrency` at a time, each on
 * a fresh connection closed cleanly after the answer.
 */
export async function runHandshakeLoad(wsUrl: string, frames: Buffer[], concurrency: number): Promise<HandshakeLoadResult> {
  const url = new URL(wsUrl.replace(/^ws/, 'http'));
  const upgrade = upgradeRequest(url);
  const answers: string[] = [];
  const latencies: number[] = [];
  const failures: string[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, frames.length) }, async () => {
      while (next < frames.length) {
        const frame = frames[next++]!;
        try {
          const outcome = await handshakeOnce(url, upgrade, frame);
          answers.push(outcome.text.slice(0, 40));
          latencies.push(outcome.ms);
        } catch (error) {
          failures.push(describe(error));
        }
      }
    }),
  );
  return { answers, latencies, failures, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}
