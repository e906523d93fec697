import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { lookupKey, objectsOfKind, type Container, type DeploymentSpec, type K8sObject, type ServiceSpec, type Volume } from './chart';

/**
 * What the kubelet does for a pod of a rendered Deployment, for a process on
 * this machine: the container's environment (`envFrom` ConfigMaps and
 * Secrets, `env` values with `$(VAR)` expansion, `secretKeyRef` and
 * `configMapKeyRef`), its volumes (ConfigMap and Secret items written as
 * files, `emptyDir`s as directories) under the pod's own directory, with the
 * settings that name mounted paths pointed there, and in-cluster Service
 * addresses (`http://wallet-registry.wallet.svc:3004`) pointed at the local
 * Service listeners.
 */

export const COMPONENT_LABEL = 'app.kubernetes.io/component';

export interface DeploymentPlan {
  name: string;
  /** `app.kubernetes.io/component`: the app whose bundle runs (dist/apps/<component>/main.js). */
  component: string;
  replicas: number;
  container: Container;
  volumes: Volume[];
  /** The container port (the Service's target). */
  containerPort: number;
  readinessPath: string;
}

export interface ServicePlan {
  name: string;
  port: number;
  /** The component its selector picks. */
  component: string;
}

export function deploymentPlans(objects: K8sObject[]): DeploymentPlan[] {
  return objectsOfKind<DeploymentSpec>(objects, 'Deployment').map((deployment) => {
    const component = deployment.metadata.labels?.[COMPONENT_LABEL];
    if (!component) throw new Error(`Deployment ${deployment.metadata.name} has no ${COMPONENT_LABEL} label`);
    const pod = deployment.spec.template.spec;
    if (pod.containers.length !== 1) throw new Error(`Deployment ${deployment.metadata.name}: one container expected`);
    const container = pod.containers[0]!;
    const containerPort = container.ports?.[0]?.containerPort;
    if (!containerPort) throw new Error(`Deployment ${deployment.metadata.name}: no container port`);
    return {
      name: deployment.metadata.name,
      component,
      replicas: deployment.spec.replicas ?? 1,
      container,
      volumes: pod.volumes ?? [],
      containerPort,
      readinessPath: container.readinessProbe?.httpGet?.path ?? '/health/ready',
    };
  });
}

export function servicePlans(objects: K8sObject[]): ServicePlan[] {
  return objectsOfKind<ServiceSpec>(objects, 'Service')
    .filter((service) => service.spec.selector?.[COMPONENT_LABEL])
    .map((service) => ({
      name: service.metadata.name,
      port: service.spec.ports[0]!.port,
      component: service.spec.selector[COMPONENT_LABEL]!,
    }));
}

export interface PodSetup {
  /** The pod's own directory: mounted files and emptyDirs live under `<dir>/fs`. */
  dir: string;
  /** The port this replica listens on, instead of the container port. */
  port: number;
  namespace: string;
  /** Service name -> `host:port` of its local listener. */
  serviceAddresses: Map<string, string>;
}

/** Expands `$(VAR)` references to variables defined before, as Kubernetes does (`$$(VAR)` stays literal). */
export function expandReferences(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$\(|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name: string | undefined) => {
    if (name === undefined) return '$(';
    return name in env ? env[name]! : match;
  });
}

/** The environment of one pod of `plan`, with its mounted files written under `setup.dir`. */
export function podEnvironment(objects: K8sObject[], plan: DeploymentPlan, setup: PodSetup): Record<string, string> {
  const env: Record<string, string> = {};
  const { container } = plan;
  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef ?? source.secretRef;
    if (!ref) continue;
    const kind = source.configMapRef ? 'ConfigMap' : 'Secret';
    const object = objects.find((o) => o.kind === kind && o.metadata.name === ref.name);
    if (!object) throw new Error(`${plan.name}: envFrom ${kind} ${ref.name} is not in the chart's output`);
    for (const key of Object.keys({ ...object.data, ...object.stringData })) env[key] = lookupKey(objects, kind, ref.name, key);
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = expandReferences(String(variable.value), env);
    else if (variable.valueFrom?.secretKeyRef) env[variable.name] = lookupKey(objects, 'Secret', variable.valueFrom.secretKeyRef.name, variable.valueFrom.secretKeyRef.key);
    else if (variable.valueFrom?.configMapKeyRef) env[variable.name] = lookupKey(objects, 'ConfigMap', variable.valueFrom.configMapKeyRef.name, variable.valueFrom.configMapKeyRef.key);
    else throw new Error(`${plan.name}: env ${variable.name} has a source the local cluster does not support`);
  }

  // Volumes: files where the container would see them, under the pod's directory.
  const mounts: Array<{ from: string; to: string }> = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = plan.volumes.find((v) => v.name === mount.name);
    if (!volume) throw new Error(`${plan.name}: volumeMount ${mount.name} has no volume`);
    if (mount.subPath) throw new Error(`${plan.name}: subPath mounts are not supported`);
    const local = join(setup.dir, 'fs', mount.mountPath);
    mkdirSync(local, { recursive: true });
    if (volume.configMap || volume.secret) {
      const kind = volume.configMap ? 'ConfigMap' : 'Secret';
      const name = volume.configMap?.name ?? volume.secret!.secretName;
      const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
      if (!object) throw new Error(`${plan.name}: volume ${volume.name} names ${kind} ${name}, which the chart did not render (an existing object of the cluster?)`);
      const items = (volume.configMap ?? volume.secret)!.items ?? Object.keys({ ...object.data, ...object.stringData }).map((key) => ({ key, path: key }));
      for (const item of items) {
        const file = join(local, item.path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, lookupKey(objects, kind, name, item.key));
        if (kind === 'Secret') chmodSync(file, 0o600);
      }
    } else if (!volume.emptyDir) {
      throw new Error(`${plan.name}: volume ${volume.name} is of a kind the local cluster does not support`);
    }
    mounts.push({ from: mount.mountPath.replace(/\/+$/, ''), to: local });
  }
  // Longest mount path first, so /etc/wallet/x wins over /etc/wallet.
  mounts.sort((a, b) => b.from.length - a.from.length);
  const serviceHost = new RegExp(`\\b([a-z0-9]([-a-z0-9]*[a-z0-9])?)\\.${setup.namespace.replace(/[.]/g, '\\.')}\\.svc(\\.cluster\\.local)?(:\\d+)?`, 'g');
  for (const [name, value] of Object.entries(env)) {
    let next = value;
    const mount = mounts.find((m) => next === m.from || next.startsWith(`${m.from}/`));
    if (mount) next = mount.to + next.slice(mount.from.length);
    next = next.replace(serviceHost, (match, service: string) => setup.serviceAddresses.get(service) ?? match);
    env[name] = next;
  }

  // The replica's own port instead of the container port, on loopback only.
  const portSettings = Object.entries(env).filter(([name, value]) => /^WALLET_SERVICES_[A-Z_]+_PORT$/.test(name) && value === String(plan.containerPort));
  if (portSettings.length !== 1) throw new Error(`${plan.name}: no WALLET_SERVICES_<NAME>_PORT setting names the container port ${plan.containerPort}`);
  env[portSettings[0]![0]] = String(setup.port);
  env['WALLET_SERVER_HOST'] = '127.0.0.1';
  return env;
}
