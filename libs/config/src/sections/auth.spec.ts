import { ConfigError } from '../config-error';
import { loadConfig, parseConfig } from '../load-config';

const load = (env: Record<string, string>) => loadConfig({ argv: [], env });

function errorOf(env: Record<string, string>): string {
  try {
    load(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('auth configuration section', () => {
  it('reads origins as a comma-separated list and durations as integers', () => {
    const { auth } = load({
      WALLET_AUTH_ORIGINS: 'https://wallet.example,https://app.example:8443',
      WALLET_AUTH_RP_ID: 'wallet.example',
      WALLET_AUTH_ACCESS_TOKEN_TTL_MS: '60000',
      WALLET_AUTH_RATE_LIMITS_CEREMONY_LIMIT: '5',
    }).config;
    expect(auth.origins).toEqual(['https://wallet.example', 'https://app.example:8443']);
    expect(auth.rpId).toBe('wallet.example');
    expect(auth.accessTokenTtlMs).toBe(60_000);
    expect(auth.rateLimits.ceremony).toEqual({ limit: 5, windowMs: 60_000 });
  });

  it('derives the default origins from the wallet port and the public URL, so passkeys keep working on another port', () => {
    expect(load({}).config.auth.origins).toEqual(['http://localhost:8080']);
    expect(load({ WALLET_ALL_IN_ONE_WALLET_PORT: '9090' }).config.auth.origins).toEqual(['http://localhost:9090']);
    expect(load({ WALLET_SERVER_PUBLIC_URL: 'https://wallet.example.com/base/' }).config.auth.origins).toEqual(['https://wallet.example.com']);
    expect(load({ WALLET_SERVER_PUBLIC_URL: 'http://192.0.2.7:9090', WALLET_ALL_IN_ONE_WALLET_PORT: '9090' }).config.auth.origins).toEqual([
      'http://192.0.2.7:9090',
    ]);
    // A configured list wins; an empty variable counts as unset.
    expect(load({ WALLET_AUTH_ORIGINS: 'https://app.example', WALLET_ALL_IN_ONE_WALLET_PORT: '9090' }).config.auth.origins).toEqual(['https://app.example']);
    expect(load({ WALLET_AUTH_ORIGINS: '', WALLET_ALL_IN_ONE_WALLET_PORT: '9090' }).config.auth.origins).toEqual(['http://localhost:9090']);
    expect(parseConfig({ allInOne: { walletPort: 9191 } }).auth.origins).toEqual(['http://localhost:9191']);
  });

  it('names the key and the problem for malformed values', () => {
    expect(errorOf({ WALLET_AUTH_ORIGINS: 'https://wallet.example/path' })).toMatch(/auth\.origins.*origin such as/s);
    expect(errorOf({ WALLET_AUTH_RP_ID: 'https://wallet.example' })).toMatch(/auth\.rpId.*host name/s);
    expect(errorOf({ WALLET_AUTH_JWKS_URL: 'ftp://auth/jwks' })).toMatch(/auth\.jwksUrl.*http\(s\) URL/s);
    expect(errorOf({ WALLET_AUTH_CHALLENGE_TTL_MS: '10' })).toMatch(/auth\.challengeTtlMs/);
  });
});
