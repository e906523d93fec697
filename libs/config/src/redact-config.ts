import { FIELD_INDEX } from './config-fields';
import type { WalletConfig } from './config.schema';

/** What a secret setting's value is replaced with by {@link redactConfig}. */
export const REDACTED = '[redacted]';

/**
 * A deep copy of the configuration, safe to log: every secret setting is
 * replaced by `"[redacted]"` when set and by `null` when unset, so the log
 * still shows whether it was configured.
 */
export function redactConfig(config: WalletConfig): Record<string, unknown> {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const field of FIELD_INDEX.fields) {
    if (!field.secret) continue;
    const dot = field.path.lastIndexOf('.');
    let node: Record<string, unknown> | undefined = copy;
    for (const key of dot === -1 ? [] : field.path.slice(0, dot).split('.')) {
      const next: unknown = node[key];
      node = typeof next === 'object' && next !== null ? (next as Record<string, unknown>) : undefined;
      if (!node) break;
    }
    if (!node) continue;
    const last = field.path.slice(dot + 1);
    node[last] = node[last] === undefined || node[last] === null ? null : REDACTED;
  }
  return copy;
}
