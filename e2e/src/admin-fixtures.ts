import { startBuiltApp, type ServiceProcess } from '@wallet/testing';
import Database from 'better-sqlite3';
import { join } from 'node:path';

/**
 * Shared by the end-to-end suites that drive the admin API beside auth,
 * storage and the engine (suspension, removal, tenant disabling and erasure):
 * one built all-in-one per suite, a JSON call, and the store's SQLite file
 * read table by table.
 */

export interface JsonAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | null;
}

/** One request with a bearer token and an optional JSON body; the status, headers and parsed body. */
export async function jsonCall(base: string, token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonAnswer> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : null) as Record<string, unknown> | null };
}

export interface AdminApp {
  readonly app: ServiceProcess;
  /** The wallet port (auth, storage, engine). */
  readonly wallet: string;
  /** The admin port. */
  readonly admin: string;
}

/**
 * Starts the built all-in-one with `adminToken` before the suite and stops it after; read the fields once the suite runs.
 * `env`, called first, adds settings (and may start what they point at, such as a test issuer and PDP).
 */
export function useAllInOneWithAdmin(adminToken: string, env?: () => Promise<Record<string, string>>): AdminApp {
  let app: ServiceProcess | undefined;
  beforeAll(async () => {
    app = await startBuiltApp('all-in-one', { ...(env ? await env() : {}), WALLET_SERVER_ADMIN_TOKEN: adminToken });
  });
  afterAll(async () => {
    await app?.stop('SIGTERM');
  });
  const started = (): ServiceProcess => {
    if (!app) throw new Error('the all-in-one has not started yet');
    return app;
  };
  return {
    get app() {
      return started();
    },
    get wallet() {
      return started().servers.get('wallet')!;
    },
    get admin() {
      return started().servers.get('admin')!;
    },
  };
}

/** Per table of the store's SQLite file in `dataDir`: how many rows mention `needle` (compared as JSON text). */
export function rowsMentioning(dataDir: string, needle: string): Record<string, number> {
  const db = new Database(join(dataDir, 'wallet.db'), { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>;
    const found: Record<string, number> = {};
    for (const { name } of tables) {
      const rows = db.prepare(`SELECT * FROM "${name}"`).all() as unknown[];
      found[name] = rows.filter((row) => JSON.stringify(row).includes(needle)).length;
    }
    return found;
  } finally {
    db.close();
  }
}

/** The tables holding a row that mentions `needle`, and how many; the audit log, which keeps who did what, left out. */
export const rowsOutsideAudit = (dataDir: string, needle: string): Record<string, number> =>
  Object.fromEntries(Object.entries(rowsMentioning(dataDir, needle)).filter(([table, count]) => count > 0 && table !== 'audit_events'));
