import { z } from 'zod';

/** Largest WebSocket frame the engine accepts. */
export const MAX_FRAME_BYTES = 256 * 1024;

/** Every client message is a JSON object with a `type`; the flow messages arrive with the engine issue. */
export const zClientMessage = z.object({ type: z.string().min(1).max(64), id: z.string().max(128).optional() }).passthrough();
export type ClientMessage = z.infer<typeof zClientMessage>;

export type EngineErrorCode = 'invalid_message' | 'unsupported_message' | 'internal';

/** The typed `error` message the engine sends for anything it cannot handle. */
export interface EngineErrorMessage {
  type: 'error';
  code: EngineErrorCode;
  message: string;
  /** Echoes the client's message id when there was one. */
  id?: string;
}

/** Parses one frame; returns an error message instead of throwing. */
export function parseClientFrame(raw: string): ClientMessage | EngineErrorMessage {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { type: 'error', code: 'invalid_message', message: 'the frame is not valid JSON' };
  }
  const parsed = zClientMessage.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      type: 'error',
      code: 'invalid_message',
      message: `${issue?.path.length ? `/${issue.path.join('/')}: ` : ''}${issue?.message ?? 'invalid message'}`,
    };
  }
  return parsed.data;
}
