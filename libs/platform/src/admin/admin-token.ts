import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { WalletConfig } from '@wallet/config';
import { WalletError } from '@wallet/domain';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { WALLET_CONFIG } from '../tokens';

export interface AdminToken {
  readonly token: string;
  /** True when development mode generated the token because none was configured. */
  readonly generated: boolean;
}

let generatedToken: string | null = null;

/**
 * The admin bearer token: `server.adminToken` when set; in development, when
 * unset, a random 256-bit token generated once per process (so every server of
 * the all-in-one process accepts the same one). Production configuration
 * without a token never loads (see the config rules), and this throws if it
 * ever sees one.
 */
export function resolveAdminToken(config: WalletConfig): AdminToken {
  if (config.server.adminToken) return { token: config.server.adminToken, generated: false };
  if (config.mode === 'production') throw new Error('server.adminToken is required in production');
  generatedToken ??= randomBytes(32).toString('base64url');
  return { token: generatedToken, generated: true };
}

let announced = false;

/**
 * In development without a configured token, writes the generated token to
 * stderr once per process (not to the JSON log, which may be shipped
 * elsewhere), so the operator can use the admin API. Returns whether it wrote.
 * Production never gets here without a token (see `resolveAdminToken`).
 */
export function announceGeneratedAdminToken(
  config: WalletConfig,
  write: (line: string) => void = (line) => process.stderr.write(line),
): boolean {
  const { token, generated } = resolveAdminToken(config);
  if (!generated || announced) return false;
  announced = true;
  write(
    `\nAdmin API token (generated for this development process; set WALLET_SERVER_ADMIN_TOKEN to choose one):\n  ${token}\n\n`,
  );
  return true;
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
