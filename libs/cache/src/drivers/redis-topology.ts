import { ValidationError, type ValidationIssue } from '@wallet/domain';

/**
 * Where the redis driver connects: one server, a master found through Redis
 * Sentinel, or a Redis Cluster. Given as a URL or as separate settings.
 *
 * URLs (user name and password percent-encoded; `rediss` for TLS):
 * - `redis://[user[:password]@]host[:port][/db]`: one server (as ioredis reads it);
 * - `redis+sentinel://[user[:password]@]host[:port][,host[:port]...]/<master name>[/db]
 *   [?sentinelUsername=...&sentinelPassword=...]`: the sentinels (default port 26379) and the
 *   name of the master they watch; the credentials before `@` are the data nodes';
 * - `redis+cluster://[user[:password]@]host[:port][,host[:port]...]`: some of the cluster's
 *   nodes (default port 6379); the client learns the others from them.
 *
 * Nothing here ever puts a password into an error message.
 */
export type RedisTopologyKind = 'single' | 'sentinel' | 'cluster';

export interface RedisEndpoint {
  host: string;
  port: number;
}

/** How the redis driver reaches Redis; `url` or `nodes`, not both. */
export interface RedisConnectionOptions {
  /** `redis://`, `rediss://`, `redis+sentinel://`, `rediss+sentinel://`, `redis+cluster://` or `rediss+cluster://`. */
  url?: string | undefined;
  /** With `nodes`: what they are (default `single`). With `url`: must match its scheme when given. */
  topology?: RedisTopologyKind | undefined;
  /** `host:port` entries instead of a URL: the server, the sentinels or some cluster nodes. */
  nodes?: readonly string[] | undefined;
  /** ACL user of the data nodes (not allowed when the URL names one). */
  username?: string | undefined;
  /** Password of the data nodes (not allowed when the URL carries one). */
  password?: string | undefined;
  /** TLS to every node (with `nodes`; a URL says it with `rediss`). */
  tls?: boolean | undefined;
  /** Database number (single server or Sentinel; a cluster has only database 0). */
  database?: number | undefined;
  sentinel?: {
    /** Name of the master the sentinels watch. */
    masterName?: string | undefined;
    username?: string | undefined;
    password?: string | undefined;
  } | undefined;
}

export interface RedisAuth {
  username?: string | undefined;
  password?: string | undefined;
}

export type RedisTopology =
  | {
      kind: 'single';
      /** The URL as given (ioredis reads it, query options included), or null with `endpoint`. */
      url: string | null;
      endpoint: RedisEndpoint | null;
      auth: RedisAuth;
      tls: boolean;
      database: number | undefined;
    }
  | {
      kind: 'sentinel';
      sentinels: RedisEndpoint[];
      masterName: string;
      auth: RedisAuth;
      sentinelAuth: RedisAuth;
      tls: boolean;
      database: number | undefined;
    }
  | { kind: 'cluster'; nodes: RedisEndpoint[]; auth: RedisAuth; tls: boolean };

const DEFAULT_PORT: Record<RedisTopologyKind, number> = { single: 6379, sentinel: 26379, cluster: 6379 };

const SCHEMES: Record<string, { kind: RedisTopologyKind; tls: boolean }> = {
  'redis:': { kind: 'single', tls: false },
  'rediss:': { kind: 'single', tls: true },
  'redis+sentinel:': { kind: 'sentinel', tls: false },
  'rediss+sentinel:': { kind: 'sentinel', tls: true },
  'redis+cluster:': { kind: 'cluster', tls: false },
  'rediss+cluster:': { kind: 'cluster', tls: true },
};

const URL_FORMS =
  'expected redis[s]://[user:password@]host[:port][/db], redis[s]+sentinel://host[:port][,host[:port]...]/<master name>[/db] or redis[s]+cluster://host[:port][,host[:port]...]';

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$/;

/** `host[:port]` or `[v6]:port`; null when malformed. IPv6 brackets are removed from `host`. */
export function parseEndpoint(text: string, defaultPort: number): RedisEndpoint | null {
  const match = /^(\[[^\]]*\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(text.trim());
  if (!match) return null;
  const host = match[1] as string;
  if (!HOST.test(host)) return null;
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (port < 1 || port > 65_535) return null;
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port };
}

function decode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

interface ParsedUrl {
  kind: RedisTopologyKind;
  tls: boolean;
  endpoints: RedisEndpoint[];
  auth: RedisAuth;
  masterName?: string | undefined;
  database?: number | undefined;
  sentinelAuth: RedisAuth;
}

/**
 * Reads a cache URL. Issues name the part that is wrong and never repeat the
 * URL (it may carry a password).
 */
