import { loadConfig } from '@wallet/config';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  adminTokenMatches,
  AdminTokenGuard,
  announceDevelopmentAdminToken,
  bearerToken,
  resolveAdminToken,
  useDevelopmentAdminToken,
} from './admin-token';
import type { ExecutionContext } from '@nestjs/common';

const contextWith = (authorization?: string) =>
  ({
    switchToHttp: () => ({ getRequest: () => ({ headers: authorization === undefined ? {} : { authorization } }) }),
  }) as unknown as ExecutionContext;

describe('admin token', () => {
  const token = 'a'.repeat(40);
  const config = loadConfig({ argv: [], env: { WALLET_SERVER_ADMIN_TOKEN: token } }).config;

  it('uses the configured token', () => {
    expect(resolveAdminToken(config)).toEqual({ token, generated: false });
  });

  it('generates one strong token per process in development when none is configured', () => {
    const dev = loadConfig({ argv: [], env: {} }).config;
    const first = resolveAdminToken(dev);
    expect(first.generated).toBe(true);
    expect(Buffer.from(first.token, 'base64url')).toHaveLength(32);
    expect(resolveAdminToken(dev).token).toBe(first.token);
  });

  it('compares tokens exactly', () => {
    expect(adminTokenMatches(token, token)).toBe(true);
    expect(adminTokenMatches(token.slice(0, -1), token)).toBe(false);
    expect(adminTokenMatches(`${token}a`, token)).toBe(false);
    expect(adminTokenMatches('', token)).toBe(false);
  });

  it('reads only well-formed bearer headers', () => {
    expect(bearerToken(`Bearer ${token}`)).toBe(token);
    expect(bearerToken(`bearer ${token}`)).toBe(token);
    expect(bearerToken(`Basic ${token}`)).toBeNull();
    expect(bearerToken('Bearer ')).toBeNull();
    expect(bearerToken(['Bearer x', 'Bearer y'])).toBeNull();
    expect(bearerToken(undefined)).toBeNull();
  });

  it('the guard lets the right token through and refuses everything else with unauthorized', () => {
    const guard = new AdminTokenGuard(config);
    expect(guard.canActivate(contextWith(`Bearer ${token}`))).toBe(true);
    for (const header of [undefined, '', 'Bearer wrong', `Bearer ${token}x`, token]) {
      expect(() => guard.canActivate(contextWith(header))).toThrow(
        expect.objectContaining({ code: 'unauthorized' }) as Error,
      );
    }
  });

  describe('in development, kept in the data directory', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'admin-token-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const devConfig = (env: Record<string, string> = {}) => loadConfig({ argv: [], env: { WALLET_DATA_DIR: join(dir, 'data'), ...env } }).config;

    it('generates the token on the first start, writes it (0600) and reads it back on later starts', () => {
      const first = useDevelopmentAdminToken(devConfig())!;
      expect(first.created).toBe(true);
      expect(first.file).toBe(join(dir, 'data', 'admin-token'));
      expect(Buffer.from(first.token, 'base64url')).toHaveLength(32);
      expect(readFileSync(first.file, 'utf8')).toBe(`${first.token}\n`);
      expect(statSync(first.file).mode & 0o777).toBe(0o600);
      expect(resolveAdminToken(devConfig())).toEqual({ token: first.token, generated: true });

      const again = useDevelopmentAdminToken(devConfig())!;
      expect(again).toEqual({ token: first.token, file: first.file, created: false });
      expect(new AdminTokenGuard(devConfig()).canActivate(contextWith(`Bearer ${first.token}`))).toBe(true);
    });

    it('replaces a file that holds no usable token', () => {
      const config = devConfig();
      useDevelopmentAdminToken(config);
      writeFileSync(join(dir, 'data', 'admin-token'), 'short\n');
      const replaced = useDevelopmentAdminToken(config)!;
      expect(replaced.created).toBe(true);
      expect(replaced.token).not.toBe('short');
      expect(readFileSync(replaced.file, 'utf8').trim()).toBe(replaced.token);
    });

    it('does nothing when a token is configured, and never in production', () => {
      expect(useDevelopmentAdminToken(devConfig({ WALLET_SERVER_ADMIN_TOKEN: token }))).toBeNull();
      const production = devConfig({ WALLET_MODE: 'production', WALLET_SERVER_ADMIN_TOKEN: token, WALLET_CRYPTO_KEY_ENCRYPTION_KEY: 'A'.repeat(43) });
      expect(useDevelopmentAdminToken(production)).toBeNull();
      expect(() => statSync(join(dir, 'data', 'admin-token'))).toThrow();
    });

    it('falls back to a token for this process when the data directory cannot be written', () => {
      const blocked = join(dir, 'file-not-dir');
      writeFileSync(blocked, 'x');
      const dev = useDevelopmentAdminToken(loadConfig({ argv: [], env: { WALLET_DATA_DIR: join(blocked, 'data') } }).config)!;
      expect(dev).toMatchObject({ created: true, unsaved: 'ENOTDIR' });
      expect(Buffer.from(dev.token, 'base64url')).toHaveLength(32);
      const lines: string[] = [];
      announceDevelopmentAdminToken(dev, (text) => lines.push(text));
      expect(lines.join('')).toMatch(new RegExp(`Admin API token \\(generated[^\\n]*\\n  ${dev.token}\\n[\\s\\S]*could not be kept.*ENOTDIR`));
    });

    it('prints the token only when it was generated, and always where it is kept', () => {
      const lines: string[] = [];
      const first = useDevelopmentAdminToken(devConfig())!;
      announceDevelopmentAdminToken(first, (text) => lines.push(text));
      announceDevelopmentAdminToken(useDevelopmentAdminToken(devConfig())!, (text) => lines.push(text));
      expect(lines[0]).toContain(first.token);
      expect(lines[0]).toContain(first.file);
      expect(lines[1]).not.toContain(first.token);
      expect(lines[1]).toContain(`export WALLET_ADMIN_TOKEN="$(cat '${first.file}')"`);
    });
  });
});
