import { REDACTED } from '@wallet/config';
import { randomBytes } from 'node:crypto';
import type { AuditEvent } from '@wallet/domain';
import { Collections, type Store, type Stored } from '@wallet/persistence';

/** Field names whose values never reach the audit log, at any depth. */
const SECRET_FIELDS = /^(client_?private_?key|private_?data|private_?jwk|code|codes|code_?hash|token|secret|password|.*_secret)$/i;
const MAX_DEPTH = 6;

/** Replaces secret fields with `"[redacted]"` (or `true` for "one is set" fields kept as flags by the caller). */
export function redactForAudit(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return '[truncated]';
  if (Array.isArray(value)) return value.map((item) => redactForAudit(item, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] = SECRET_FIELDS.test(key) ? (inner == null ? inner : REDACTED) : redactForAudit(inner, depth + 1);
    }
    return out;
  }
  return value;
}

export type AuditInput = Omit<AuditEvent, 'id' | 'at' | 'before' | 'after' | 'requestId' | 'resourceId'> & {
  resourceId?: string | null;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  requestId?: string | null;
};

/**
 * Writes audit events. Ids are `<ISO time>~<random>`, so a listing by id is in
 * time order. `before` and `after` are redacted here, whatever the caller passes.
 */
export class AuditLog {
  constructor(
    private readonly store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** `scope` is the tenant the change concerns, or `GLOBAL_SCOPE` for tenant-level changes. */
  async record(scope: string, input: AuditInput): Promise<Stored<AuditEvent>> {
    const at = this.now().toISOString();
    return this.store.repository(Collections.auditEvents).create(scope, {
      id: `${at}~${randomBytes(6).toString('base64url')}`,
      at,
      actorType: input.actorType,
      actorId: input.actorId,
      action: input.action,
      resourceType: input.resourceType,
      resourceId: input.resourceId ?? null,
      before: input.before ? (redactForAudit(input.before) as Record<string, unknown>) : null,
      after: input.after ? (redactForAudit(input.after) as Record<string, unknown>) : null,
      requestId: input.requestId ?? null,
    });
  }
}
