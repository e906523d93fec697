import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ApiError, type AdminClient } from './admin-client';

/**
 * `apply -f tenants.yaml`: brings the server to the state the file describes.
 * Tenants, and the issuers and verifiers listed under them, are created or
 * updated field by field; with `prune`, issuers and verifiers of listed
 * tenants that the file does not name are deleted, and so are tenants the
 * file does not name (never `default`; a tenant that still has users is
 * refused by the server and reported). A second run changes nothing.
 *
 * Issuer private keys are write-only, so they cannot be compared: a key from
 * `client_private_key_file` is set when the issuer is created or has none,
 * and left alone otherwise (rotate it with `issuer update --private-key-file`).
 */

const zId = z.string().min(1).max(200);
const zIssuerEntry = z.strictObject({
  id: zId,
  credential_issuer_identifier: z.string().min(1),
  client_id: z.string().min(1).nullable().optional(),
  visible: z.boolean().optional(),
  client_private_key_file: z.string().min(1).optional(),
});
const zVerifierEntry = z.strictObject({ id: zId, name: z.string().min(1), url: z.string().min(1) });
const zTenantEntry = z.strictObject({
  id: z.string().min(1).max(63),
  display_name: z.string().min(1),
  enabled: z.boolean().optional(),
  require_invite: z.boolean().optional(),
  trust_config: z.strictObject({ pdp_url: z.string().min(1).nullable().optional() }).optional(),
  allowed_protocols: z.array(z.string()).optional(),
  issuers: z.array(zIssuerEntry).optional(),
  verifiers: z.array(zVerifierEntry).optional(),
});
export const zApplyFile = z.strictObject({ tenants: z.array(zTenantEntry) }).refine(
  (file) => new Set(file.tenants.map((t) => t.id)).size === file.tenants.length,
  'tenant ids must be unique',
);
export type ApplyFile = z.infer<typeof zApplyFile>;

export interface Change {
  action: 'create' | 'update' | 'delete';
  resource: 'tenant' | 'issuer' | 'verifier';
  id: string;
  tenant?: string;
  fields?: string[];
}

/** Thrown for a file that cannot be read or does not match the format (exit code 2). */
export class ApplyFileError extends Error {
  override readonly name = 'ApplyFileError';
}

export function readApplyFile(path: string): { file: ApplyFile; baseDir: string } {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ApplyFileError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = zApplyFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApplyFileError(`${path}: /${issue?.path.join('/') ?? ''} ${issue?.message ?? 'invalid'}`);
  }
  return { file: parsed.data, baseDir: dirname(resolve(path)) };
}

type Remote = Record<string, unknown> & { id: string };

/** The fields of `desired` whose value differs from `current` (deep, JSON equality). */
function changedFields(desired: Record<string, unknown>, current: Record<string, unknown>): string[] {
  return Object.keys(desired).filter(
    (key) => desired[key] !== undefined && JSON.stringify(desired[key]) !== JSON.stringify(current[key]),
  );
}

const pick = (value: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, value[k]]));

