/**
 * The floor for `bench/engine.bench.ts --phases floor`: what one Node process
 * costs per handshake frame when it does only the work that no engine can
 * skip, with nothing of ours in the way. In a process of its own (so the
 * bench reads its CPU apart), for each `handshake` frame: `JSON.parse`, the
 * token split and its header and claims decoded, the ES256 signature checked
 * against auth's published key on libuv's thread pool (as the engine does),
 * the claims looked at, and a `handshake_ok` of the engine's size sent. No
 * limits, no validation beyond that, no per-connection state: not a server
 * to run, a measuring stick. Two transports:
 *
 *  - `net`: raw `node:net` sockets with just enough WebSocket for the bench's
 *    clients (the upgrade with its accept key; single, masked text frames in;
 *    unmasked text frames out, one write each; a close frame answered by
 *    ending the socket): Node itself;
 *  - `ws`: `node:http` and `ws`, configured as the engine's gateway configures
 *    them: what the engine's transport costs before any engine code.
 *
 * Started by the bench over IPC (`node tools/scripts/run-ts.mjs
 * bench/lib/bare-ws-server.ts`); it answers the messages below.
 */
import { engineCapabilities } from '@wallet/engine-flows';
import { ENGINE_PROTOCOL_VERSION } from '@wallet/engine-protocol';
import { createHash, createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData } from 'ws';

/** Bench → server. */
export type BareRequest = { type: 'start'; transport: BareTransport; jwks: { keys: JsonWebKey[] } } | { type: 'connections' };
/** `net`: raw sockets; `ws`: `node:http` and `ws`, as the engine's gateway. */
export type BareTransport = 'net' | 'ws';
/** Server → bench. */
export type BareMessage = { type: 'ready'; port: number } | { type: 'connections'; open: number };

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const CAPABILITIES = engineCapabilities();
const LIMITS = { max_frame_bytes: 1_048_576, messages_per_second: 20, flow_starts_per_minute: 20, max_concurrent_flows: 5 };

function textFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const head = payload.length < 126 ? Buffer.from([0x81, payload.length]) : Buffer.from([0x81, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, payload]);
}

/**
 * The work of one handshake frame: parse, decode the token, check its
 * signature on libuv's pool, answer with a `handshake_ok` (or refuse).
 */
function handshake(keys: Map<string, KeyObject>, text: string, reply: (text: string) => void, refuse: () => void): void {
  const message = JSON.parse(text) as { token: string; message_id?: string };
  const [headerPart = '', claimsPart = '', signaturePart = ''] = message.token.split('.');
  const header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8')) as { kid?: string; alg?: string };
  const claims = JSON.parse(Buffer.from(claimsPart, 'base64url').toString('utf8')) as { sub: string; tenant: string; exp: number };
  const key = header.kid ? keys.get(header.kid) : undefined;
  if (!key || header.alg !== 'ES256') return refuse();
  verify('sha256', Buffer.from(`${headerPart}.${claimsPart}`, 'latin1'), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signaturePart, 'base64url'), (error, valid) => {
    if (error || !valid || claims.exp * 1000 < Date.now()) return refuse();
    reply(
      JSON.stringify({
        type: 'handshake_ok',
        message_id: message.message_id,
        protocol_version: ENGINE_PROTOCOL_VERSION,
        session: { tenant_id: claims.tenant, user_id: claims.sub, expires_at: new Date(claims.exp * 1000).toISOString() },
        capabilities: CAPABILITIES,
        limits: LIMITS,
        flows: [],
      }),
    );
  });
}

interface Running {
  port: number;
  open(): number;
}

function listening(server: NetServer | HttpServer, open: () => number): Promise<Running> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ port: typeof address === 'object' && address ? address.port : 0, open });
    });
  });
}

/** `net`: raw sockets, just enough RFC 6455 for the bench's clients. */
function serveNet(keys: Map<string, KeyObject>): Promise<Running> {
  let open = 0;
  const onSocket = (socket: Socket) => {
    open++;
    socket.on('close', () => open--);
    socket.on('error', () => undefined);
    let upgraded = false;
    let buffered: Buffer = Buffer.alloc(0);
    const onFrame = (opcode: number, payload: Buffer) => {
      if (opcode === 0x8) return void socket.end(Buffer.from([0x88, 0x00]));
      if (opcode !== 0x1) return;
      handshake(keys, payload.toString('utf8'), (text) => socket.write(textFrame(text)), () => socket.end());
    };
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (!upgraded) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const key = /^sec-websocket-key: *(\S+)/im.exec(buffered.toString('latin1', 0, end))?.[1];
        if (!key) return void socket.destroy();
        const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        upgraded = true;
        buffered = buffered.subarray(end + 4);
      }
      while (buffered.length >= 2) {
        let length = buffered[1]! & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffered.length < 4) return;
          length = buffered.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) return void socket.destroy();
        if (buffered.length < offset + 4 + length) return;
        const mask = buffered.subarray(offset, offset + 4);
        const payload = Buffer.from(buffered.subarray(offset + 4, offset + 4 + length));
        for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
        const opcode = buffered[0]! & 0x0f;
        buffered = buffered.subarray(offset + 4 + length);
        onFrame(opcode, payload);
      }
    });
  };
  return listening(createNetServer(onSocket), () => open);
}

/** `ws`: what the engine's transport is built on, `node:http` and `ws` configured as the gateway configures them, with nothing else. */
function serveWs(keys: Map<string, KeyObject>): Promise<Running> {
  let open = 0;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1_048_576, perMessageDeflate: false, clientTracking: false });
  const server = createHttpServer((_request, response) => response.end());
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) =>
    wss.handleUpgrade(request, socket, head, (ws) => {
      open++;
      ws.on('close', () => open--);
      ws.on('error', () => undefined);
      ws.on('message', (data: RawData) => handshake(keys, (data as Buffer).toString('utf8'), (text) => ws.send(text), () => ws.close()));
    }),
  );
  return listening(server, () => open);
}

let running: Running | null = null;
process.on('message', (request: BareRequest) => {
  void (async () => {
    if (request.type === 'start') {
      const keys = new Map(request.jwks.keys.filter((k) => typeof k['kid'] === 'string').map((k) => [k['kid'] as string, createPublicKey({ key: k, format: 'jwk' })]));
      running = await (request.transport === 'ws' ? serveWs : serveNet)(keys);
      process.send?.({ type: 'ready', port: running.port } satisfies BareMessage);
    } else {
      process.send?.({ type: 'connections', open: running?.open() ?? 0 } satisfies BareMessage);
    }
  })();
});
process.on('disconnect', () => process.exit(0));
