import type { IngressRoute } from './chart';

/**
 * nginx configuration for the local cluster, generated from the chart's
 * rendered Ingresses and Services, so the routes exist once (in the chart):
 *
 * - the ingress: one listener for every Ingress host, routing by host and
 *   path the way ingress-nginx does (pathType Prefix matches whole path
 *   segments, Exact the path only, the longest match wins), with
 *   ingress-nginx's defaults (HTTP/1.1 and WebSocket upgrade to the upstream,
 *   response buffering off so event streams flow, X-Forwarded-* set from the
 *   connection, not trusted from the client, a 1 MiB body limit, 5 s connect
 *   and 60 s read/send timeouts, next upstream on error or timeout) and the
 *   annotations it understands (proxy timeouts, body size, buffering);
 * - the Services: one listener per Service, balancing over its replicas, as
 *   kube-proxy does for in-cluster callers (the engine's registry URL, the
 *   admin API, readiness checks like `helm test`'s).
 *
 * Upstreams are the replicas' addresses, round robin. Unlike Kubernetes, no
 * readiness gate removes a replica from them: a replica that is down refuses
 * the connection and nginx tries the next one. Every answer carries
 * `X-Wallet-Upstream` (the replica or replicas tried), for tests and for
 * watching requests spread over replicas.
 */

export interface NginxService {
  /** The Service's name (`wallet-auth`): the upstream's name. */
  name: string;
  /** The Service's port in the chart (3001): what Ingress backends name. */
  port: number;
  /** Where the local Service listens (kube-proxy's job). */
  listenPort: number;
  /** `127.0.0.1:<port>` of each replica. */
  endpoints: string[];
}

export interface NginxPlan {
  /** nginx's prefix directory: pid file, logs, temporary files. */
  prefix: string;
  listenHost: string;
  /** The port every Ingress host is served on. */
  ingressPort: number;
  routes: IngressRoute[];
  services: NginxService[];
  /** `user` directive when nginx runs as root (its workers must write the temporary directories). */
  user?: string;
}

const ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io/';

/** ingress-nginx's defaults for the settings the annotations below change. */
const DEFAULTS = {
  'proxy-connect-timeout': '5',
  'proxy-read-timeout': '60',
  'proxy-send-timeout': '60',
  'proxy-body-size': '1m',
  'proxy-buffering': 'off',
  'proxy-request-buffering': 'on',
  'proxy-next-upstream': 'error timeout',
  'proxy-next-upstream-tries': '3',
} as const;
type Setting = keyof typeof DEFAULTS;

const seconds = (value: string, name: string) => {
  if (!/^\d+$/.test(value)) throw new Error(`${ANNOTATION_PREFIX}${name}: "${value}" is not a number of seconds`);
  return `${value}s`;
};

/** nginx directives per ingress-nginx setting. */
const DIRECTIVES: Record<Setting, (value: string) => string> = {
  'proxy-connect-timeout': (v) => `proxy_connect_timeout ${seconds(v, 'proxy-connect-timeout')};`,
  'proxy-read-timeout': (v) => `proxy_read_timeout ${seconds(v, 'proxy-read-timeout')};`,
  'proxy-send-timeout': (v) => `proxy_send_timeout ${seconds(v, 'proxy-send-timeout')};`,
  'proxy-body-size': (v) => {
    if (!/^\d+[kKmMgG]?$/.test(v)) throw new Error(`${ANNOTATION_PREFIX}proxy-body-size: "${v}" is not a size`);
    return `client_max_body_size ${v};`;
  },
  'proxy-buffering': (v) => `proxy_buffering ${onOff(v, 'proxy-buffering')};`,
  'proxy-request-buffering': (v) => `proxy_request_buffering ${onOff(v, 'proxy-request-buffering')};`,
  'proxy-next-upstream': (v) => {
    if (!/^[a-z_0-9 ]+$/.test(v)) throw new Error(`${ANNOTATION_PREFIX}proxy-next-upstream: "${v}"`);
    return `proxy_next_upstream ${v};`;
  },
  'proxy-next-upstream-tries': (v) => {
    if (!/^\d+$/.test(v)) throw new Error(`${ANNOTATION_PREFIX}proxy-next-upstream-tries: "${v}"`);
    return `proxy_next_upstream_tries ${v};`;
  },
};

