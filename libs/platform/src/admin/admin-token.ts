import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { WalletConfig } from '@wallet/config';
import { WalletError } from '@wallet/domain';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { WALLET_CONFIG } from '../tokens';

export interface AdminToken {
  readonly token: string;
  /** True when development mode generated the token because none was configured. */
  readonly generated: boolean;
}

let generatedToken: string | null = null;

/**
 * The admin bearer token: `server.adminToken` when set; in development, when
 * unset, the token `useDevelopmentAdminToken` keeps in the data directory, or
 * (before that ran, e.g. in tests) a random 256-bit token generated once per
 * process, so every server of the all-in-one process accepts the same one.
 * Production configuration without a token never loads (see the config
 * rules), and this throws if it ever sees one.
 */
export function resolveAdminToken(config: WalletConfig): AdminToken {
  if (config.server.adminToken) return { token: config.server.adminToken, generated: false };
  if (config.mode === 'production') throw new Error('server.adminToken is required in production');
  generatedToken ??= newToken();
  return { token: generatedToken, generated: true };
}

const newToken = (): string => randomBytes(32).toString('base64url');

/** The file in the data directory that keeps the development admin token. */
export const ADMIN_TOKEN_FILE = 'admin-token';

export interface DevelopmentAdminToken {
  token: string;
  /** Absolute path of the file that keeps it. */
  file: string;
  /** True when this start generated it (it is printed once, then); false when it was read back. */
  created: boolean;
  /** Why it could not be written to `file` (a read-only data directory): then it lasts for this process only. */
  unsaved?: string;
}

/** A token read back from the file: one line of at least 32 visible ASCII characters. */
function readToken(file: string): string | null {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return /^[\x21-\x7e]{32,}$/.test(text) ? text : null;
  } catch {
    return null;
  }
}

/**
 * In development without `server.adminToken`: the admin token of this data
 * directory, read from `<dataDir>/admin-token`, or generated and written there
 * (mode 0600) on the first start, so the CLI keeps working across restarts.
 * From then on `resolveAdminToken` returns it. Null when a token is configured
 * or in production. Called once by the process that serves the admin API.
 */
export function useDevelopmentAdminToken(config: WalletConfig): DevelopmentAdminToken | null {
  if (config.server.adminToken || config.mode === 'production') return null;
  const file = resolve(config.dataDir, ADMIN_TOKEN_FILE);
  let token = readToken(file);
  let created = false;
  let unsaved: string | undefined;
  if (token === null) {
    const fresh = newToken();
    try {
      mkdirSync(dirname(file), { recursive: true });
      // `wx`: of two processes starting at once on the same directory, one writes and both use its token.
      writeFileSync(file, `${fresh}\n`, { flag: existsSync(file) ? 'w' : 'wx', mode: 0o600 });
      token = fresh;
      created = true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      token = code === 'EEXIST' ? (readToken(file) ?? fresh) : fresh;
      created = code !== 'EEXIST' || token === fresh;
      if (code !== 'EEXIST') unsaved = code;
    }
  }
  generatedToken = token;
  return { token, file, created, ...(unsaved === undefined ? {} : { unsaved }) };
}

/**
 * Tells the operator, on stderr (not the JSON log, which may be shipped
 * elsewhere), where the development admin token is. The token itself is
 * printed only by the start that generated it.
 */
export function announceDevelopmentAdminToken(
  dev: DevelopmentAdminToken,
  write: (text: string) => void = (text) => process.stderr.write(text),
): void {
  const exportLine = `  export WALLET_ADMIN_TOKEN="$(cat '${dev.file}')"`;
  const generated = `\nAdmin API token (generated for development; set WALLET_SERVER_ADMIN_TOKEN to choose one):\n  ${dev.token}\n\n`;
  write(
    dev.unsaved !== undefined
      ? `${generated}It could not be kept in ${dev.file} (${dev.unsaved}), so it lasts for this process only.\n\n`
      : dev.created
        ? `${generated}It is kept in ${dev.file} and used again on every start with this data directory. For the CLI:\n${exportLine}\n\n`
        : `\nAdmin API token: the development token kept in ${dev.file} (delete the file for a new one). For the CLI:\n${exportLine}\n\n`,
  );
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * True when `presented` equals `expected`. Both are hashed first, so the
 * comparison takes the same time whatever their lengths and however much of
 * the token matched.
 */
export function adminTokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The bearer token of an `Authorization` header, or null. Never from a query string. */
export function bearerToken(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer ([\x21-\x7e]+)$/i.exec(header.trim());
  return match?.[1] ?? null;
}

/**
 * Guards admin-only routes with the admin bearer token. Refuses with 401
 * (`unauthorized`) when the header is missing, malformed or wrong; the answer
 * never says which.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly expected: string;

  constructor(@Inject(WALLET_CONFIG) config: WalletConfig) {
    this.expected = resolveAdminToken(config).token;
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined> }>();
    const presented = bearerToken(request.headers['authorization']);
    // Compare even when nothing was presented, so a missing token costs the same time.
    const ok = adminTokenMatches(presented ?? '', this.expected) && presented !== null;
    if (!ok) throw new WalletError('unauthorized', 'a valid admin bearer token is required');
    return true;
  }
}
