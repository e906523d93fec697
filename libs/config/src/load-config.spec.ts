import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './config-error';
import { loadConfig, parseConfig, type LoadConfigOptions } from './load-config';
import { redactConfig, REDACTED } from './redact-config';
import { resolveSqlitePath } from './resolve-sqlite-path';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wallet-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;
function yamlFile(text: string): string {
  const file = join(dir, `config-${++fileCounter}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** Never reads the real process environment or argv. */
const load = (options: LoadConfigOptions = {}) => loadConfig({ argv: [], env: {}, cwd: dir, ...options });

function loadError(options: LoadConfigOptions): ConfigError {
  try {
    load(options);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

const newKey = () => randomBytes(32).toString('base64url');
const ADMIN_TOKEN = 'admin-token-0123456789-abcdefghijklmnop';

describe('loadConfig: defaults', () => {
  it('returns the documented defaults when nothing is set', () => {
    const { config, sources, configFile, warnings } = load();
    expect(config).toEqual({
      vault: {
        maxBlobBytes: 262_144,
        maxRecordsPerUser: 10_000,
        maxBytesPerUser: 67_108_864,
        maxTagsPerRecord: 32,
        maxTagNameLength: 256,
        maxTagValueLength: 1024,
        maxCategoryLength: 256,
        maxQueryDepth: 8,
        maxQueryClauses: 64,
        maxArchiveBytes: 134_217_728,
        tombstoneRetentionMs: 90 * 24 * 3600 * 1000,
      },
      mode: 'development',
      dataDir: './data',
      server: {
        host: '0.0.0.0',
        shutdownTimeoutMs: 10_000,
        bodyLimitBytes: 1_048_576,
        trustProxy: false,
        trustedProxies: [],
        corsOrigins: [],
      },
      services: {
        auth: { port: 3001 },
        storage: { port: 3002 },
        engine: { port: 3003 },
        registry: { port: 3004 },
        admin: { port: 3005 },
        verifier: { port: 3006 },
      },
      allInOne: { walletPort: 8080, adminPort: 8081, adminHost: '127.0.0.1', verifierPort: 8090 },
      storage: {
        type: 'sqlite',
        sqlite: { busyTimeoutMs: 5000, synchronous: 'normal' },
        mongodb: { serverSelectionTimeoutMs: 5000 },
      },
      cache: { type: 'memory', redis: { keyPrefix: 'wallet:', commandTimeoutMs: 2000, sentinel: {} } },
      logging: { level: 'info', format: 'json', logBodies: false },
      metrics: { enabled: true },
      crypto: {
        signingAlg: 'ES256',
        keyRotationIntervalMs: 30 * 24 * 3600 * 1000,
        maxTokenLifetimeMs: 24 * 3600 * 1000,
      },
      auth: {
        rpId: 'localhost',
        rpName: 'Wallet',
        origins: ['http://localhost:8080'],
        challengeTtlMs: 300_000,
        accessTokenTtlMs: 900_000,
        refreshTokenTtlMs: 30 * 24 * 3600 * 1000,
        issuer: 'urn:wallet:auth',
        audience: 'urn:wallet:api',
        jwksRefreshMinIntervalMs: 30_000,
        jwksCacheTtlMs: 300_000,
        tenantCacheTtlMs: 5000,
        rateLimits: { ceremony: { limit: 30, windowMs: 60_000 }, token: { limit: 60, windowMs: 60_000 } },
      },
      outbound: {
        allowHttp: false,
        allowCidrs: [],
        blockCidrs: [],
        allowHosts: [],
        blockHosts: [],
        maxRedirects: 3,
        connectTimeoutMs: 5000,
        timeoutMs: 10_000,
        maxResponseBytes: 2 * 1024 * 1024,
      },
      trust: {
        policy: 'pdp',
        allowList: [],
        timeoutMs: 3000,
        cacheTtlMs: 300_000,
        errorCacheTtlMs: 5000,
        refreshAheadMs: 60_000,
        discoveryTtlMs: 3_600_000,
        pdpAllowHttp: false,
        pdpAllowCidrs: [],
      },
      admin: {
        jobs: {
          enabled: true,
          lockTtlMs: 300_000,
          invitesCleanupIntervalMs: 3_600_000,
          refreshTokensCleanupIntervalMs: 3_600_000,
          vaultTombstonesIntervalMs: 6 * 3_600_000,
          trustRefreshIntervalMs: 900_000,
        },
      },
      verifier: {
        clientIdPrefix: 'decentralized_identifier',
        sessionTtlMs: 300_000,
        codeTtlMs: 60_000,
        tokenTtlMs: 3_600_000,
        tokenAlg: 'ES256',
        clockSkewSeconds: 60,
        statusListCacheTtlMs: 300_000,
      },
      registry: {
        defaultTtlMs: 3_600_000,
        minTtlMs: 60_000,
        maxTtlMs: 86_400_000,
        staleMaxMs: 7 * 86_400_000,
        maxExtendsDepth: 5,
        maxDocumentBytes: 256 * 1024,
        maxImageBytes: 512 * 1024,
        imageTypes: ['image/png', 'image/jpeg', 'image/svg+xml', 'image/webp', 'image/gif'],
        sources: [],
        sourcePollIntervalMs: 3_600_000,
        issuerMetadataTtlMs: 300_000,
      },
      engine: {
        maxFrameBytes: 1_048_576,
        maxHandshakeFrameBytes: 8_192,
        handshakeTimeoutMs: 10_000,
        messagesPerSecond: 20,
        messageBurst: 40,
        flowStartsPerMinute: 20,
        maxConcurrentFlows: 5,
        maxConnectionsPerUser: 16,
        maxConnections: 20_000,
        keepaliveIntervalMs: 30_000,
        signTimeoutMs: 60_000,
        userTimeoutMs: 300_000,
        flowLifetimeMs: 900_000,
        deferredLifetimeMs: 86_400_000,
        deferredMinIntervalMs: 5_000,
        deferredPollTickMs: 1_000,
        retentionMs: 600_000,
        maxResponseBytes: 1_048_576,
        oauthClientId: 'wallet',
        redirectUris: [],
      },
    });
    expect(sources['storage.type']).toBe('default');
    expect(sources['server.adminToken']).toBe('default');
    expect(configFile).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it('freezes the result so nothing can change it after start', () => {
    const { config } = load();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.storage.sqlite)).toBe(true);
    expect(() => {
      (config.server as { host: string }).host = 'elsewhere';
    }).toThrow(TypeError);
  });

  it('resolves the SQLite path under dataDir unless set', () => {
    expect(resolveSqlitePath(load().config)).toBe(join('data', 'wallet.db'));
    expect(resolveSqlitePath(load({ env: { WALLET_DATA_DIR: '/srv/wallet' } }).config)).toBe('/srv/wallet/wallet.db');
    expect(resolveSqlitePath(load({ argv: ['--storage.sqlite.path=/tmp/x.db'] }).config)).toBe('/tmp/x.db');
  });
});

describe('loadConfig: precedence (defaults < file < env < flags)', () => {
  const file = () =>
    yamlFile(['logging:', '  level: debug', '  format: pretty', 'server:', '  host: 10.0.0.1', '  trustProxy: true'].join('\n'));

  it('applies each source over the previous one, and records where each value came from', () => {
    const { config, sources, configFile } = load({
      argv: ['--config', file(), '--logging.level=trace'],
      env: { WALLET_LOGGING_LEVEL: 'warn', WALLET_LOGGING_FORMAT: 'json', WALLET_SERVICES_AUTH_PORT: '4001' },
    });
    // level: file debug < env warn < flag trace
    expect(config.logging.level).toBe('trace');
    expect(sources['logging.level']).toBe('flag');
    // format: file pretty < env json
    expect(config.logging.format).toBe('json');
    expect(sources['logging.format']).toBe('env');
    // host: only in the file
    expect(config.server.host).toBe('10.0.0.1');
    expect(sources['server.host']).toBe('file');
    expect(config.server.trustProxy).toBe(true);
    expect(config.services.auth.port).toBe(4001);
    expect(sources['services.auth.port']).toBe('env');
    // untouched
    expect(config.logging.logBodies).toBe(false);
    expect(sources['logging.logBodies']).toBe('default');
    expect(configFile).toMatch(/config-\d+\.yaml$/);
  });

  it('lets a flag override the file and the environment for the same key', () => {
    const { config } = load({
      argv: [`--config=${file()}`, '--server.host', '127.0.0.1'],
      env: { WALLET_SERVER_HOST: '192.168.0.1' },
    });
    expect(config.server.host).toBe('127.0.0.1');
  });

  it('lets the environment override the file', () => {
    const { config } = load({ argv: ['--config', file()], env: { WALLET_SERVER_HOST: '192.168.0.1' } });
    expect(config.server.host).toBe('192.168.0.1');
  });
});

describe('loadConfig: YAML file', () => {
  it('reads the file named by WALLET_CONFIG, relative to cwd', () => {
    yamlFile('storage:\n  type: memory\n');
    const name = `config-${fileCounter}.yaml`;
    const { config, configFile, sources } = load({ env: { WALLET_CONFIG: name } });
    expect(config.storage.type).toBe('memory');
    expect(configFile).toBe(join(dir, name));
    expect(sources['storage.type']).toBe('file');
  });

  it('prefers --config over WALLET_CONFIG and says so', () => {
    const fromFlag = yamlFile('dataDir: /from/flag\n');
    const fromEnv = yamlFile('dataDir: /from/env\n');
    const { config, warnings } = load({ argv: ['--config', fromFlag], env: { WALLET_CONFIG: fromEnv } });
    expect(config.dataDir).toBe('/from/flag');
    expect(warnings).toContain('--config overrides WALLET_CONFIG');
  });

  it('keeps YAML types, accepts dotted keys and treats null as unset', () => {
    const file = yamlFile(
      [
        'services:',
        '  admin:',
        '    port: 0',
        'server.corsOrigins: [https://a.example, https://b.example]',
        'metrics:',
        '  enabled: false',
        'cache:',
        '  redis:',
        '    keyPrefix: ~',
        'logging:',
      ].join('\n'),
    );
    const { config } = load({ argv: ['--config', file] });
    expect(config.services.admin.port).toBe(0);
    expect(config.server.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(config.metrics.enabled).toBe(false);
    expect(config.cache.redis.keyPrefix).toBe('wallet:');
    expect(config.logging.level).toBe('info');
  });

  it('accepts an empty file', () => {
    expect(load({ argv: ['--config', yamlFile('')] }).config.mode).toBe('development');
  });

  it('rejects unknown keys, naming each with its full path and suggesting the right one', () => {
    const file = yamlFile(['storage:', '  tpye: memory', '  sqlite:', '    colour: blue', 'extra: 1'].join('\n'));
    const error = loadError({ argv: ['--config', file] });
    expect(error.issues.map((i) => i.path).sort()).toEqual(['extra', 'storage.sqlite.colour', 'storage.tpye']);
    expect(error.message).toContain('storage.tpye');
    expect(error.message).toContain('did you mean storage.type?');
    expect(error.message).toContain('storage.sqlite.colour');
    expect(error.message).toContain(file);
  });

  it('rejects values of the wrong YAML type, naming the key and its variable', () => {
    const file = yamlFile('services:\n  auth:\n    port: "3001"\nserver: 5\n');
    const error = loadError({ argv: ['--config', file] });
    expect(error.message).toMatch(/services\.auth\.port \/ WALLET_SERVICES_AUTH_PORT \(from file .*\): .*expected number/);
    expect(error.message).toMatch(/server \(from file .*\): expected a mapping/);
  });

  it('reports a missing file', () => {
    const error = loadError({ argv: ['--config', 'nope.yaml'] });
    expect(error.issues).toEqual([
      expect.objectContaining({ path: 'config', env: 'WALLET_CONFIG', message: expect.stringContaining('ENOENT') }),
    ]);
    expect(error.message).toContain(join(dir, 'nope.yaml'));
  });

  it('reports YAML syntax errors by position, without quoting the file', () => {
    const secret = 'hunter2-very-secret-token';
    const file = yamlFile(`server:\n  adminToken: ${secret}: oops\n`);
    const error = loadError({ argv: ['--config', file] });
    expect(error.message).toMatch(/invalid YAML at line 2, column \d+/);
    expect(error.message).not.toContain(secret);
  });

  it('rejects duplicate keys and files that are not a mapping', () => {
    expect(loadError({ argv: ['--config', yamlFile('mode: development\nmode: production\n')] }).message).toContain(
      'Map keys must be unique',
    );
    expect(loadError({ argv: ['--config', yamlFile('- a\n- b\n')] }).message).toContain('must contain a mapping');
  });
});

describe('loadConfig: environment variables', () => {
  it('maps nested and camelCase keys to WALLET_ names', () => {
    const key = newKey();
    const { config } = load({
      env: {
        WALLET_STORAGE_TYPE: 'mongodb',
        WALLET_STORAGE_MONGODB_URI: 'mongodb://u:p@db1:27017,db2:27017/wallet?replicaSet=rs0',
        WALLET_STORAGE_MONGODB_SERVER_SELECTION_TIMEOUT_MS: '750',
        WALLET_SERVER_ADMIN_TOKEN: ADMIN_TOKEN,
        WALLET_ALL_IN_ONE_WALLET_PORT: '9000',
        WALLET_CRYPTO_KEY_ENCRYPTION_KEY: key,
        WALLET_CACHE_REDIS_KEY_PREFIX: 'w2:',
      },
    });
    expect(config.storage.type).toBe('mongodb');
    expect(config.storage.mongodb.uri).toBe('mongodb://u:p@db1:27017,db2:27017/wallet?replicaSet=rs0');
    expect(config.storage.mongodb.serverSelectionTimeoutMs).toBe(750);
    expect(config.server.adminToken).toBe(ADMIN_TOKEN);
    expect(config.allInOne.walletPort).toBe(9000);
    expect(config.crypto.keyEncryptionKey).toBe(key);
    expect(config.cache.redis.keyPrefix).toBe('w2:');
  });

  it('ignores unknown WALLET_ variables with a warning, and other variables silently', () => {
    const { warnings, config } = load({
      env: { WALLET_STORAGE_TPYE: 'memory', WALLET_FOO: 'x', PATH: '/bin', HOME: '/root', wallet_storage_type: 'memory' },
    });
    expect(config.storage.type).toBe('sqlite');
    expect(warnings).toEqual([
      'ignored unknown environment variable WALLET_FOO',
      'ignored unknown environment variable WALLET_STORAGE_TPYE (did you mean WALLET_STORAGE_TYPE?)',
    ]);
  });

  it('treats an empty variable as unset', () => {
    const { config, sources } = load({ env: { WALLET_SERVER_HOST: '', WALLET_SERVER_ADMIN_TOKEN: '' } });
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.server.adminToken).toBeUndefined();
    expect(sources['server.host']).toBe('default');
  });
});

describe('loadConfig: coercion of environment and flag strings', () => {
  it('coerces numbers, booleans, enums, strings and lists', () => {
    const { config } = load({
      env: {
        WALLET_SERVER_BODY_LIMIT_BYTES: ' 2048 ',
        WALLET_SERVER_TRUST_PROXY: 'TRUE',
        WALLET_METRICS_ENABLED: '0',
        WALLET_LOGGING_LOG_BODIES: '1',
        WALLET_CRYPTO_SIGNING_ALG: 'EdDSA',
        WALLET_SERVER_CORS_ORIGINS: 'https://a.example, https://b.example:8443,',
        WALLET_SERVER_PUBLIC_URL: 'https://wallet.example.com/',
      },
    });
    expect(config.server.bodyLimitBytes).toBe(2048);
    expect(config.server.trustProxy).toBe(true);
    expect(config.metrics.enabled).toBe(false);
    expect(config.logging.logBodies).toBe(true);
    expect(config.crypto.signingAlg).toBe('EdDSA');
    expect(config.server.corsOrigins).toEqual(['https://a.example', 'https://b.example:8443']);
    expect(config.server.publicUrl).toBe('https://wallet.example.com');
  });

  it('takes trusted proxies as addresses and CIDR ranges, refuses anything else and refuses them with trustProxy', () => {
    const { config } = load({ env: { WALLET_SERVER_TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.4,fd00::/8,::1' } });
    expect(config.server.trustedProxies).toEqual(['10.0.0.0/8', '192.168.1.4', 'fd00::/8', '::1']);
    expect(load({}).config.server.trustedProxies).toEqual([]);
    for (const bad of ['10.0.0.0/33', 'fd00::/129', 'proxy.internal', '10.0.0.0/8/1', '10.0.0/8', '10.0.0.0/']) {
      const error = loadError({ env: { WALLET_SERVER_TRUSTED_PROXIES: bad } });
      expect(error.message).toContain('WALLET_SERVER_TRUSTED_PROXIES');
      expect(error.message).toContain('must be an IP address or a CIDR range');
    }
    const both = loadError({ env: { WALLET_SERVER_TRUSTED_PROXIES: '10.0.0.0/8', WALLET_SERVER_TRUST_PROXY: 'true' } });
    expect(both.message).toContain('server.trustProxy');
    expect(both.message).toContain('trust either every peer or the listed proxies, not both');
  });

  it('accepts both flag forms, and a boolean flag on its own as true', () => {
    const { config } = load({
      argv: ['--storage.type', 'memory', '--server.trustProxy', '--metrics.enabled', 'false', '--services.auth.port=0'],
    });
    expect(config.storage.type).toBe('memory');
    expect(config.server.trustProxy).toBe(true);
    expect(config.metrics.enabled).toBe(false);
    expect(config.services.auth.port).toBe(0);
  });

  it('names the key, the variable and the bad value when a number or boolean does not parse', () => {
    const error = loadError({ env: { WALLET_SERVICES_AUTH_PORT: '30O1', WALLET_METRICS_ENABLED: 'yes' } });
    expect(error.message).toContain('services.auth.port / WALLET_SERVICES_AUTH_PORT (from the environment): expected an integer, got "30O1"');
    expect(error.message).toContain('metrics.enabled / WALLET_METRICS_ENABLED (from the environment): expected true, false, 1 or 0, got "yes"');
  });

  it('names the key and the variable for an invalid enum value or an out-of-range number', () => {
    const error = loadError({
      env: { WALLET_STORAGE_TYPE: 'postgres' },
      argv: ['--services.verifier.port=70000', '--server.shutdownTimeoutMs', '1.5'],
    });
    expect(error.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'storage.type', env: 'WALLET_STORAGE_TYPE', origin: 'the environment' }),
        expect.objectContaining({ path: 'services.verifier.port', env: 'WALLET_SERVICES_VERIFIER_PORT' }),
        expect.objectContaining({ path: 'server.shutdownTimeoutMs', env: 'WALLET_SERVER_SHUTDOWN_TIMEOUT_MS' }),
      ]),
    );
    expect(error.message).toMatch(/storage\.type \/ WALLET_STORAGE_TYPE \(from the environment\): .*"memory"\|"sqlite"\|"mongodb"/);
    expect(error.message).toMatch(/services\.verifier\.port \/ WALLET_SERVICES_VERIFIER_PORT \(from flag --services\.verifier\.port\): .*65535/);
    expect(error.message).toMatch(/server\.shutdownTimeoutMs \/ WALLET_SERVER_SHUTDOWN_TIMEOUT_MS .*: .*int/);
  });

  it('names the list item that is invalid', () => {
    const error = loadError({ env: { WALLET_SERVER_CORS_ORIGINS: 'https://ok.example,https://bad.example/path' } });
    expect(error.message).toContain('server.corsOrigins / WALLET_SERVER_CORS_ORIGINS (from the environment): item 1: must be an origin');
  });
});

describe('loadConfig: flags', () => {
  it('rejects unknown flags, naming them and suggesting the right one', () => {
    const error = loadError({ argv: ['--storage.tpye=memory', '--verbose', '--nope', 'value'] });
    expect(error.issues.map((i) => i.path)).toEqual(['--storage.tpye', '--verbose', '--nope']);
    expect(error.message).toContain('--storage.tpye: unknown flag (did you mean --storage.type?)');
  });

  it('rejects a flag that names a section, a flag without a value and stray arguments', () => {
    const error = loadError({ argv: ['--storage=memory', 'stray', '--config', '--logging.level'] });
    expect(error.message).toContain('--storage: unknown flag');
    expect(error.message).toContain('argument 2: unexpected argument');
    expect(error.message).not.toContain('stray');
    expect(error.message).toContain('config / WALLET_CONFIG (from flag --config): --config needs a file path');
    expect(error.message).toContain('logging.level / WALLET_LOGGING_LEVEL (from flag --logging.level): flag needs a value');
  });
});

describe('loadConfig: conditional requirements', () => {
  it('requires storage.mongodb.uri when storage.type is mongodb', () => {
    const error = loadError({ argv: ['--storage.type=mongodb'] });
    expect(error.issues).toEqual([
      expect.objectContaining({ path: 'storage.mongodb.uri', env: 'WALLET_STORAGE_MONGODB_URI' }),
    ]);
    expect(error.message).toContain('storage.mongodb.uri / WALLET_STORAGE_MONGODB_URI: required when storage.type is mongodb');
    expect(load({ argv: ['--storage.type=mongodb', '--storage.mongodb.uri=mongodb://localhost:27017'] }).config.storage.type).toBe(
      'mongodb',
    );
  });

  it('requires cache.redis.url when cache.type is redis', () => {
    const error = loadError({ env: { WALLET_CACHE_TYPE: 'redis' } });
    expect(error.message).toContain('cache.redis.url / WALLET_CACHE_REDIS_URL: required when cache.type is redis');
    expect(load({ env: { WALLET_CACHE_TYPE: 'redis', WALLET_CACHE_REDIS_URL: 'redis://localhost:6379' } }).config.cache.redis.url).toBe(
      'redis://localhost:6379',
    );
  });

  it('requires an admin token and a key-encryption key in production only', () => {
    expect(load({ env: { WALLET_MODE: 'development' } }).config.server.adminToken).toBeUndefined();
    const error = loadError({ env: { WALLET_MODE: 'production' } });
    expect(error.issues.map((i) => [i.path, i.env])).toEqual([
      ['server.adminToken', 'WALLET_SERVER_ADMIN_TOKEN'],
      ['crypto.keyEncryptionKey', 'WALLET_CRYPTO_KEY_ENCRYPTION_KEY'],
    ]);
    expect(error.message).toContain('required (at least 32 characters) when mode is production');

    const { config, warnings } = load({
      env: { WALLET_MODE: 'production', WALLET_SERVER_ADMIN_TOKEN: ADMIN_TOKEN, WALLET_CRYPTO_KEY_ENCRYPTION_KEY: newKey() },
    });
    expect(config.mode).toBe('production');
    expect(warnings).toEqual([]);
  });

  it('rejects a short admin token in production', () => {
    const error = loadError({
      env: { WALLET_MODE: 'production', WALLET_SERVER_ADMIN_TOKEN: 'short-token', WALLET_CRYPTO_KEY_ENCRYPTION_KEY: newKey() },
    });
    expect(error.issues.map((i) => i.path)).toEqual(['server.adminToken']);
  });

  it('validates the key-encryption key length in every mode', () => {
    for (const bad of [randomBytes(16).toString('base64url'), `${newKey()}AA`, newKey().replace(/.$/, '!')]) {
      const error = loadError({ env: { WALLET_CRYPTO_KEY_ENCRYPTION_KEY: bad } });
      expect(error.message).toContain(
        'crypto.keyEncryptionKey / WALLET_CRYPTO_KEY_ENCRYPTION_KEY (from the environment): must be base64url of exactly 32 bytes',
      );
    }
  });

  it('reports conditional and type problems together', () => {
    const error = loadError({ env: { WALLET_MODE: 'production', WALLET_STORAGE_TYPE: 'mongodb', WALLET_SERVICES_AUTH_PORT: '-1' } });
    expect(error.issues.map((i) => i.path).sort()).toEqual(
      ['crypto.keyEncryptionKey', 'server.adminToken', 'services.auth.port', 'storage.mongodb.uri'].sort(),
    );
  });

  it('warns about risky production settings', () => {
    const { warnings } = load({
      env: {
        WALLET_MODE: 'production',
        WALLET_SERVER_ADMIN_TOKEN: ADMIN_TOKEN,
        WALLET_CRYPTO_KEY_ENCRYPTION_KEY: newKey(),
        WALLET_STORAGE_TYPE: 'memory',
        WALLET_LOGGING_LOG_BODIES: 'true',
      },
    });
    expect(warnings).toEqual([
      expect.stringContaining('storage.type is memory in production'),
      expect.stringContaining('logging.logBodies is on in production'),
    ]);
  });
});

describe('loadConfig: secrets stay out of error messages', () => {
  it('does not echo invalid secret values from the environment', () => {
    const mongo = 'postgres://admin:s3cr3t-password@db/wallet';
    const redis = 'http://:r3d1s-password@cache:6379';
    const kek = 'not-a-key-but-secret-anyway';
    const error = loadError({
      env: {
        WALLET_STORAGE_TYPE: 'mongodb',
        WALLET_STORAGE_MONGODB_URI: mongo,
        WALLET_CACHE_TYPE: 'redis',
        WALLET_CACHE_REDIS_URL: redis,
        WALLET_CRYPTO_KEY_ENCRYPTION_KEY: kek,
        WALLET_MODE: 'production',
        WALLET_SERVER_ADMIN_TOKEN: 'too-short-secret',
      },
    });
    expect(error.issues.map((i) => i.path).sort()).toEqual(
      ['cache.redis.url', 'crypto.keyEncryptionKey', 'server.adminToken', 'storage.mongodb.uri'].sort(),
    );
    for (const secret of [mongo, redis, kek, 's3cr3t-password', 'r3d1s-password', 'too-short-secret']) {
      expect(error.message).not.toContain(secret);
      expect(JSON.stringify(error.issues)).not.toContain(secret);
    }
  });

  it('does not echo secret values from a file or flags', () => {
    const token = 'flag-secret-value';
    const file = yamlFile('storage:\n  mongodb:\n    uri: mysql://root:file-secret-pw@db\n');
    const error = loadError({ argv: ['--config', file, `--server.adminToken=${token}`, '--mode', 'production'] });
    expect(error.message).toContain('storage.mongodb.uri / WALLET_STORAGE_MONGODB_URI');
    expect(error.message).not.toContain('file-secret-pw');
    expect(error.message).not.toContain(token);
  });
});

describe('parseConfig', () => {
  it('applies defaults and the same rules as loadConfig to a plain object', () => {
    expect(parseConfig({ storage: { type: 'memory' } }).storage).toEqual({
      type: 'memory',
      sqlite: { busyTimeoutMs: 5000, synchronous: 'normal' },
      mongodb: { serverSelectionTimeoutMs: 5000 },
    });
    expect(() => parseConfig({ cache: { type: 'redis' } })).toThrow(
      /cache\.redis\.url \/ WALLET_CACHE_REDIS_URL: required when cache\.type is redis/,
    );
    expect(() => parseConfig({ storage: { kind: 'memory' } })).toThrow(/storage\.kind: unknown key/);
  });
});

describe('loadConfig: outbound section', () => {
  it('reads allow and block lists from comma-separated environment variables and refuses malformed entries', () => {
    const { config } = loadConfig({
      argv: [],
      env: { WALLET_OUTBOUND_ALLOW_CIDRS: '127.0.0.1/32,::1', WALLET_OUTBOUND_BLOCK_HOSTS: '*.internal', WALLET_OUTBOUND_ALLOW_HTTP: 'true' },
    });
    expect(config.outbound.allowCidrs).toEqual(['127.0.0.1/32', '::1']);
    expect(config.outbound.blockHosts).toEqual(['*.internal']);
    expect(config.outbound.allowHttp).toBe(true);
    expect(() => loadConfig({ argv: [], env: { WALLET_OUTBOUND_ALLOW_CIDRS: 'localhost' } })).toThrow(/outbound\.allowCidrs/);
  });
});

describe('loadConfig: Redis Sentinel and Cluster', () => {
  it('accepts Sentinel and Cluster URLs, and refuses other schemes without echoing them', () => {
    for (const url of [
      'redis+sentinel://:pw@s1:26379,s2:26379/main?sentinelPassword=spw',
      'rediss+sentinel://s1/main/2',
      'redis+cluster://:pw@n1:6379,n2:6379',
      'rediss+cluster://n1',
    ]) {
      expect(load({ env: { WALLET_CACHE_TYPE: 'redis', WALLET_CACHE_REDIS_URL: url } }).config.cache.redis.url).toBe(url);
    }
    const error = loadError({ env: { WALLET_CACHE_TYPE: 'redis', WALLET_CACHE_REDIS_URL: 'redis+memcached://:hunter2-pw@n1' } });
    expect(error.issues.map((i) => i.path)).toEqual(['cache.redis.url']);
    expect(error.message).not.toContain('hunter2-pw');
  });

  it('takes nodes, a topology and credentials as separate settings instead of a URL', () => {
    const { config } = load({
      env: {
        WALLET_CACHE_TYPE: 'redis',
        WALLET_CACHE_REDIS_TOPOLOGY: 'sentinel',
        WALLET_CACHE_REDIS_NODES: 's1:26379,s2,[::1]:26380',
        WALLET_CACHE_REDIS_PASSWORD: 'data-pw',
        WALLET_CACHE_REDIS_TLS: 'true',
        WALLET_CACHE_REDIS_SENTINEL_MASTER_NAME: 'main',
        WALLET_CACHE_REDIS_SENTINEL_PASSWORD: 'sentinel-pw',
      },
    });
    expect(config.cache.redis).toMatchObject({
      topology: 'sentinel',
      nodes: ['s1:26379', 's2', '[::1]:26380'],
      password: 'data-pw',
      tls: true,
      sentinel: { masterName: 'main', password: 'sentinel-pw' },
    });
    expect(config.cache.redis.url).toBeUndefined();
    const text = JSON.stringify(redactConfig(config));
    expect(text).not.toContain('data-pw');
    expect(text).not.toContain('sentinel-pw');
    expect(redactConfig(config)).toMatchObject({ cache: { redis: { password: REDACTED, sentinel: { password: REDACTED } } } });
  });

  it('names the setting when nodes and a URL are both set, a node is malformed or the master name is missing', () => {
    const both = loadError({
      env: { WALLET_CACHE_TYPE: 'redis', WALLET_CACHE_REDIS_URL: 'redis+cluster://n1', WALLET_CACHE_REDIS_NODES: 'n1:6379' },
    });
    expect(both.message).toMatch(
      /cache\.redis\.nodes \/ WALLET_CACHE_REDIS_NODES \(from the environment\): unset \(give the URL or the nodes, not both\) when cache\.redis\.url is set/,
    );
    const malformed = loadError({
      env: { WALLET_CACHE_TYPE: 'redis', WALLET_CACHE_REDIS_TOPOLOGY: 'cluster', WALLET_CACHE_REDIS_NODES: 'n1:6379,n2:port' },
    });
    expect(malformed.issues.map((i) => i.path)).toEqual(['cache.redis.nodes']);
    expect(malformed.message).toContain('must be host:port');
    const noMaster = loadError({
      env: { WALLET_CACHE_TYPE: 'redis', WALLET_CACHE_REDIS_TOPOLOGY: 'sentinel', WALLET_CACHE_REDIS_NODES: 's1' },
    });
    expect(noMaster.message).toContain('cache.redis.sentinel.masterName / WALLET_CACHE_REDIS_SENTINEL_MASTER_NAME: required when');
  });
});
