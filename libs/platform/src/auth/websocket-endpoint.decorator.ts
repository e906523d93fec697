import { SetMetadata } from '@nestjs/common';

/** Metadata key naming the WebSocket path a provider serves (outside Nest's gateway mechanism). */
export const WEBSOCKET_ENDPOINT = 'wallet:websocket_endpoint';

/**
 * Marks a provider that serves WebSocket upgrades on `path` itself. Such
 * endpoints authenticate in their own protocol (the engine: an access token
 * in the first frame); the route walk lists them with how they do.
 */
export const WebSocketEndpoint = (path: string): ClassDecorator => SetMetadata(WEBSOCKET_ENDPOINT, path);
