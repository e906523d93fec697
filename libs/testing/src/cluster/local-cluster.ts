import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findMongoBinary } from '../mongo-server';
import { findExecutable, type SuiteRequirement } from '../suites';
import { ingressRoutes, renderChart, type IngressRoute, type RenderOptions } from './chart';
import { generateNginxConfig } from './nginx';
import { deploymentPlans, podEnvironment, servicePlans, type DeploymentPlan, type ServicePlan } from './pods';
import { accepts, httpGet, ManagedProcess, portFree, sleep, statusOf, waitFor } from './processes';
import { ClusterRedis, ClusterStore } from './stores';

/**
 * A local cluster that looks like the chart: helm/wallet rendered as
 * `helm template` renders it (libs/testing/src/cluster/values.yaml plus the
 * local addresses), every replica of every Deployment as a process of its
 * own (the built bundle, dist/apps/<app>/main.js, with the environment and
 * files the pod would get), an nginx in front configured from the rendered
 * Ingresses (and standing in for the Services), its own Redis and its own
 * MongoDB wire-protocol server. `npm run cluster` (tools/scripts/cluster.mjs)
 * runs it for people; e2e/src/cluster runs it for tests, with handles to
 * kill and restart any replica, Redis or the store.
 *
 * Ports, from `basePort` B (default 18400): B the ingress (every Ingress
 * host), B+1..B+6 the Services in the order of their chart ports (auth 3001
 * .. verifier 3006), B+8 Redis, B+9 the store, B+10*(r+1)+k+1 replica r of
 * the k-th service (auth B+11, B+21; storage B+12, B+22; ...). Everything
 * listens on 127.0.0.1.
 */

const workspaceRoot = resolve(__dirname, '../../../..');
export const CLUSTER_VALUES_FILE = join(__dirname, 'values.yaml');
export const DEFAULT_BASE_PORT = 18400;
const HOST = '127.0.0.1';
const MAX_REPLICAS = 4;
const NGINX_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin'];

/**
 * What this machine lacks to run the local cluster, as a suite requirement
 * (`describeIfAvailable`), or null: nginx, redis-server, a MongoDB
 * wire-protocol server (FerretDB or mongod), Go to build the chart renderer.
 */
export function localClusterMissing(): SuiteRequirement | string | null {
  if (!findExecutable('nginx', NGINX_DIRS)) return 'nginx';
  if (!findExecutable('redis-server')) return 'redis';
  if (!findMongoBinary()) return 'mongodb';
  if (!process.env['WALLET_CLUSTERRENDER'] && !findExecutable('go', ['/usr/local/go/bin'])) {
    return 'Go is not installed: helm/test-chart.sh builds the chart renderer (helm/test/clusterrender) with it';
  }
  return null;
}

export interface LocalClusterOptions {
  basePort?: number;
  /** Where logs, pod directories and nginx's files go. Default: a fresh temporary directory, removed by `stop`. */
  stateDir?: string;
  /** Chart values on top of values.yaml (tests: loopback peers, verifier files, ...). */
  values?: Pick<RenderOptions, 'valuesFiles' | 'set' | 'setJson'>;
  /** `Always`: a replica that exits is started again (with a back-off), as the kubelet does. Default `Never`. */
  restartPolicy?: 'Always' | 'Never';
  /** Progress messages. */
  log?: (message: string) => void;
  /** How long one replica may take to become ready. Default 90 s. */
  readyTimeoutMs?: number;
  /** How many replicas start at the same time. Default the number of CPUs (at least 2). */
  startConcurrency?: number;
}

export interface ClusterUrls {
  /** http://wallet.localhost:B (the wallet host of the Ingress). */
  wallet: string;
  /** http://verifier.localhost:B. */
  verifier: string;
  /** Service name (wallet-auth, ...) -> http://127.0.0.1:<listener>. */
  services: Record<string, string>;
}

