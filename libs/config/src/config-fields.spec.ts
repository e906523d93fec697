import { describeConfig, describeConfigSections, toEnvName } from './config-fields';

describe('toEnvName', () => {
  it.each([
    ['mode', 'WALLET_MODE'],
    ['dataDir', 'WALLET_DATA_DIR'],
    ['storage.type', 'WALLET_STORAGE_TYPE'],
    ['storage.mongodb.uri', 'WALLET_STORAGE_MONGODB_URI'],
    ['storage.mongodb.serverSelectionTimeoutMs', 'WALLET_STORAGE_MONGODB_SERVER_SELECTION_TIMEOUT_MS'],
    ['server.adminToken', 'WALLET_SERVER_ADMIN_TOKEN'],
    ['allInOne.walletPort', 'WALLET_ALL_IN_ONE_WALLET_PORT'],
    ['crypto.keyEncryptionKey', 'WALLET_CRYPTO_KEY_ENCRYPTION_KEY'],
    ['services.auth.port', 'WALLET_SERVICES_AUTH_PORT'],
    ['a.publicURL', 'WALLET_A_PUBLIC_URL'],
    ['a.es256Key', 'WALLET_A_ES256_KEY'],
  ])('%s -> %s', (path, env) => {
    expect(toEnvName(path)).toBe(env);
    expect(toEnvName(path.split('.'))).toBe(env);
  });
});

describe('describeConfig', () => {
  const fields = describeConfig();
  const byPath = new Map(fields.map((f) => [f.path, f]));

  it('lists every leaf with its derived variable, and names are unique', () => {
    for (const field of fields) expect(field.env).toBe(toEnvName(field.path));
    expect(new Set(fields.map((f) => f.env)).size).toBe(fields.length);
    expect(fields.map((f) => f.path)).toEqual(
      expect.arrayContaining([
        'mode',
        'dataDir',
        'server.host',
        'server.adminToken',
        'server.publicUrl',
        'services.verifier.port',
        'allInOne.verifierPort',
        'storage.sqlite.path',
        'storage.mongodb.database',
        'cache.redis.commandTimeoutMs',
        'logging.logBodies',
        'metrics.enabled',
        'crypto.maxTokenLifetimeMs',
      ]),
    );
  });

  it('gives every leaf a description', () => {
    for (const field of fields) expect(field.description.length).toBeGreaterThan(10);
  });

  it('marks exactly the secret settings', () => {
    expect(fields.filter((f) => f.secret).map((f) => f.path)).toEqual([
      'server.adminToken',
      'storage.mongodb.uri',
      'cache.redis.url',
      'cache.redis.password',
      'cache.redis.sentinel.password',
      'crypto.keyEncryptionKey',
    ]);
  });

  it('describes types, defaults, bounds and allowed values', () => {
    expect(byPath.get('storage.type')).toMatchObject({ type: 'enum', default: 'sqlite', allowed: ['memory', 'sqlite', 'mongodb'] });
    expect(byPath.get('services.auth.port')).toMatchObject({ type: 'integer', default: 3001, minimum: 0, maximum: 65535 });
    expect(byPath.get('server.trustProxy')).toMatchObject({ type: 'boolean', default: false });
    expect(byPath.get('server.corsOrigins')).toMatchObject({ type: 'string[]', default: [] });
    expect(byPath.get('server.adminToken')).toMatchObject({ type: 'string', default: undefined, secret: true });
    expect(byPath.get('crypto.keyRotationIntervalMs')).toMatchObject({ default: 2_592_000_000, minimum: 1 });
    expect(byPath.get('crypto.keyRotationIntervalMs')).not.toHaveProperty('maximum');
  });

  it('returns copies, so callers cannot change the index', () => {
    const first = describeConfig();
    const [head] = first;
    if (!head) throw new Error('describeConfig() returned no settings');
    head.env = 'CHANGED';
    (first.find((f) => f.path === 'storage.type')?.allowed ?? []).push('postgres');
    expect(describeConfig()[0]?.env).toBe('WALLET_MODE');
    expect(describeConfig().find((f) => f.path === 'storage.type')?.allowed).toEqual(['memory', 'sqlite', 'mongodb']);
  });

  it('lists sections with descriptions', () => {
    expect(describeConfigSections().filter((s) => !s.path.includes('.')).map((s) => s.path)).toEqual([
      'server',
      'services',
      'allInOne',
      'storage',
      'vault',
      'cache',
      'logging',
      'metrics',
      'crypto',
      'auth',
      'outbound',
      'trust',
      'admin',
      'verifier',
      'registry',
      'engine',
    ]);
    for (const section of describeConfigSections()) expect(section.description).not.toBe('');
  });
});
