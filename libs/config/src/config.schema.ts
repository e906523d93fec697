import { zVaultSection } from './sections/vault';
import { isIP } from 'node:net';
import { z } from 'zod';
import { zAuthSection } from './sections/auth';
import { zOutboundSection } from './sections/outbound';
import { zTrustSection } from './sections/trust';
import { zAdminSection } from './sections/admin';
import { zVerifierSection } from './sections/verifier';
import { zRegistrySection } from './sections/registry';
import { zEngineSection } from './sections/engine';

/**
 * The one configuration schema for every service and the all-in-one launcher.
 *
 * Conventions the loader and the docs generator rely on:
 * - every section is a strict object with `.prefault({})`, so an absent
 *   section gets its defaults and an unknown key is an error;
 * - every leaf ends in `.meta({ description })`; secret leaves add
 *   `secret: true` (they are redacted by `redactConfig` and never echoed in
 *   error messages);
 * - leaves are strings, enums, numbers, booleans or arrays of strings, so
 *   environment variables and flags can be coerced to them.
 *
 * Cross-field rules ("required when ...") live in {@link CONDITIONAL_RULES}.
 */

/** Metadata attached to every leaf with `.meta()`. */
export type ConfigMeta = {
  description: string;
  /** Never logged, never echoed in an error message. */
  secret?: boolean;
};

const meta = (description: string, extra: Omit<ConfigMeta, 'description'> = {}): ConfigMeta => ({
  description,
  ...extra,
});

const zPort = (port: number, description: string) =>
  z.number().int().min(0).max(65_535).default(port).meta(meta(description));

const zDurationMs = (ms: number, description: string, min = 1) =>
  z.number().int().min(min).default(ms).meta(meta(description));

const DAY_MS = 24 * 60 * 60 * 1000;

/** base64url (no padding, or one `=`) of exactly 32 bytes. */
function isKey32(value: string): boolean {
  if (!/^[A-Za-z0-9_-]{43}=?$/.test(value)) return false;
  const bytes = Buffer.from(value.replace(/=$/, ''), 'base64url');
  // Reject non-canonical encodings (stray low bits in the last character).
  return bytes.length === 32 && bytes.toString('base64url') === value.replace(/=$/, '');
}