function onOff(value: string, name: string): 'on' | 'off' {
  if (value === 'on' || value === 'off') return value;
  throw new Error(`${ANNOTATION_PREFIX}${name}: "${value}" is neither on nor off`);
}

/**
 * The settings of one Ingress's locations: the defaults, then its
 * annotations. An ingress-nginx annotation this generator does not know is
 * an error, so a chart change never leaves the local proxy silently behind.
 */
export function locationSettings(annotations: Record<string, string>): string[] {
  const settings: Record<Setting, string> = { ...DEFAULTS };
  for (const [name, value] of Object.entries(annotations)) {
    if (!name.startsWith(ANNOTATION_PREFIX)) continue;
    const setting = name.slice(ANNOTATION_PREFIX.length);
    if (!(setting in DIRECTIVES)) {
      throw new Error(`the chart's Ingress sets ${name}, which the local cluster's nginx generator does not know (libs/testing/src/cluster/nginx.ts)`);
    }
    settings[setting as Setting] = String(value);
  }
  return (Object.keys(DIRECTIVES) as Setting[]).map((setting) => DIRECTIVES[setting](settings[setting]));
}

/** nginx `location` blocks matching a path as its pathType says (ingress-nginx's translation). */
export function locationMatchers(path: string, pathType: IngressRoute['pathType']): string[] {
  if (!path.startsWith('/') || /[\s;{}"'\\]/.test(path)) throw new Error(`unsupported Ingress path "${path}"`);
  if (pathType === 'Exact') return [`= ${path}`];
  if (path === '/') return ['/'];
  const trimmed = path.replace(/\/+$/, '');
  // Prefix: whole segments (/user matches /user and /user/x, not /users).
  if (pathType === 'Prefix') return [`= ${trimmed}`, `${trimmed}/`];
  return [trimmed];
}

const PROXY_HEADERS = [
  'proxy_http_version 1.1;',
  'proxy_set_header Host $http_host;',
  'proxy_set_header Upgrade $http_upgrade;',
  'proxy_set_header Connection $connection_upgrade;',
  // As ingress-nginx without use-forwarded-headers: what the client sent is replaced, not extended.
  'proxy_set_header X-Forwarded-For $remote_addr;',
  'proxy_set_header X-Real-IP $remote_addr;',
  'proxy_set_header X-Forwarded-Host $host;',
  'proxy_set_header X-Forwarded-Port $server_port;',
  'proxy_set_header X-Forwarded-Proto $scheme;',
  'proxy_set_header X-Request-ID $request_id;',
  'proxy_redirect off;',
  'add_header X-Wallet-Upstream $upstream_addr always;',
];

const indent = (lines: string[], depth: number) => lines.map((line) => `${'  '.repeat(depth)}${line}`);

export function generateNginxConfig(plan: NginxPlan): string {
  const services = new Map(plan.services.map((s) => [s.name, s]));
  const lines: string[] = [
    '# Generated by libs/testing/src/cluster/nginx.ts from the chart\'s rendered Ingresses and Services. Do not edit.',
    ...(plan.user ? [`user ${plan.user};`] : []),
    'worker_processes 1;',
    'daemon off;',
    'master_process on;',
    `pid ${plan.prefix}/nginx.pid;`,
    `error_log ${plan.prefix}/error.log warn;`,
    'events { worker_connections 4096; }',
    'http {',
    ...indent(
      [
        `client_body_temp_path ${plan.prefix}/client_body;`,
        `proxy_temp_path ${plan.prefix}/proxy;`,
        `fastcgi_temp_path ${plan.prefix}/fastcgi;`,
        `uwsgi_temp_path ${plan.prefix}/uwsgi;`,
        `scgi_temp_path ${plan.prefix}/scgi;`,
        "log_format cluster '$remote_addr $host \"$request\" $status $body_bytes_sent $request_time upstream=$upstream_addr upstream_status=$upstream_status';",
        `access_log ${plan.prefix}/access.log cluster;`,
        'server_tokens off;',
        'map $http_upgrade $connection_upgrade { default upgrade; \'\' close; }',
        '',
      ],
      1,
    ),
  ];

  for (const service of plan.services) {
    if (service.endpoints.length === 0) throw new Error(`Service ${service.name} has no endpoints`);
    lines.push(
      ...indent([`upstream ${service.name} {`, ...indent(service.endpoints.map((e) => `server ${e} max_fails=0;`), 1), '}'], 1),
    );
  }
  const listen = `${plan.listenHost}:${plan.ingressPort}`;

  // Unknown hosts: ingress-nginx's default backend answers 404.
  lines.push(...indent(['', `server {`, `  listen ${listen} default_server;`, '  server_name _;', '  location / { return 404; }', '}'], 1));

  const hosts = new Map<string, IngressRoute[]>();
  for (const route of plan.routes) {
    if (!route.host) throw new Error(`Ingress ${route.ingress}: a rule without host is not supported`);
    hosts.set(route.host, [...(hosts.get(route.host) ?? []), route]);
  }
  for (const [host, routes] of hosts) {
    if (!/^[a-z0-9.-]+$/.test(host)) throw new Error(`unsupported Ingress host "${host}"`);
    const body: string[] = [`listen ${listen};`, `server_name ${host};`];
    const seen = new Set<string>();
    for (const route of routes) {
      const service = [...services.values()].find((s) => s.name === route.service && s.port === route.port);
      if (!service) throw new Error(`Ingress ${route.ingress}: no Service ${route.service}:${route.port}`);
      const settings = locationSettings(route.annotations);
      for (const matcher of locationMatchers(route.path, route.pathType)) {
        if (seen.has(matcher)) throw new Error(`Ingress host ${host}: path ${matcher} is routed twice`);
        seen.add(matcher);
        body.push(`location ${matcher} {`, ...indent([`# ${route.ingress}: ${route.path} (${route.pathType}) -> ${route.service}:${route.port}`, ...settings, ...PROXY_HEADERS, `proxy_pass http://${service.name};`], 1), '}');
      }
    }
    // No route for "/": the rest of the host goes to the default backend.
    if (!seen.has('/')) body.push('location / { return 404; }');
    lines.push(...indent(['', 'server {', ...indent(body, 1), '}'], 1));
  }

  // The Services: plain pass-through to the replicas (no forwarded headers, as kube-proxy adds none).
  for (const service of plan.services) {
    lines.push(
      ...indent(
        [
          '',
          `# Service ${service.name} (port ${service.port})`,
          'server {',
          `  listen ${plan.listenHost}:${service.listenPort};`,
          '  location / {',
          '    proxy_http_version 1.1;',
          '    proxy_set_header Host $http_host;',
          '    proxy_set_header Upgrade $http_upgrade;',
          '    proxy_set_header Connection $connection_upgrade;',
          '    proxy_buffering off;',
          '    proxy_request_buffering off;',
          '    client_max_body_size 0;',
          '    proxy_connect_timeout 5s;',
          '    proxy_read_timeout 3600s;',
          '    proxy_send_timeout 3600s;',
          '    add_header X-Wallet-Upstream $upstream_addr always;',
          `    proxy_pass http://${service.name};`,
          '  }',
          '}',
        ],
        1,
      ),
    );
  }
  lines.push('}', '');
  return lines.join('\n');
}
