import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIfAvailable, findExecutable } from '../suites';
import type { IngressRoute } from './chart';
import { generateNginxConfig, locationMatchers, locationSettings, type NginxPlan } from './nginx';

const route = (path: string, service: string, port: number, extra: Partial<IngressRoute> = {}): IngressRoute => ({
  ingress: 'wallet-wallet',
  host: 'wallet.localhost',
  path,
  pathType: 'Prefix',
  service,
  port,
  annotations: {},
  ...extra,
});

const plan = (prefix: string, routes: IngressRoute[]): NginxPlan => ({
  prefix,
  listenHost: '127.0.0.1',
  ingressPort: 18990,
  routes,
  services: [
    { name: 'wallet-auth', port: 3001, listenPort: 18991, endpoints: ['127.0.0.1:18992', '127.0.0.1:18993'] },
    { name: 'wallet-engine', port: 3003, listenPort: 18994, endpoints: ['127.0.0.1:18995'] },
  ],
});

describe('the local cluster nginx configuration', () => {
  it('matches Prefix paths by whole segments, Exact paths alone, and refuses paths it cannot express', () => {
    expect(locationMatchers('/user', 'Prefix')).toEqual(['= /user', '/user/']);
    expect(locationMatchers('/issuer/all/', 'Prefix')).toEqual(['= /issuer/all', '/issuer/all/']);
    expect(locationMatchers('/', 'Prefix')).toEqual(['/']);
    expect(locationMatchers('/token', 'Exact')).toEqual(['= /token']);
    expect(() => locationMatchers('/a b', 'Prefix')).toThrow('unsupported Ingress path');
    expect(() => locationMatchers('/a;return 200', 'Prefix')).toThrow('unsupported Ingress path');
    expect(() => locationMatchers('user', 'Prefix')).toThrow('unsupported Ingress path');
  });

  it("applies ingress-nginx's defaults (no response buffering, 60 s timeouts) and the chart's annotations", () => {
    const defaults = locationSettings({});
    expect(defaults).toEqual(expect.arrayContaining(['proxy_buffering off;', 'proxy_read_timeout 60s;', 'client_max_body_size 1m;', 'proxy_next_upstream error timeout;']));
    const chart = locationSettings({ 'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600', 'cert-manager.io/cluster-issuer': 'x' });
    expect(chart).toContain('proxy_read_timeout 3600s;');
    expect(chart).not.toContain('proxy_read_timeout 60s;');
  });

  it('refuses an annotation it does not know or a value it cannot express, so the proxy never silently differs from the chart', () => {
    expect(() => locationSettings({ 'nginx.ingress.kubernetes.io/rewrite-target': '/' })).toThrow('does not know');
    expect(() => locationSettings({ 'nginx.ingress.kubernetes.io/proxy-read-timeout': '60; return 200' })).toThrow('is not a number of seconds');
    expect(() => locationSettings({ 'nginx.ingress.kubernetes.io/proxy-buffering': 'maybe' })).toThrow('neither on nor off');
  });

  it('refuses a route to a Service it has no endpoints for, and a path routed twice', () => {
    expect(() => generateNginxConfig(plan('/tmp/x', [route('/storage', 'wallet-storage', 3002)]))).toThrow('no Service wallet-storage:3002');
    expect(() => generateNginxConfig(plan('/tmp/x', [route('/auth', 'wallet-auth', 3001), route('/auth/', 'wallet-auth', 3001)]))).toThrow('routed twice');
  });
});

const nginx = findExecutable('nginx', ['/usr/sbin', '/usr/local/sbin']);

describeIfAvailable('cluster-nginx:config-test', nginx !== null, 'nginx')('the generated configuration, checked by nginx itself', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wallet-nginx-spec-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes `nginx -t`', () => {
    const prefix = join(dir, 'nginx');
    mkdirSync(prefix, { recursive: true });
    const config = generateNginxConfig({
      ...plan(prefix, [
        route('/auth', 'wallet-auth', 3001, { annotations: { 'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600' } }),
        route('/api/v2/wallet', 'wallet-engine', 3003),
      ]),
      ...(process.getuid?.() === 0 ? { user: 'root root' } : {}),
    });
    const file = join(prefix, 'nginx.conf');
    writeFileSync(file, config);
    const output = execFileSync(nginx!, ['-t', '-p', prefix, '-c', file, '-e', join(prefix, 'error.log')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(output).toBe('');
    expect(config).toContain('location = /auth {');
    expect(config).toContain('location /api/v2/wallet/ {');
    expect(config).toContain('proxy_set_header Upgrade $http_upgrade;');
    expect(config).toContain('proxy_set_header X-Forwarded-For $remote_addr;');
  });
});
