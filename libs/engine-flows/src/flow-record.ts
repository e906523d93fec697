import {
  zFlowProtocol,
  zFlowStatus,
  type FlowProtocol,
  type FlowStatus,
  type FlowSummary,
  type QuestionMessage,
  type ServerMessageOf,
} from '@wallet/engine-protocol';
import { z } from 'zod';

/**
 * A flow as the shared cache holds it: everything a replica needs to continue
 * it, so process memory holds only sockets. Steps append to a journal
 * (`stages`: results of completed steps; `questions`: what the client was
 * asked and what it answered); re-running the flow function over the journal
 * brings it back to where it stopped (see `FlowRunner`).
 */
export interface FlowRecord {
  v: 1;
  id: string;
  tenantId: string;
  userId: string;
  protocol: FlowProtocol;
  /** The `flow_start` parameters (or an action's), as validated then. */
  params: unknown;
  status: FlowStatus;
  createdAt: number;
  updatedAt: number;
  /** The flow fails with `expired` after this (extended while issuance is deferred). */
  expiresAt: number;
  /** The replica running the flow function now, until when. */
  lease: { owner: string; until: number } | null;
  /** Counter of questions asked, for their message ids. */
  seq: number;
  /** Results of completed steps, by step name. */
  stages: Record<string, unknown>;
  /** Questions by key. */
  questions: Record<string, FlowQuestion>;
  /** The key of the question the flow waits for, if any. */
  waiting: string | null;
  /** When a deferred flow should next be polled. */
  due: number | null;
  result: FlowResultFrame | null;
  /** Client-initiated follow-ups (notifications) run after the main result, in order. */
  actions: FlowAction[];
}

/** What a new flow's record starts as: running, with an empty journal; `now` is its creation time. */
export function newFlowRecord(
  init: Pick<FlowRecord, 'id' | 'tenantId' | 'userId' | 'protocol' | 'params'> & { now: number; lifetimeMs: number },
): FlowRecord {
  return {
    v: 1,
    id: init.id,
    tenantId: init.tenantId,
    userId: init.userId,
    protocol: init.protocol,
    params: init.params,
    status: 'running',
    createdAt: init.now,
    updatedAt: init.now,
    expiresAt: init.now + init.lifetimeMs,
    lease: null,
    seq: 0,
    stages: {},
    questions: {},
    waiting: null,
    due: null,
    result: null,
    actions: [],
  };
}

export interface FlowQuestion {
  messageId: string;
  frame: QuestionMessage;
  /** Epoch ms after which an answer is refused and the flow fails with `timeout`. */
  deadline: number;
  answer?: unknown;
}

export interface FlowAction {
  id: string;
  kind: 'notification';
  params: unknown;
  /** The client message id to echo in the answer. */
  messageId?: string;
  done: boolean;
}

export type FlowResultFrame = ServerMessageOf<'flow_complete'> | ServerMessageOf<'flow_error'>;

const zRecord = z.object({
  v: z.literal(1),
  id: z.string(),
  tenantId: z.string(),
  userId: z.string(),
  protocol: zFlowProtocol,
  params: z.unknown(),
  status: zFlowStatus,
  createdAt: z.number(),
  updatedAt: z.number(),
  expiresAt: z.number(),
  lease: z.object({ owner: z.string(), until: z.number() }).nullable(),
  seq: z.number(),
  stages: z.record(z.string(), z.unknown()),
  questions: z.record(z.string(), z.object({ messageId: z.string(), frame: z.any(), deadline: z.number(), answer: z.unknown().optional() })),
  waiting: z.string().nullable(),
  due: z.number().nullable(),
  result: z.any().nullable(),
  actions: z.array(z.object({ id: z.string(), kind: z.literal('notification'), params: z.unknown(), messageId: z.string().optional(), done: z.boolean() })),
});

/** Reads a stored record; null when the value is not one (a corrupt entry is treated as gone, never a crash). */
export function parseFlowRecord(raw: string): FlowRecord | null {
  try {
    const parsed = zRecord.safeParse(JSON.parse(raw));
    return parsed.success ? (parsed.data as FlowRecord) : null;
  } catch {
    return null;
  }
}

/** True once the flow has its final answer. */
export function isFinished(record: FlowRecord): boolean {
  return record.status === 'complete' || record.status === 'failed';
}

export function flowSummary(record: FlowRecord): FlowSummary {
  return {
    flow_id: record.id,
    protocol: record.protocol,
    status: record.status,
    updated_at: new Date(record.updatedAt).toISOString(),
  };
}
