import { randomBytes } from 'node:crypto';
import { describeConfig } from './config-fields';
import { loadConfig } from './load-config';
import { REDACTED, redactConfig } from './redact-config';

describe('redactConfig', () => {
  const secrets = {
    WALLET_SERVER_ADMIN_TOKEN: 'admin-token-that-must-never-be-logged-0123',
    WALLET_STORAGE_TYPE: 'mongodb',
    WALLET_STORAGE_MONGODB_URI: 'mongodb://wallet:mongo-password-xyz@db:27017/wallet',
    WALLET_CACHE_TYPE: 'redis',
    WALLET_CACHE_REDIS_URL: 'redis://:redis-password-xyz@cache:6379',
    WALLET_CRYPTO_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    WALLET_MODE: 'production',
  };

  it('replaces every set secret with [redacted] and keeps the rest', () => {
    const { config } = loadConfig({ argv: [], env: secrets });
    const redacted = redactConfig(config);
    const text = JSON.stringify(redacted);
    for (const [name, value] of Object.entries(secrets)) {
      if (describeConfig().find((f) => f.env === name)?.secret) expect(text).not.toContain(value);
    }
    expect(text).not.toContain('mongo-password-xyz');
    expect(redacted).toMatchObject({
      mode: 'production',
      server: { adminToken: REDACTED, host: '0.0.0.0' },
      storage: { type: 'mongodb', mongodb: { uri: REDACTED, serverSelectionTimeoutMs: 5000 } },
      cache: { redis: { url: REDACTED, keyPrefix: 'wallet:' } },
      crypto: { keyEncryptionKey: REDACTED, signingAlg: 'ES256' },
    });
  });

  it('shows unset secrets as null', () => {
    const redacted = redactConfig(loadConfig({ argv: [], env: {} }).config);
    expect(redacted).toMatchObject({
      server: { adminToken: null },
      storage: { mongodb: { uri: null } },
      cache: { redis: { url: null } },
      crypto: { keyEncryptionKey: null },
    });
  });

  it('does not change the configuration it was given', () => {
    const { config } = loadConfig({ argv: [], env: secrets });
    redactConfig(config);
    expect(config.server.adminToken).toBe(secrets.WALLET_SERVER_ADMIN_TOKEN);
    expect(Object.isFrozen(redactConfig(config))).toBe(false);
  });
});
