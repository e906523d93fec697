import { Logger } from '@nestjs/common';
import { WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { RawData, WebSocket } from 'ws';
import { MAX_FRAME_BYTES, parseClientFrame, type EngineErrorMessage } from './wallet-messages';

/**
 * The wallet's WebSocket API v2 at `/api/v2/wallet`. This is the transport:
 * frame limits, JSON parsing and typed `error` answers. The OpenID4VCI and
 * OpenID4VP flows plug in here with the engine issue; until then every message
 * type other than `ping` is answered with `unsupported_message`.
 */
@WebSocketGateway({ path: '/api/v2/wallet', maxPayload: MAX_FRAME_BYTES })
export class WalletGateway implements OnGatewayConnection<WebSocket> {
  private readonly logger = new Logger('engine');

  handleConnection(socket: WebSocket): void {
    socket.on('message', (data: RawData, isBinary: boolean) => this.onMessage(socket, data, isBinary));
    socket.on('error', (error) => this.logger.warn({ msg: 'socket error', error: error.message }));
  }

  private onMessage(socket: WebSocket, data: RawData, isBinary: boolean): void {
    if (isBinary) return send(socket, { type: 'error', code: 'invalid_message', message: 'binary frames are not accepted' });
    const message = parseClientFrame(rawToString(data));
    if (message.type === 'error') return send(socket, message);
    const id = typeof message.id === 'string' ? { id: message.id } : {};
    if (message.type === 'ping') return send(socket, { type: 'pong', ...id });
    send(socket, {
      type: 'error',
      code: 'unsupported_message',
      message: `message type "${message.type.slice(0, 64)}" is not supported`,
      ...id,
    } satisfies EngineErrorMessage);
  }
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

function send(socket: WebSocket, message: object): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
}
