import type { z } from 'zod';
import { zClientMessage, type ClientMessage } from './client-messages';
import type { EngineErrorCode } from './codes';

/** Why a frame was refused: the code, a message for the client, and where in the frame. */
export interface FrameRefusal {
  code: Extract<EngineErrorCode, 'invalid_message' | 'unsupported_message'>;
  message: string;
  path?: string;
  /** The frame's `message_id` / `flow_id` when they could be read, so the error can echo them. */
  message_id?: string;
  flow_id?: string;
}

const CLIENT_TYPES: ReadonlySet<string> = new Set(zClientMessage.options.map((option) => option.shape.type.value));

function pointer(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '' : `/${path.map(String).join('/')}`;
}

function echo(json: Record<string, unknown>): Pick<FrameRefusal, 'message_id' | 'flow_id'> {
  const id = (value: unknown) => (typeof value === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(value) ? value : undefined);
  const out: Pick<FrameRefusal, 'message_id' | 'flow_id'> = {};
  const messageId = id(json['message_id']);
  const flowId = id(json['flow_id']);
  if (messageId) out.message_id = messageId;
  if (flowId) out.flow_id = flowId;
  return out;
}

/** The first issue as a message a developer can act on: the field and what is wrong with it. */
export function describeIssue(issue: z.core.$ZodIssue | undefined): { message: string; path?: string } {
  if (!issue) return { message: 'invalid message' };
  const path = pointer(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return { message: `${path || 'the message'} has unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.slice(0, 5).join(', ')}`, path };
  }
  return { message: path ? `${path}: ${issue.message}` : issue.message, ...(path ? { path } : {}) };
}

/**
 * Parses one text frame into a client message. Never throws: a frame that is
 * not JSON, has no known `type`, or breaks its message's schema comes back as
 * a refusal saying what is wrong (and where), to send as an `error` message.
 */
export function parseClientFrame(raw: string): { ok: true; message: ClientMessage } | { ok: false; refusal: FrameRefusal } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, refusal: { code: 'invalid_message', message: 'the frame is not valid JSON' } };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, refusal: { code: 'invalid_message', message: 'a message must be a JSON object' } };
  }
  const record = json as Record<string, unknown>;
  const type = record['type'];
  if (typeof type !== 'string') {
    return { ok: false, refusal: { code: 'invalid_message', message: 'the message has no "type" string', path: '/type', ...echo(record) } };
  }
  if (!CLIENT_TYPES.has(type)) {
    return {
      ok: false,
      refusal: { code: 'unsupported_message', message: `message type "${type.slice(0, 64)}" is not supported`, path: '/type', ...echo(record) },
    };
  }
  const parsed = zClientMessage.safeParse(json);
  if (!parsed.success) return { ok: false, refusal: { code: 'invalid_message', ...describeIssue(parsed.error.issues[0]), ...echo(record) } };
  return { ok: true, message: parsed.data };
}
