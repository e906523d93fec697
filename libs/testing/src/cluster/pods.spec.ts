import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { K8sObject } from './chart';
import { deploymentPlans, expandReferences, podEnvironment } from './pods';

const b64 = (value: string) => Buffer.from(value, 'utf8').toString('base64');

/** A rendered Deployment with what the chart's pods use: envFrom, secretKeyRef, $(VAR), mounted Secret files, an in-cluster Service URL. */
const objects: K8sObject[] = [
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'wallet-config' }, data: { WALLET_SERVICES_ENGINE_PORT: '3003', WALLET_LOG_LEVEL: 'info' } },
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'wallet-secrets' }, data: { WALLET_SERVER_ADMIN_TOKEN: b64('t'.repeat(40)), 'redis-password': b64('p@ss') } },
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'wallet-files' }, data: { 'roots.pem': b64('-----BEGIN CERTIFICATE-----') } },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'wallet-engine', labels: { 'app.kubernetes.io/component': 'engine' } },
    spec: {
      replicas: 2,
      template: {
        spec: {
          containers: [
            {
              name: 'engine',
              ports: [{ name: 'http', containerPort: 3003 }],
              envFrom: [{ configMapRef: { name: 'wallet-config' } }],
              env: [
                { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'wallet-secrets', key: 'redis-password' } } },
                { name: 'WALLET_CACHE_REDIS_URL', value: 'redis://:$(REDIS_PASSWORD)@127.0.0.1:18408' },
                { name: 'LITERAL', value: '$$(REDIS_PASSWORD)' },
                { name: 'WALLET_ENGINE_REGISTRY_URL', value: 'http://wallet-registry.wallet.svc.cluster.local:3004' },
                { name: 'WALLET_TRUST_ROOTS_FILE', value: '/etc/wallet/files/roots.pem' },
              ],
              volumeMounts: [
                { name: 'files', mountPath: '/etc/wallet/files' },
                { name: 'tmp', mountPath: '/tmp' },
              ],
              readinessProbe: { httpGet: { path: '/health/ready' } },
            },
          ],
          volumes: [
            { name: 'files', secret: { secretName: 'wallet-files' } },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  },
];

describe('pods of the local cluster', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wallet-pods-spec-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('expands $(VAR) as Kubernetes does: defined names only, $$( stays literal', () => {
    expect(expandReferences('a $(X) b $(Y) $$(X)', { X: '1' })).toBe('a 1 b $(Y) $(X)');
  });

  it("gives a replica the pod's environment, its Secret files under the pod's directory (0600), Services at their local listeners and its own port", () => {
    const [plan] = deploymentPlans(objects);
    expect(plan).toMatchObject({ name: 'wallet-engine', component: 'engine', replicas: 2, containerPort: 3003, readinessPath: '/health/ready' });
    const env = podEnvironment(objects, plan!, { dir, port: 18423, namespace: 'wallet', serviceAddresses: new Map([['wallet-registry', '127.0.0.1:18404']]) });
    expect(env).toMatchObject({
      WALLET_LOG_LEVEL: 'info',
      WALLET_CACHE_REDIS_URL: 'redis://:p@ss@127.0.0.1:18408',
      LITERAL: '$(REDIS_PASSWORD)',
      WALLET_ENGINE_REGISTRY_URL: 'http://127.0.0.1:18404',
      WALLET_SERVICES_ENGINE_PORT: '18423',
      WALLET_SERVER_HOST: '127.0.0.1',
    });
    const roots = join(dir, 'fs/etc/wallet/files/roots.pem');
    expect(env['WALLET_TRUST_ROOTS_FILE']).toBe(roots);
    expect(readFileSync(roots, 'utf8')).toBe('-----BEGIN CERTIFICATE-----');
    expect(statSync(roots).mode & 0o777).toBe(0o600);
  });

  it('refuses what it cannot play: a volume of an object the chart did not render', () => {
    const [plan] = deploymentPlans(objects);
    const without = objects.filter((o) => o.metadata.name !== 'wallet-files');
    expect(() => podEnvironment(without, plan!, { dir, port: 18423, namespace: 'wallet', serviceAddresses: new Map() })).toThrow('which the chart did not render');
  });
});
