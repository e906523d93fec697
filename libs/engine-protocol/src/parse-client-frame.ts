import type { z } from 'zod';
import { zClientMessage, type ClientMessage } from './client-messages';
import type { EngineErrorCode } from './codes';
import { MAX_FRAME_DEPTH, MAX_FRAME_MEMBERS, zFlowId, zMessageId } from './common';

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

/**
 * The frame's `message_id` and `flow_id`, each only when it is well formed:
 * the `error` that echoes them must itself be a valid server message (an
 * echoed `flow_id` of two characters was not).
 */
function echo(json: Record<string, unknown>): Pick<FrameRefusal, 'message_id' | 'flow_id'> {
  const out: Pick<FrameRefusal, 'message_id' | 'flow_id'> = {};
  const messageId = json['message_id'];
  const flowId = json['flow_id'];
  if (typeof messageId === 'string' && zMessageId.safeParse(messageId).success) out.message_id = messageId;
  if (typeof flowId === 'string' && zFlowId.safeParse(flowId).success) out.flow_id = flowId;
  return out;
}

/** What one pass over a frame's text tells, before it is parsed. */
export interface FrameShape {
  /** The deepest nesting of arrays and objects. */
  depth: number;
  /** Object members at any depth (each `:` outside strings). */
  members: number;
  /** The top-level `message_id` and `flow_id`, when the frame is an object and they are well formed (the last one, as `JSON.parse` keeps). */
  ids: Pick<FrameRefusal, 'message_id' | 'flow_id'>;
}

const decodeString = (token: string): unknown => {
  try {
    return JSON.parse(token);
  } catch {
    return undefined;
  }
};

/**
 * One pass over a frame's text, without parsing it (a few milliseconds per
 * MiB): how deep it nests, how many object members it has, and its
 * top-level ids. Brackets, colons and commas inside strings do not count.
 * Meaningful for valid JSON; for other text the counts are estimates and
 * `JSON.parse` refuses it anyway.
 */
export function scanFrame(raw: string): FrameShape {
  let depth = 0;
  let deepest = 0;
  let members = 0;
  /** At depth 1: the string just read, which is a key if a colon follows. */
  let candidate: [number, number] | null = null;
  /** At depth 1: the key whose value comes next ('' for keys other than the ids). */
  let key: 'message_id' | 'flow_id' | '' | null = null;
  const found: { message_id?: unknown; flow_id?: unknown } = {};
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      // To the next quote that is not escaped (an odd run of backslashes escapes it).
      for (;;) {
        const end = raw.indexOf('"', i + 1);
        if (end < 0) {
          i = raw.length;
          break;
        }
        let backslashes = 0;
        while (raw.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes++;
        i = end;
        if (backslashes % 2 === 0) break;
      }
      if (depth !== 1) continue;
      if (key === null) candidate = [start, i + 1];
      else {
        if (key !== '') found[key] = decodeString(raw.slice(start, i + 1));
        key = null;
      }
    } else if (c === 0x3a) {
      members++;
      if (depth === 1 && candidate) {
        // Decoded only when it can be an id's name (most keys are neither, and slicing each one costs).
        const [from, to] = candidate;
        let escaped = false;
        for (let k = from + 1; k < to - 1 && !escaped; k++) escaped = raw.charCodeAt(k) === 0x5c;
        const plain = (to - from === 12 && raw.startsWith('"message_id"', from)) || (to - from === 9 && raw.startsWith('"flow_id"', from));
        const name = plain || escaped ? decodeString(raw.slice(from, to)) : '';
        key = name === 'message_id' || name === 'flow_id' ? name : '';
        // A value that is not a string replaces an earlier one with nothing to echo.
        if (key !== '') found[key] = undefined;
        candidate = null;
      }
    } else if (c === 0x2c) {
      if (depth === 1) candidate = key = null;
    } else if (c === 0x5b || c === 0x7b) {
      if (depth === 1) candidate = key = null;
      if (++depth > deepest) deepest = depth;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  const objectFrame = raw.trimStart().startsWith('{');
  return { depth: deepest, members, ids: objectFrame ? echo(found as Record<string, unknown>) : {} };
}

/**
 * The ids a frame carries, for an error about a frame that is not handled
 * (`rate_limited`): read by {@link scanFrame}, never by parsing the frame,
 * so a refused frame costs no more than a pass over its text.
 */
export function frameIds(raw: string): Pick<FrameRefusal, 'message_id' | 'flow_id'> {
  return scanFrame(raw).ids;
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
 * Parses one text frame into a client message. Never throws: a frame past
 * {@link MAX_FRAME_DEPTH} or {@link MAX_FRAME_MEMBERS} (found before it is
 * parsed), not JSON, with no known `type`, or breaking its message's schema
 * comes back as a refusal saying what is wrong (and where), to send as an
 * `error` message.
 */
export function parseClientFrame(raw: string): { ok: true; message: ClientMessage } | { ok: false; refusal: FrameRefusal } {
  const shape = scanFrame(raw);
  if (shape.depth > MAX_FRAME_DEPTH) {
    return { ok: false, refusal: { code: 'invalid_message', message: `the frame nests arrays and objects more than ${MAX_FRAME_DEPTH} levels deep`, ...shape.ids } };
  }
  if (shape.members > MAX_FRAME_MEMBERS) {
    return { ok: false, refusal: { code: 'invalid_message', message: `the frame has more than ${MAX_FRAME_MEMBERS} object members`, ...shape.ids } };
  }
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