/** An IPv4 or IPv6 address, or one with a prefix length (`10.0.0.0/8`, `fd00::/8`). */
function isAddressOrRange(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

const zServer = z
  .strictObject({
    host: z.string().min(1).default('0.0.0.0').meta(meta('Interface the HTTP servers listen on.')),
    adminToken: z
      .string()
      .min(1)
      .optional()
      .meta(
        meta(
          'Bearer token for the admin API. Required in production, at least 32 characters. In development it may be unset; the admin service then generates one.',
          { secret: true },
        ),
      ),
    shutdownTimeoutMs: zDurationMs(
      10_000,
      'On SIGTERM, how long a service waits for in-flight requests before closing connections.',
      0,
    ),
    bodyLimitBytes: z
      .number()
      .int()
      .min(1)
      .max(64 * 1024 * 1024)
      .default(1_048_576)
      .meta(meta('Largest accepted request body, in bytes.')),
    trustProxy: z
      .boolean()
      .default(false)
      .meta(
        meta(
          'Trust `X-Forwarded-*` headers from any peer for the client address, protocol and host. Enable only behind a reverse proxy that sets them and that no client can bypass; prefer `server.trustedProxies`.',
        ),
      ),
    trustedProxies: z
      .array(z.string().refine(isAddressOrRange, 'must be an IP address or a CIDR range such as 10.0.0.0/8 or fd00::/8'))
      .max(64)
      .default([])
      .meta(
        meta(
          'Addresses or CIDR ranges of the reverse proxies whose `X-Forwarded-*` headers are trusted (the client address is the first one not in these ranges, walking back from the nearest hop). As an environment variable or flag: a comma-separated list. Excludes `server.trustProxy`.',
        ),
      ),
    publicUrl: z
      .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
      .overwrite((url) => url.replace(/\/+$/, ''))
      .optional()
      .meta(
        meta(
          'Externally visible base URL, e.g. `https://wallet.example.com`; a trailing slash is removed. Used where a service must build absolute URLs.',
        ),
      ),
    corsOrigins: z
      .array(
        z
          .string()
          .regex(/^https?:\/\/[^/?#\s]+$/, 'must be an origin such as https://wallet.example.com (no path)'),
      )
      .max(64)
      .default([])
      .meta(
        meta(
          'Browser origins allowed to call the APIs cross-origin (CORS). Empty: no cross-origin access. As an environment variable or flag: a comma-separated list.',
        ),
      ),
  })
  .prefault({})
  .meta(meta('HTTP settings shared by every service.'));

const zServicePort = (port: number, service: string) =>
  z
    .strictObject({ port: zPort(port, `Port of the ${service} service. 0 picks a free port (tests).`) })
    .prefault({})
    .meta(meta(`The ${service} service.`));

const zServices = z
  .strictObject({
    auth: zServicePort(3001, 'auth'),
    storage: zServicePort(3002, 'storage'),
    engine: zServicePort(3003, 'engine'),
    registry: zServicePort(3004, 'registry'),
    admin: zServicePort(3005, 'admin'),
    verifier: zServicePort(3006, 'verifier'),
  })
  .prefault({})
  .meta(meta('Ports of the six services when each runs as its own process.'));

const zAllInOne = z
  .strictObject({
    walletPort: zPort(8080, 'Port serving auth, storage, engine and registry together.'),
    adminPort: zPort(8081, 'Port of the admin service.'),
    adminHost: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .meta(
        meta(
          'Interface the admin API listens on. Default: loopback only, so the admin API is reachable from this machine alone; `0.0.0.0` (all interfaces) only behind a firewall or in a container whose port is published to loopback. `server.host` applies to the other two ports.',
        ),
      ),
    verifierPort: zPort(8090, 'Port of the verifier service.'),
  })
  .prefault({})
  .meta(meta('Ports used by the all-in-one launcher, which runs every service in one process.'));

const zStorage = z
  .strictObject({
    type: z
      .enum(['memory', 'sqlite', 'mongodb'])
      .default('sqlite')
      .meta(
        meta(
          'Persistence driver: `memory` (tests; data is lost on exit), `sqlite` (one node), `mongodb` (MongoDB or a wire-compatible server such as FerretDB).',
        ),
      ),
    sqlite: z
      .strictObject({
        path: z
          .string()
          .min(1)
          .optional()
          .meta(meta('SQLite database file. Unset: `<dataDir>/wallet.db` (see `resolveSqlitePath`).')),
        busyTimeoutMs: zDurationMs(
          5_000,
          'How long a write waits for a lock held by another connection before failing.',
          0,
        ),
        synchronous: z
          .enum(['full', 'normal'])
          .default('normal')
          .meta(
            meta(
              'SQLite `synchronous` mode (with WAL). `normal`: an acknowledged write survives a crash or `kill -9` of the process; the last writes may be lost on a power loss or OS crash. `full`: fsync on every commit, so writes also survive power loss, at a fraction of the write rate (see docs/benchmarks.md).',
            ),
          ),
      })
      .prefault({})
      .meta(meta('Used when `storage.type` is `sqlite`.')),
    mongodb: z
      .strictObject({
        uri: z
          .string()
          .regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// or mongodb+srv:// connection string')
          .optional()
          .meta(
            meta(
              'Connection string (`mongodb://` or `mongodb+srv://`). Required when `storage.type` is `mongodb`. Secret: it usually carries a password.',
              { secret: true },
            ),
          ),
        database: z
          .string()
          .min(1)
          .max(64)
          .optional()
          .meta(meta('Database name. Unset: the database named in the connection string.')),
        serverSelectionTimeoutMs: zDurationMs(
          5_000,
          'How long the driver looks for a reachable server before an operation fails.',
        ),
      })
      .prefault({})
      .meta(meta('Used when `storage.type` is `mongodb`.')),
  })
  .prefault({})
  .meta(meta('Where the services keep their records.'));

/** `host[:port]` or `[IPv6]:port`, as `cache.redis.nodes` lists them. */
const REDIS_NODE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

const zCache = z
  .strictObject({
    type: z
      .enum(['memory', 'redis'])
      .default('memory')
      .meta(meta('Cache driver: `memory` (per process) or `redis` (shared between processes and replicas).')),
    redis: z
      .strictObject({
        url: z
          .string()
          .max(4096)
          .regex(
            /^rediss?(\+(sentinel|cluster))?:\/\/\S+$/,
            'must be a redis://, rediss://, redis+sentinel://, rediss+sentinel://, redis+cluster:// or rediss+cluster:// URL',
          )
          .optional()
          .meta(
            meta(
              'Where Redis is. One server: `redis[s]://[user:password@]host[:port][/db]`. Sentinel: `redis[s]+sentinel://[user:password@]host[:port][,host[:port]...]/<master name>[/db][?sentinelUsername=...&sentinelPassword=...]` (the sentinels, default port 26379; the credentials before `@` are the data nodes\'). Cluster: `redis[s]+cluster://[user:password@]host[:port][,host[:port]...]` (some of the nodes, default port 6379). User name and passwords percent-encoded. Required when `cache.type` is `redis` unless `cache.redis.nodes` is set. Secret: it may carry a password.',
              { secret: true },
            ),
          ),
        topology: z
          .enum(['single', 'sentinel', 'cluster'])
          .optional()
          .meta(
            meta(
              'What `cache.redis.nodes` are: one server (`single`, the default), the sentinels of a master (`sentinel`) or some nodes of a Redis Cluster (`cluster`). With a URL its scheme says it; a value set here must agree.',
            ),
          ),
        nodes: z
          .array(z.string().regex(REDIS_NODE, 'must be host:port (or [IPv6]:port)'))
          .min(1)
          .max(64)
          .optional()
          .meta(
            meta(
              'Instead of `cache.redis.url`: `host[:port]` of the server, of the sentinels or of some cluster nodes (see `cache.redis.topology`). As an environment variable or flag: a comma-separated list.',
            ),
          ),
        username: z
          .string()
          .min(1)
          .max(256)
          .optional()
          .meta(meta('ACL user of the Redis data nodes, when the URL names none.')),
        password: z
          .string()
          .min(1)
          .max(1024)
          .optional()
          .meta(meta('Password of the Redis data nodes, when the URL carries none.', { secret: true })),
        tls: z
          .boolean()
          .optional()
          .meta(meta('TLS to every node when `cache.redis.nodes` is used (a URL says it with `rediss`).')),
        database: z
          .number()
          .int()
          .min(0)
          .max(65_535)
          .optional()
          .meta(meta('Database number on one server or behind Sentinel (a Redis Cluster has only database 0).')),
        sentinel: z
          .strictObject({
            masterName: z
              .string()
              .min(1)
              .max(256)
              .optional()
              .meta(
                meta(
                  'Name of the master the sentinels watch. Required with `cache.redis.topology: sentinel` and nodes; a `redis+sentinel://` URL names it in its path.',
                ),
              ),
            username: z.string().min(1).max(256).optional().meta(meta('ACL user on the sentinels.')),
            password: z
              .string()
              .min(1)
              .max(1024)
              .optional()
              .meta(meta('Password of the sentinels (their `requirepass`), when the URL carries none.', { secret: true })),
          })
          .prefault({})
          .meta(meta('Redis Sentinel: used when the URL is `redis+sentinel://` or `cache.redis.topology` is `sentinel`.')),
        keyPrefix: z
          .string()
          .max(64)
          .default('wallet:')
          .meta(
            meta(
              'Prefix of every key and channel the services use, so several deployments can share one Redis. It may contain `{` only as one whole hash tag such as `{wallet}:`, which on a Redis Cluster puts every key in one slot (one node).',
            ),
          ),
        commandTimeoutMs: zDurationMs(2_000, 'How long a Redis command may take before it fails.'),
      })
      .prefault({})
      .meta(meta('Used when `cache.type` is `redis`.')),
  })
  .prefault({})
  .meta(meta('Short-lived shared state.'));

const zLogging = z
  .strictObject({
    level: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .meta(meta('Lowest level that is logged.')),
    format: z
      .enum(['json', 'pretty'])
      .default('json')
      .meta(meta('`json`: one JSON object per line (for log collectors); `pretty`: human-readable.')),
    logBodies: z
      .boolean()
      .default(false)
      .meta(
        meta(
          'Log request and response bodies. Debugging only: bodies carry credentials, presentations and tokens.',
        ),
      ),
  })
  .prefault({})
  .meta(meta('Logs go to standard output.'));

const zMetrics = z
  .strictObject({
    enabled: z.boolean().default(true).meta(meta('Collect and expose Prometheus metrics.')),
  })
  .prefault({})
  .meta(meta('Prometheus metrics.'));

const zCrypto = z
  .strictObject({
    signingAlg: z
      .enum(['ES256', 'EdDSA'])
      .default('ES256')
      .meta(meta('JWS algorithm of newly generated service signing keys.')),
    keyRotationIntervalMs: zDurationMs(
      30 * DAY_MS,
      'How often service signing keys are rotated (default 30 days). Larger than a `setTimeout` delay can be: schedule rotation by comparing times, not with one timer.',
    ),
    maxTokenLifetimeMs: zDurationMs(
      DAY_MS,
      'Longest lifetime of a token a service signs (default 1 day). A retired public key stays published this long after rotation.',
    ),
    keyEncryptionKey: z
      .string()
      .refine(isKey32, 'must be base64url of exactly 32 bytes (43 characters)')
      .optional()
      .meta(
        meta(
          'Encrypts service private keys at rest: base64url of 32 random bytes (43 characters). Required in production. Generate one with `node -e "console.log(crypto.randomBytes(32).toString(\'base64url\'))"`.',
          { secret: true },
        ),
      ),
  })
  .prefault({})
  .meta(meta('Service signing keys.'));

/** Fields shared by all services; no cross-field rules (see {@link zConfig}). */
export const zConfigShape = z
  .strictObject({
    mode: z
      .enum(['development', 'production'])
      .default('development')
      .meta(
        meta(
          'Deployment mode. `production` requires `server.adminToken` and `crypto.keyEncryptionKey`; in `development` both may be unset (the admin service generates a token, private keys are stored unencrypted).',
        ),
      ),
    dataDir: z
      .string()
      .min(1)
      .default('./data')
      .meta(meta('Directory for local state. Relative paths are resolved against the working directory.')),
    server: zServer,
    services: zServices,
    allInOne: zAllInOne,
    storage: zStorage,
    vault: zVaultSection,
    cache: zCache,
    logging: zLogging,
    metrics: zMetrics,
    crypto: zCrypto,
    auth: zAuthSection,
    outbound: zOutboundSection,
    trust: zTrustSection,
    admin: zAdminSection,
    verifier: zVerifierSection,
    registry: zRegistrySection,
    engine: zEngineSection,
  })
  .meta(meta('Configuration of the wallet services.'));

/** A cross-field rule: `path` is required (and checked) when `applies` holds. */
export interface ConditionalRule {
  /** The dotted path of the leaf the rule constrains. */
  path: string;
  /** Human-readable condition, used in error messages and in the docs. */
  when: string;
  /** Human-readable requirement, e.g. "required" or "at least 32 characters". */
  requirement: string;
  applies(config: DeepPartialUnknown): boolean;
  /** True when the leaf value satisfies the rule. */
  satisfied(value: unknown): boolean;
}

/** What a refinement sees when other fields may be invalid: anything. */
export type DeepPartialUnknown = { readonly [key: string]: unknown };

function get(config: DeepPartialUnknown, path: string): unknown {
  let node: unknown = config;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

const isSet = (value: unknown): boolean => value !== undefined && value !== null && value !== '';
const hasItems = (value: unknown): boolean => Array.isArray(value) && value.length > 0;

/** The explicit conditional requirements, enforced by {@link zConfig} and listed in the docs. */
export const CONDITIONAL_RULES: readonly ConditionalRule[] = [
  {
    path: 'storage.mongodb.uri',
    when: '`storage.type` is `mongodb`',
    requirement: 'required',
    applies: (c) => get(c, 'storage.type') === 'mongodb',
    satisfied: isSet,
  },
  {
    path: 'cache.redis.url',
    when: '`cache.type` is `redis` and `cache.redis.nodes` is unset',
    requirement: 'required',
    applies: (c) => get(c, 'cache.type') === 'redis' && !hasItems(get(c, 'cache.redis.nodes')),
    satisfied: isSet,
  },
  {
    path: 'cache.redis.nodes',
    when: '`cache.redis.url` is set',
    requirement: 'unset (give the URL or the nodes, not both)',
    applies: (c) => isSet(get(c, 'cache.redis.url')),
    satisfied: (value) => !hasItems(value),
  },
  {
    path: 'cache.redis.sentinel.masterName',
    when: '`cache.type` is `redis`, `cache.redis.topology` is `sentinel` and `cache.redis.url` is unset',
    requirement: 'required',
    applies: (c) =>
      get(c, 'cache.type') === 'redis' && get(c, 'cache.redis.topology') === 'sentinel' && !isSet(get(c, 'cache.redis.url')),
    satisfied: isSet,
  },
  {
    path: 'server.adminToken',
    when: '`mode` is `production`',
    requirement: 'required (at least 32 characters)',
    applies: (c) => get(c, 'mode') === 'production',
    satisfied: (value) => typeof value === 'string' && value.length >= 32,
  },
  {
    path: 'server.trustProxy',
    when: '`server.trustedProxies` is set',
    requirement: 'false (trust either every peer or the listed proxies, not both)',
    applies: (c) => Array.isArray(get(c, 'server.trustedProxies')) && (get(c, 'server.trustedProxies') as unknown[]).length > 0,
    satisfied: (value) => value !== true,
  },
  {
    path: 'crypto.keyEncryptionKey',
    when: '`mode` is `production`',
    requirement: 'required',
    applies: (c) => get(c, 'mode') === 'production',
    satisfied: isSet,
  },
];

/**
 * The validated configuration schema, cross-field rules included. The rules
 * run even when other fields are invalid, so one run reports every problem.
 */
export const zConfig = zConfigShape.superRefine(
  (config, ctx) => {
    const raw = config as unknown as DeepPartialUnknown;
    for (const rule of CONDITIONAL_RULES) {
      if (rule.applies(raw) && !rule.satisfied(get(raw, rule.path))) {
        ctx.addIssue({
          code: 'custom',
          path: rule.path.split('.'),
          message: `${rule.requirement} when ${rule.when.replace(/`/g, '')}`,
        });
      }
    }
  },
  { when: () => true },
);

type ParsedConfig = z.infer<typeof zConfig>;

/** The validated configuration, as every service receives it (derived defaults filled in). */
export type WalletConfig = ParsedConfig & { auth: { origins: string[] } };

/**
 * Defaults that depend on other settings, filled in after validation:
 * `auth.origins` follows `server.publicUrl` and `allInOne.walletPort`.
 */
export function withDerivedDefaults(config: ParsedConfig): WalletConfig {
  const origins = config.auth.origins ?? [
    config.server.publicUrl ? new URL(config.server.publicUrl).origin : `http://localhost:${config.allInOne.walletPort}`,
  ];
  return { ...config, auth: { ...config.auth, origins } };
}

/** What a configuration file may contain: every key optional. */
export type WalletConfigInput = z.input<typeof zConfig>;