export type ReplicaState = 'starting' | 'ready' | 'down' | 'stopped';

/** One pod: a process of a Deployment's replica. */
export class Replica {
  state: ReplicaState = 'down';
  private stopping = false;
  private backoffMs = 1000;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly deployment: DeploymentPlan,
    readonly index: number,
    readonly port: number,
    readonly process: ManagedProcess,
    private readonly options: { readyTimeoutMs: number; restartPolicy: 'Always' | 'Never'; log: (message: string) => void },
  ) {
    process.onExit((code, signal) => {
      const wasReady = this.state === 'ready';
      this.state = this.stopping ? 'stopped' : 'down';
      if (this.stopping || this.options.restartPolicy !== 'Always') return;
      this.options.log(`${this.name} exited with ${signal ?? code}${wasReady ? '' : ' before it was ready'}; restarting in ${this.backoffMs / 1000} s`);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        this.start().then(
          () => {
            this.backoffMs = 1000;
            this.options.log(`${this.name} is ready again (pid ${this.pid})`);
          },
          (error: unknown) => this.options.log(`${this.name} did not start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`),
        );
      }, this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
    });
  }

  /** `wallet-auth-0`. */
  get name(): string {
    return `${this.deployment.name}-${this.index}`;
  }

  get component(): string {
    return this.deployment.component;
  }

  /** `127.0.0.1:<port>`, as nginx's X-Wallet-Upstream names it. */
  get address(): string {
    return `${HOST}:${this.port}`;
  }

  get url(): string {
    return `http://${this.address}`;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Starts the process and waits for its `ready` log line and its readiness probe (as the kubelet does). */
  async start(): Promise<void> {
    this.stopping = false;
    this.state = 'starting';
    const ready = new Promise<void>((resolveReady, reject) => {
      const off = this.process.onLine((line) => {
        if (line.includes('"msg":"ready"')) {
          off();
          offExit();
          resolveReady();
        }
      });
      const offExit = this.process.onExit((code, signal) => {
        off();
        offExit();
        reject(new Error(`${this.name} exited with ${signal ?? code} before it was ready:\n${this.process.lastOutput()}`));
      });
    });
    this.process.spawn();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ready,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${this.name} was not ready within ${this.options.readyTimeoutMs} ms:\n${this.process.lastOutput()}`)), this.options.readyTimeoutMs);
        }),
      ]);
      await waitFor(async () => (await statusOf(`${this.url}${this.deployment.readinessPath}`)) === 200, this.options.readyTimeoutMs, () => `${this.name}: ${this.deployment.readinessPath} never answered 200`, 100);
    } catch (error) {
      await this.process.kill('SIGKILL');
      throw error;
    } finally {
      clearTimeout(timer);
    }
    this.state = 'ready';
  }

  /** kill -<signal> (default -9); resolves once the process is gone. It stays down (restartPolicy Never) until `start`. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.process.kill(signal);
  }

  /** From now on an exit is a stop, not a crash to restart after. */
  markStopping(): void {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }

  /** Graceful stop: SIGTERM (the service drains), SIGKILL after the pod's grace period. */
  async stop(): Promise<void> {
    this.markStopping();
    await this.process.stop(20_000);
    this.state = 'stopped';
  }
}

export class LocalCluster {
  readonly replicas: Replica[] = [];
  readonly urls: ClusterUrls;
  readonly walletHost: string;
  readonly verifierHost: string;
  readonly ingressPort: number;
  readonly adminToken: string;
  readonly adminTokenFile: string;
  readonly routes: IngressRoute[];
  readonly services: ServicePlan[];
  readonly nginxConfigFile: string;
  readonly logDir: string;
  /** True once `stop` began. */
  stopped = false;
  private readinessTimer: NodeJS.Timeout | null = null;

  private constructor(
    readonly stateDir: string,
    private readonly ownsStateDir: boolean,
    readonly redis: ClusterRedis,
    readonly store: ClusterStore,
    readonly nginx: ManagedProcess,
    init: {
      urls: ClusterUrls;
      walletHost: string;
      verifierHost: string;
      ingressPort: number;
      adminToken: string;
      routes: IngressRoute[];
      services: ServicePlan[];
      nginxConfigFile: string;
    },
  ) {
    this.urls = init.urls;
    this.walletHost = init.walletHost;
    this.verifierHost = init.verifierHost;
    this.ingressPort = init.ingressPort;
    this.adminToken = init.adminToken;
    this.adminTokenFile = join(stateDir, 'admin-token');
    this.routes = init.routes;
    this.services = init.services;
    this.nginxConfigFile = init.nginxConfigFile;
    this.logDir = join(stateDir, 'logs');
  }

  /** Starts everything and waits until every Service and every Ingress route answers through nginx. */
  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const base = options.basePort ?? DEFAULT_BASE_PORT;
    const log = options.log ?? (() => undefined);
    const nginxBinary = findExecutable('nginx', NGINX_DIRS);
    if (!nginxBinary) throw new Error('nginx is not installed (sudo apt-get install nginx-light)');
    const ownsStateDir = !options.stateDir;
    const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'wallet-cluster-'));
    const logDir = join(stateDir, 'logs');
    mkdirSync(logDir, { recursive: true });

    const busy: number[] = [];
    for (const port of [base, ...Array.from({ length: 6 }, (_, k) => base + 1 + k), base + 8, base + 9]) {
      if (!(await portFree(HOST, port))) busy.push(port);
    }
    if (busy.length > 0) {
      throw new Error(`ports ${busy.join(', ')} on ${HOST} are in use (another local cluster?); choose other ports with --base-port (WALLET_CLUSTER_BASE_PORT)`);
    }

    const redis = new ClusterRedis(base + 8, join(stateDir, 'redis'), logDir);
    const store = await ClusterStore.create({ port: base + 9, dir: join(stateDir, 'store'), logDir, postgresDatabase: `wallet_cluster_${base}` });
    const nginx = new ManagedProcess({
      name: 'nginx',
      command: nginxBinary,
      args: ['-p', join(stateDir, 'nginx'), '-c', join(stateDir, 'nginx', 'nginx.conf'), '-e', join(stateDir, 'nginx', 'error.log')],
      env: { PATH: process.env['PATH'] ?? '' },
      cwd: stateDir,
      logFile: join(logDir, 'nginx.log'),
    });
    const walletHost = 'wallet.localhost';
    const verifierHost = 'verifier.localhost';
    const urls: ClusterUrls = { wallet: `http://${walletHost}:${base}`, verifier: `http://${verifierHost}:${base}`, services: {} };

    let cluster: LocalCluster | null = null;
    let tornDown = false;
    try {
      log(`starting Redis on ${HOST}:${redis.port} and the store (${store.description}) on ${HOST}:${store.port}`);
      await Promise.all([redis.start(), store.start()]);
      if (options.restartPolicy === 'Always') {
        // As Kubernetes restarts the chart's bundled Redis and MongoDB pods.
        for (const server of [redis, store]) {
          server.process.onExit((code, signal) => {
            if (tornDown || cluster?.stopped) return;
            log(`${server.process.name} exited with ${signal ?? code}; restarting in 1 s`);
            setTimeout(() => {
              if (tornDown || cluster?.stopped) return;
              server.start().then(
                () => log(`${server.process.name} is up again`),
                (error: unknown) => log(`${server.process.name} did not start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`),
              );
            }, 1000);
          });
        }
      }

      log('rendering helm/wallet');
      const rendered = await renderChart(
        {
          valuesFiles: [CLUSTER_VALUES_FILE, ...(options.values?.valuesFiles ?? [])],
          set: {
            'ingress.wallet.host': walletHost,
            'ingress.verifier.host': verifierHost,
            'ingress.wallet.publicUrl': urls.wallet,
            'ingress.verifier.publicUrl': urls.verifier,
            ...options.values?.set,
          },
          setJson: {
            'externalMongodb.uri': `${store.url}/wallet`,
            'externalRedis.url': redis.url,
            ...options.values?.setJson,
          },
        },
        join(stateDir, 'empty-cluster.yaml'),
      );
      // The rendered Secrets are in it (admin token, key-encryption key, Redis password): owner only.
      writeFileSync(join(stateDir, 'manifest.yaml'), rendered.manifest, { mode: 0o600 });
      const deployments = deploymentPlans(rendered.objects).sort((a, b) => a.containerPort - b.containerPort);
      const services = servicePlans(rendered.objects).sort((a, b) => a.port - b.port);
      const routes = ingressRoutes(rendered.objects);
      if (deployments.length > 9) throw new Error('more than nine Deployments: the port layout has no room');
      const adminSecret = rendered.objects.find((o) => o.kind === 'Secret' && o.data?.['WALLET_SERVER_ADMIN_TOKEN']);
      const adminToken = adminSecret ? Buffer.from(adminSecret.data!['WALLET_SERVER_ADMIN_TOKEN']!, 'base64').toString('utf8') : '';

      const serviceAddresses = new Map<string, string>();
      services.forEach((service, k) => {
        serviceAddresses.set(service.name, `${HOST}:${base + 1 + k}`);
        urls.services[service.name] = `http://${HOST}:${base + 1 + k}`;
      });

      const nginxConfigFile = join(stateDir, 'nginx', 'nginx.conf');
      const created = new LocalCluster(stateDir, ownsStateDir, redis, store, nginx, {
        urls,
        walletHost,
        verifierHost,
        ingressPort: base,
        adminToken,
        routes,
        services,
        nginxConfigFile,
      });
      cluster = created;
      writeFileSync(cluster.adminTokenFile, `${adminToken}\n`, { mode: 0o600 });

      deployments.forEach((deployment, k) => {
        const bundle = join(workspaceRoot, 'dist/apps', deployment.component, 'main.js');
        if (!existsSync(bundle)) throw new Error(`${bundle} is missing: build the apps first (npm run build)`);
        if (deployment.replicas > MAX_REPLICAS) throw new Error(`${deployment.name}: at most ${MAX_REPLICAS} replicas in the local cluster`);
        for (let r = 0; r < deployment.replicas; r++) {
          const port = base + 10 * (r + 1) + k + 1;
          const dir = join(stateDir, 'pods', `${deployment.name}-${r}`);
          mkdirSync(dir, { recursive: true });
          const env = podEnvironment(rendered.objects, deployment, { dir, port, namespace: rendered.namespace, serviceAddresses });
          const managed = new ManagedProcess({
            name: `${deployment.name}-${r}`,
            command: process.execPath,
            args: [bundle],
            // What the image sets (docker/Dockerfile), then the pod's environment.
            env: { PATH: process.env['PATH'] ?? '', NODE_ENV: 'production', NODE_OPTIONS: '--enable-source-maps', ...env },
            cwd: dir,
            logFile: join(logDir, `${deployment.name}-${r}.log`),
          });
          created.replicas.push(
            new Replica(deployment, r, port, managed, {
              readyTimeoutMs: options.readyTimeoutMs ?? 90_000,
              restartPolicy: options.restartPolicy ?? 'Never',
              log,
            }),
          );
        }
      });

      log(`starting ${cluster.replicas.length} replicas: ${deployments.map((d) => `${d.component} x${d.replicas}`).join(', ')}`);
      const started = Date.now();
      // A few at a time: twelve Node processes booting at once on a small machine starve each
      // other (and their first Redis commands time out). Kubernetes would spread them over nodes.
      const queue = [...cluster.replicas];
      const concurrency = options.startConcurrency ?? Math.max(2, availableParallelism());
      const starts = await Promise.allSettled(
        Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
          for (let replica = queue.shift(); replica; replica = queue.shift()) {
            try {
              await replica.start();
            } catch (error) {
              // Start no more; the ones under way finish (or fail) before everything is stopped.
              queue.length = 0;
              throw error;
            }
          }
        }),
      );
      const failed = starts.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      log(`replicas ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

      mkdirSync(join(stateDir, 'nginx'), { recursive: true });
      writeFileSync(
        nginxConfigFile,
        generateNginxConfig({
          prefix: join(stateDir, 'nginx'),
          listenHost: HOST,
          ingressPort: base,
          routes,
          services: services.map((service, k) => ({
            name: service.name,
            port: service.port,
            listenPort: base + 1 + k,
            endpoints: created.replicas.filter((r) => r.component === service.component).map((r) => r.address),
          })),
          ...(process.getuid?.() === 0 ? { user: 'root root' } : {}),
        }),
      );
      log(`starting nginx on ${HOST}:${base}`);
      nginx.spawn();
      await waitFor(
        async () => {
          if (!nginx.running) throw new Error(`nginx ${nginx.describeExit()}:\n${nginx.lastOutput()}`);
          return accepts(HOST, base);
        },
        10_000,
        () => `nginx does not listen on ${base}:\n${nginx.lastOutput()}`,
        50,
      );
      await cluster.waitReady(60_000);
      return cluster;
    } catch (error) {
      tornDown = true;
      if (cluster) await cluster.stop().catch(() => undefined);
      else {
        await Promise.all([redis.stop(), store.stop()]).catch(() => undefined);
        await store.destroy().catch(() => undefined);
        await Promise.all([redis.process.close(), store.process.close(), nginx.close()]);
        if (ownsStateDir) rmSync(stateDir, { recursive: true, force: true });
      }
      throw error;
    }
  }

  /** The replicas of a component (`auth`, ...) or Deployment (`wallet-auth`). */
  replicasOf(service: string): Replica[] {
    const list = this.replicas.filter((r) => r.component === service || r.deployment.name === service);
    if (list.length === 0) throw new Error(`no replicas of ${service}`);
    return list;
  }

  replica(service: string, index: number): Replica {
    const replica = this.replicasOf(service)[index];
    if (!replica) throw new Error(`no replica ${index} of ${service}`);
    return replica;
  }

  /** The replica nginx names in X-Wallet-Upstream (`127.0.0.1:18411`). */
  replicaAt(address: string): Replica | undefined {
    return this.replicas.find((r) => r.address === address.trim());
  }

  /** The local Service listener of a component. */
  serviceUrl(component: string): string {
    const service = this.services.find((s) => s.component === component);
    if (!service) throw new Error(`no Service selects ${component}`);
    return this.urls.services[service.name]!;
  }

  /**
   * Waits until every Service answers its readiness path 200 through its
   * listener, and every Ingress route reaches a replica (whatever it answers
   * for the bare path, the answer came from an upstream).
   */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      async () => (await this.notReady()).length === 0,
      timeoutMs,
      () => 'the cluster did not become ready through nginx',
      200,
    ).catch(async (error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}: ${(await this.notReady()).join('; ')}`);
    });
  }

  /** What does not answer through nginx yet (empty when all does). */
  async notReady(): Promise<string[]> {
    const problems: string[] = [];
    await Promise.all(
      this.services.map(async (service) => {
        const replica = this.replicasOf(service.component)[0]!;
        const status = await statusOf(`${this.urls.services[service.name]}${replica.deployment.readinessPath}`);
        if (status !== 200) problems.push(`Service ${service.name}: ${replica.deployment.readinessPath} ${status || 'no answer'}`);
      }),
    );
    await Promise.all(
      this.routes.map(async (route) => {
        try {
          const answer = await httpGet(`http://${HOST}:${this.ingressPort}${route.path}`, { host: `${route.host}:${this.ingressPort}` });
          if (!answer.headers['x-wallet-upstream'] || answer.status >= 502) problems.push(`${route.host}${route.path}: ${answer.status}`);
        } catch (error) {
          problems.push(`${route.host}${route.path}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }),
    );
    return problems;
  }

  /**
   * Probes every running replica's readiness path every `intervalMs` (as the
   * kubelet does) and reports each change (`wallet-auth-0 not ready (503)`,
   * `... ready again`), so a person watching `npm run cluster` sees a Redis or
   * store outage as Kubernetes would show it. Stopped by `stop`.
   */
  watchReadiness(report: (message: string) => void, intervalMs = 2000): void {
    if (this.readinessTimer) return;
    const last = new Map<string, number>();
    let probing = false;
    this.readinessTimer = setInterval(() => {
      if (probing || this.stopped) return;
      probing = true;
      void Promise.all(
        this.replicas
          .filter((r) => r.state === 'ready')
          .map(async (replica) => {
            const status = await statusOf(`${replica.url}${replica.deployment.readinessPath}`, { timeoutMs: intervalMs });
            const before = last.get(replica.name) ?? 200;
            last.set(replica.name, status);
            if (before === 200 && status !== 200) report(`${replica.name} not ready (${status || 'no answer'})`);
            else if (before !== 200 && status === 200) report(`${replica.name} ready again`);
          }),
      ).finally(() => {
        probing = false;
      });
    }, intervalMs);
    this.readinessTimer.unref();
  }

  /** What to tell a person: where everything is. */
  describe(): string {
    const lines = [
      `wallet host:   ${this.urls.wallet}   (Ingress ${this.routes.filter((r) => r.host === this.walletHost).map((r) => r.path).join(' ')})`,
      `verifier host: ${this.urls.verifier}`,
      `  *.localhost resolves to loopback in browsers; with curl: curl --resolve ${this.walletHost}:${this.ingressPort}:127.0.0.1 ${this.urls.wallet}/auth/.well-known/jwks.json`,
      'Services (in-cluster addresses, nginx balancing over the replicas):',
      ...this.services.map((s) => `  ${s.name.padEnd(16)} ${this.urls.services[s.name]}   (chart port ${s.port})`),
      'replicas:',
      ...this.replicas.map((r) => `  ${r.name.padEnd(18)} ${r.url}   pid ${r.pid ?? '-'}   log ${join(this.logDir, `${r.name}.log`)}`),
      `admin API (not routed by the Ingress): ${this.serviceUrl('admin')}, or a replica above; token in ${this.adminTokenFile}`,
      `  WALLET_ADMIN_TOKEN="$(cat ${this.adminTokenFile})" npx wallet-admin -u ${this.serviceUrl('admin')} tenant list`,
      `Redis: 127.0.0.1:${this.redis.port}   store: ${this.store.url} (${this.store.description})`,
      `nginx: ${this.nginxConfigFile} (generated from the chart's Ingresses), access log ${join(this.stateDir, 'nginx', 'access.log')}`,
    ];
    return lines.join('\n');
  }

  /** Stops nginx, every replica (SIGTERM, they drain), Redis and the store; drops the store's database. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.readinessTimer) clearInterval(this.readinessTimer);
    for (const replica of this.replicas) replica.markStopping();
    await this.nginx.stop(5_000);
    await Promise.all(this.replicas.map((r) => r.stop()));
    await Promise.all([this.redis.stop(), this.store.stop()]);
    await this.store.destroy();
    await Promise.all([this.nginx, this.redis.process, this.store.process, ...this.replicas.map((r) => r.process)].map((p) => p.close()));
    if (this.ownsStateDir) {
      // A moment for late log writes before the directory goes.
      await sleep(50);
      rmSync(this.stateDir, { recursive: true, force: true });
    }
  }
}