export function parseRedisUrl(url: string, issues: ValidationIssue[], path = '/url'): ParsedUrl | null {
  const schemeEnd = url.indexOf('://');
  const scheme = schemeEnd > 0 ? SCHEMES[`${url.slice(0, schemeEnd).toLowerCase()}:`] : undefined;
  if (!scheme) {
    issues.push({ path, message: URL_FORMS });
    return null;
  }
  const rest = url.slice(schemeEnd + 3);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  const tail = authorityEnd === -1 ? '' : rest.slice(authorityEnd);
  const at = authority.lastIndexOf('@');
  const userinfo = at === -1 ? null : authority.slice(0, at);
  const hostList = authority.slice(at + 1);
  const before = issues.length;

  const auth: RedisAuth = {};
  if (userinfo !== null) {
    const colon = userinfo.indexOf(':');
    const username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon));
    const password = colon === -1 ? '' : decode(userinfo.slice(colon + 1));
    if (username === null || password === null) {
      issues.push({ path, message: 'the user name or password is not percent-encoded correctly' });
    } else {
      if (username) auth.username = username;
      if (password) auth.password = password;
    }
  }

  if (scheme.kind === 'single') {
    // One server: ioredis reads the URL itself (as before); check only what it needs.
    let parsed: URL | null = null;
    try {
      parsed = new URL(url);
    } catch {
      // Reported below.
    }
    if (!parsed || !parsed.hostname) {
      issues.push({ path, message: URL_FORMS });
      return null;
    }
    const db = parsed.pathname.replace(/^\//, '');
    if (db !== '' && !/^\d{1,5}$/.test(db)) issues.push({ path, message: 'the path must be a database number' });
    return issues.length > before
      ? null
      : {
          kind: 'single',
          tls: scheme.tls,
          endpoints: [],
          auth,
          database: db === '' ? undefined : Number(db),
          sentinelAuth: {},
        };
  }

  const endpoints: RedisEndpoint[] = [];
  for (const [index, text] of hostList.split(',').entries()) {
    const endpoint = parseEndpoint(text, DEFAULT_PORT[scheme.kind]);
    if (endpoint) endpoints.push(endpoint);
    else issues.push({ path, message: `host ${index + 1} is not host[:port]` });
  }

  const [pathPart = '', query = ''] = tail.replace(/#.*$/, '').split('?', 2);
  const segments = pathPart.split('/').filter((segment) => segment !== '');
  const result: ParsedUrl = { kind: scheme.kind, tls: scheme.tls, endpoints, auth, sentinelAuth: {} };
  const params = new URLSearchParams(query);

  if (scheme.kind === 'sentinel') {
    const [name, db, ...extra] = segments;
    const masterName = name === undefined ? null : decode(name);
    if (!masterName) issues.push({ path, message: 'the path must name the master: redis+sentinel://hosts/<master name>' });
    else result.masterName = masterName;
    if (db !== undefined) {
      if (/^\d{1,5}$/.test(db)) result.database = Number(db);
      else issues.push({ path, message: 'after the master name, the path may only hold a database number' });
    }
    if (extra.length > 0) issues.push({ path, message: 'the path is /<master name>[/db]' });
    for (const key of params.keys()) {
      if (key !== 'sentinelUsername' && key !== 'sentinelPassword') {
        issues.push({ path, message: `unknown query parameter ${JSON.stringify(key.slice(0, 40))}: only sentinelUsername and sentinelPassword` });
      }
    }
    const sentinelUsername = params.get('sentinelUsername');
    const sentinelPassword = params.get('sentinelPassword');
    if (sentinelUsername) result.sentinelAuth.username = sentinelUsername;
    if (sentinelPassword) result.sentinelAuth.password = sentinelPassword;
  } else {
    if (segments.length > 0) issues.push({ path, message: 'a cluster URL has no path (a cluster has only database 0)' });
    if (query !== '') issues.push({ path, message: 'a cluster URL takes no query parameters' });
  }
  return issues.length > before ? null : result;
}

/**
 * Checks the connection settings and works out the topology. Throws
 * `ValidationError` listing every problem (without echoing secrets).
 */
export function resolveTopology(options: RedisConnectionOptions): RedisTopology {
  const issues: ValidationIssue[] = [];
  const topology = resolve(options, issues);
  if (!topology || issues.length > 0) {
    const first = issues[0];
    throw new ValidationError(
      first
        ? `the cache connection settings are invalid: ${first.path.slice(1).replace(/\//g, '.')} ${first.message}`
        : 'the cache connection settings are invalid',
      issues,
    );
  }
  return topology;
}

function resolve(options: RedisConnectionOptions, issues: ValidationIssue[]): RedisTopology | null {
  const { url, nodes, username, password, tls, database, sentinel = {} } = options;
  if (url !== undefined && nodes !== undefined) {
    issues.push({ path: '/nodes', message: 'set either url or nodes, not both' });
    return null;
  }
  if (url === undefined && (nodes === undefined || nodes.length === 0)) {
    issues.push({ path: '/url', message: 'set url, or nodes with at least one host:port' });
    return null;
  }
  if (database !== undefined && (!Number.isSafeInteger(database) || database < 0)) {
    issues.push({ path: '/database', message: 'expected a whole number >= 0' });
  }

  let kind: RedisTopologyKind;
  let endpoints: RedisEndpoint[];
  let auth: RedisAuth;
  let useTls: boolean;
  let db: number | undefined;
  let masterName = sentinel.masterName;
  const sentinelAuth: RedisAuth = {};
  if (sentinel.username) sentinelAuth.username = sentinel.username;
  if (sentinel.password) sentinelAuth.password = sentinel.password;

  if (url !== undefined) {
    const parsed = parseRedisUrl(url, issues);
    if (!parsed) return null;
    kind = parsed.kind;
    if (options.topology !== undefined && options.topology !== kind) {
      issues.push({ path: '/topology', message: `is ${options.topology}, but the URL's scheme means ${kind}` });
    }
    if (tls !== undefined && tls !== parsed.tls) {
      issues.push({ path: '/tls', message: 'with a URL, TLS is chosen by its scheme (rediss)' });
    }
    if (username !== undefined && parsed.auth.username !== undefined) {
      issues.push({ path: '/username', message: 'the URL names a user already' });
    }
    if (password !== undefined && parsed.auth.password !== undefined) {
      issues.push({ path: '/password', message: 'the URL carries a password already' });
    }
    if (database !== undefined && parsed.database !== undefined) {
      issues.push({ path: '/database', message: 'the URL names a database already' });
    }
    if (masterName !== undefined && parsed.masterName !== undefined) {
      issues.push({ path: '/sentinel/masterName', message: 'the URL names the master already' });
    }
    if (sentinel.password !== undefined && parsed.sentinelAuth.password !== undefined) {
      issues.push({ path: '/sentinel/password', message: 'the URL carries the sentinel password already' });
    }
    endpoints = parsed.endpoints;
    auth = { ...parsed.auth };
    if (username !== undefined) auth.username = username;
    if (password !== undefined) auth.password = password;
    useTls = parsed.tls;
    db = parsed.database ?? database;
    masterName = parsed.masterName ?? masterName;
    Object.assign(sentinelAuth, parsed.sentinelAuth);
  } else {
    kind = options.topology ?? 'single';
    endpoints = [];
    for (const [index, text] of (nodes ?? []).entries()) {
      const endpoint = parseEndpoint(text, DEFAULT_PORT[kind]);
      if (endpoint) endpoints.push(endpoint);
      else issues.push({ path: `/nodes/${index}`, message: 'expected host:port' });
    }
    if (kind === 'single' && endpoints.length > 1) {
      issues.push({ path: '/nodes', message: 'a single server takes one host:port; set topology to sentinel or cluster for more' });
    }
    auth = {};
    if (username) auth.username = username;
    if (password) auth.password = password;
    useTls = tls ?? false;
    db = database;
  }

  if (kind !== 'sentinel') {
    if (options.sentinel?.masterName !== undefined || options.sentinel?.username !== undefined || options.sentinel?.password !== undefined) {
      issues.push({ path: '/sentinel', message: 'applies only to the sentinel topology' });
    }
  }
  if (kind === 'cluster' && db !== undefined && db !== 0) {
    issues.push({ path: '/database', message: 'a Redis Cluster has only database 0' });
  }
  if (kind === 'sentinel' && !masterName) {
    issues.push({ path: '/sentinel/masterName', message: 'the sentinel topology needs the name of the master' });
  }
  if (issues.length > 0) return null;

  switch (kind) {
    case 'single':
      return url !== undefined
        ? { kind, url, endpoint: null, auth: { username, password }, tls: useTls, database }
        : { kind, url: null, endpoint: endpoints[0] as RedisEndpoint, auth, tls: useTls, database: db };
    case 'sentinel':
      return { kind, sentinels: endpoints, masterName: masterName as string, auth, sentinelAuth, tls: useTls, database: db };
    case 'cluster':
      return { kind, nodes: endpoints, auth, tls: useTls };
  }
}

/** Characters of `key` that decide its cluster slot: the first non-empty `{...}`, or the whole key. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i += 1) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/** The Redis Cluster slot of a key (CRC16/XMODEM of its hash tag, modulo 16384). */
export function hashSlot(key: string): number {
  let crc = 0;
  for (const byte of Buffer.from(hashTagOf(key), 'utf8')) {
    crc = ((crc << 8) & 0xffff) ^ (CRC16_TABLE[((crc >> 8) ^ byte) & 0xff] as number);
  }
  return crc % 16_384;
}

/**
 * A key prefix must not open a hash tag that the rest of the key would close:
 * `{` in the prefix is allowed only as a whole, non-empty `{tag}` (which then
 * puts every key of the deployment in one slot).
 */
export function checkKeyPrefix(prefix: string): string | null {
  const open = prefix.indexOf('{');
  if (open === -1) return null;
  const close = prefix.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) {
    return 'may contain "{" only as a complete, non-empty hash tag such as {wallet}';
  }
  return null;
}
