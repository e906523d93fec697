import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

/**
 * The chart, rendered the way `helm template` renders it (helm/test/clusterrender,
 * the Helm SDK; built and cached by helm/test-chart.sh), and read back as the
 * few Kubernetes objects the local cluster plays: Deployments (what to run,
 * with which environment and files), Services (what the proxy balances over)
 * and Ingresses (the proxy's routes). Nothing here is written twice by hand:
 * the routes, ports, environment and probes come from the rendered chart.
 */

const run = promisify(execFile);
const workspaceRoot = resolve(__dirname, '../../../..');
export const CHART_DIR = join(workspaceRoot, 'helm/wallet');

/** The parts of Kubernetes objects the local cluster reads. */
export interface ObjectMeta {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}

export interface Volume {
  name: string;
  emptyDir?: Record<string, unknown>;
  configMap?: { name: string; items?: Array<{ key: string; path: string }> };
  secret?: { secretName: string; items?: Array<{ key: string; path: string }> };
}

export interface Container {
  name: string;
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string }>;
  readinessProbe?: { httpGet?: { path: string } };
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: unknown;
}

export interface DeploymentSpec {
  replicas?: number;
  template: { spec: { containers: Container[]; volumes?: Volume[] } };
}

export interface ServiceSpec {
  selector: Record<string, string>;
  ports: Array<{ name?: string; port: number; targetPort?: string | number }>;
}

export interface IngressPath {
  path: string;
  pathType: 'Prefix' | 'Exact' | 'ImplementationSpecific';
  backend: { service: { name: string; port: { number?: number; name?: string } } };
}

export interface IngressSpec {
  ingressClassName?: string;
  rules: Array<{ host?: string; http: { paths: IngressPath[] } }>;
}

export interface RenderOptions {
  /** Values files (`-f`), in order. */
  valuesFiles?: string[];
  /** `--set key=value`. */
  set?: Record<string, string>;
  /** `--set-json key=json` (for values with commas, objects, lists). */
  setJson?: Record<string, unknown>;
  release?: string;
  namespace?: string;
}

export interface RenderedChart {
  release: string;
  namespace: string;
  objects: K8sObject[];
  /** The manifests as rendered (multi-document YAML). */
  manifest: string;
}

/** Where clusterrender is; helm/test-chart.sh builds it with Go (from the module proxy) when it is missing. */
export async function clusterRenderBinary(): Promise<string> {
  const explicit = process.env['WALLET_CLUSTERRENDER'];
  if (explicit) return explicit;
  const home = process.env['HOME'] ?? '';
  const { stdout } = await run('bash', [join(workspaceRoot, 'helm/test-chart.sh'), '--clusterrender-path'], {
    maxBuffer: 16 * 1024 * 1024,
    timeout: 15 * 60_000,
    // Where Go usually is when it is not on PATH (as .ci/run adds).
    env: { ...process.env, PATH: `${process.env['PATH'] ?? ''}:/usr/local/go/bin${home ? `:${home}/go/bin` : ''}` },
  });
  const path = stdout.trim().split('\n').pop() ?? '';
  if (!path || !existsSync(path)) throw new Error(`helm/test-chart.sh --clusterrender-path printed no binary (${stdout.trim()})`);
  return path;
}

/** Renders helm/wallet as `helm template` does (no cluster: every `lookup` finds nothing). */
export async function renderChart(options: RenderOptions, emptyClusterFile: string): Promise<RenderedChart> {
  const release = options.release ?? 'wallet';
  const namespace = options.namespace ?? 'wallet';
  writeFileSync(emptyClusterFile, '');
  const args = ['-chart', CHART_DIR, '-cluster', emptyClusterFile, '-release', release, '-namespace', namespace];
  for (const file of options.valuesFiles ?? []) args.push('-f', file);
  for (const [key, value] of Object.entries(options.set ?? {})) args.push('-set', `${key}=${value}`);
  for (const [key, value] of Object.entries(options.setJson ?? {})) args.push('-set-json', `${key}=${JSON.stringify(value)}`);
  const binary = await clusterRenderBinary();
  let manifest: string;
  try {
    manifest = (await run(binary, args, { maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`rendering the chart failed: ${stderr.trim() || String(error)}`);
  }
  return { release, namespace, objects: parseManifest(manifest), manifest };
}

/** The objects of a multi-document manifest. */
export function parseManifest(manifest: string): K8sObject[] {
  return parseAllDocuments(manifest)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null && typeof object === 'object' && typeof object.kind === 'string');
}

export function objectsOfKind<S = unknown>(objects: K8sObject[], kind: string): Array<K8sObject & { spec: S }> {
  return objects.filter((o) => o.kind === kind) as Array<K8sObject & { spec: S }>;
}

/** A key of a rendered Secret (decoded) or ConfigMap. */
export function lookupKey(objects: K8sObject[], kind: 'Secret' | 'ConfigMap', name: string, key: string): string {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!object) throw new Error(`the chart rendered no ${kind} ${name}`);
  if (kind === 'Secret') {
    if (object.stringData && key in object.stringData) return object.stringData[key]!;
    const encoded = object.data?.[key];
    if (encoded === undefined) throw new Error(`Secret ${name} has no key ${key}`);
    return Buffer.from(encoded, 'base64').toString('utf8');
  }
  const value = object.data?.[key];
  if (value === undefined) throw new Error(`ConfigMap ${name} has no key ${key}`);
  return value;
}

/** One route of an Ingress: host, path and the Service behind it, with the Ingress's annotations. */
export interface IngressRoute {
  ingress: string;
  host: string;
  path: string;
  pathType: IngressPath['pathType'];
  service: string;
  port: number;
  annotations: Record<string, string>;
}

export function ingressRoutes(objects: K8sObject[]): IngressRoute[] {
  const routes: IngressRoute[] = [];
  const services = objectsOfKind<ServiceSpec>(objects, 'Service');
  for (const ingress of objectsOfKind<IngressSpec>(objects, 'Ingress')) {
    for (const rule of ingress.spec.rules) {
      for (const path of rule.http.paths) {
        const backend = path.backend.service;
        let port = backend.port.number;
        if (port === undefined) {
          const service = services.find((s) => s.metadata.name === backend.name);
          port = service?.spec.ports.find((p) => p.name === backend.port.name)?.port;
        }
        if (port === undefined) throw new Error(`Ingress ${ingress.metadata.name}: no port for ${backend.name}`);
        routes.push({
          ingress: ingress.metadata.name,
          host: rule.host ?? '',
          path: path.path,
          pathType: path.pathType,
          service: backend.name,
          port,
          annotations: ingress.metadata.annotations ?? {},
        });
      }
    }
  }
  return routes;
}
