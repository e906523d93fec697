import { loadConfig } from '@wallet/config';
import { adminTokenMatches, AdminTokenGuard, bearerToken, resolveAdminToken } from './admin-token';
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
});