async function getOrNull(client: AdminClient, path: string): Promise<Remote | null> {
  try {
    return await client.call<Remote>('GET', path);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export async function applyFile(
  client: AdminClient,
  { file, baseDir }: { file: ApplyFile; baseDir: string },
  prune: boolean,
): Promise<Change[]> {
  const changes: Change[] = [];
  const readKey = (path: string) => {
    try {
      return readFileSync(resolve(baseDir, path), 'utf8').trim();
    } catch {
      throw new ApplyFileError(`cannot read private key file ${path}`);
    }
  };
  for (const entry of file.tenants) {
    const { issuers, verifiers, ...tenant } = entry;
    const desired: Record<string, unknown> = {
      display_name: tenant.display_name,
      enabled: tenant.enabled,
      require_invite: tenant.require_invite,
      allowed_protocols: tenant.allowed_protocols,
      trust_config: tenant.trust_config ? { pdp_url: tenant.trust_config.pdp_url ?? null } : undefined,
    };
    const t = encodeURIComponent(tenant.id);
    const current = await getOrNull(client, `/admin/tenants/${t}`);
    if (!current) {
      await client.call('POST', '/admin/tenants', stripUndefined({ id: tenant.id, ...desired }));
      changes.push({ action: 'create', resource: 'tenant', id: tenant.id });
    } else {
      const fields = changedFields(desired, current);
      if (fields.length > 0) {
        await client.call('PATCH', `/admin/tenants/${t}`, pick(desired, fields));
        changes.push({ action: 'update', resource: 'tenant', id: tenant.id, fields });
      }
    }

    if (issuers) {
      const existing = new Map((await client.listAll<Remote>(`/admin/tenants/${t}/issuers`)).map((i) => [i.id, i]));
      for (const issuer of issuers) {
        const want: Record<string, unknown> = {
          credential_issuer_identifier: issuer.credential_issuer_identifier,
          client_id: issuer.client_id,
          visible: issuer.visible,
        };
        const have = existing.get(issuer.id);
        existing.delete(issuer.id);
        const key = issuer.client_private_key_file ? readKey(issuer.client_private_key_file) : undefined;
        if (!have) {
          await client.call('POST', `/admin/tenants/${t}/issuers`, stripUndefined({ id: issuer.id, ...want, client_private_key: key }));
          changes.push({ action: 'create', resource: 'issuer', tenant: tenant.id, id: issuer.id });
          continue;
        }
        const fields = changedFields(want, have);
        const patch = pick(want, fields);
        if (key !== undefined && have['client_private_key_set'] !== true) {
          patch['client_private_key'] = key;
          fields.push('client_private_key');
        }
        if (fields.length > 0) {
          await client.call('PATCH', `/admin/tenants/${t}/issuers/${encodeURIComponent(issuer.id)}`, patch);
          changes.push({ action: 'update', resource: 'issuer', tenant: tenant.id, id: issuer.id, fields });
        }
      }
      if (prune) {
        for (const id of existing.keys()) {
          await client.call('DELETE', `/admin/tenants/${t}/issuers/${encodeURIComponent(id)}`);
          changes.push({ action: 'delete', resource: 'issuer', tenant: tenant.id, id });
        }
      }
    }

    if (verifiers) {
      const existing = new Map((await client.listAll<Remote>(`/admin/tenants/${t}/verifiers`)).map((v) => [v.id, v]));
      for (const verifier of verifiers) {
        const want = { name: verifier.name, url: verifier.url };
        const have = existing.get(verifier.id);
        existing.delete(verifier.id);
        if (!have) {
          await client.call('POST', `/admin/tenants/${t}/verifiers`, { id: verifier.id, ...want });
          changes.push({ action: 'create', resource: 'verifier', tenant: tenant.id, id: verifier.id });
          continue;
        }
        const fields = changedFields(want, have);
        if (fields.length > 0) {
          await client.call('PATCH', `/admin/tenants/${t}/verifiers/${encodeURIComponent(verifier.id)}`, pick(want, fields));
          changes.push({ action: 'update', resource: 'verifier', tenant: tenant.id, id: verifier.id, fields });
        }
      }
      if (prune) {
        for (const id of existing.keys()) {
          await client.call('DELETE', `/admin/tenants/${t}/verifiers/${encodeURIComponent(id)}`);
          changes.push({ action: 'delete', resource: 'verifier', tenant: tenant.id, id });
        }
      }
    }
  }
  if (prune) {
    const listed = new Set(file.tenants.map((t) => t.id));
    for (const tenant of await client.listAll<Remote>('/admin/tenants')) {
      if (listed.has(tenant.id) || tenant.id === 'default') continue;
      await client.call('DELETE', `/admin/tenants/${encodeURIComponent(tenant.id)}`);
      changes.push({ action: 'delete', resource: 'tenant', id: tenant.id });
    }
  }
  return changes;
}

function stripUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
