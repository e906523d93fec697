import { ConfigError, loadConfig, toEnvName, type WalletConfig } from '@wallet/config';
import { announceDevelopmentAdminToken, useDevelopmentAdminToken } from '../admin/admin-token';
import { createLogger } from '../logging/logger';
import { createServiceApp, type RunningService, type ServiceAppOptions } from './create-service-app';
import { createRuntime } from './runtime';
import { installGracefulShutdown } from './shutdown';
import { startNotices } from './start-notices';

export interface ServerSpec extends Omit<ServiceAppOptions, 'runtime' | 'port'> {
  port: (config: WalletConfig) => number;
  /** The setting `port` reads, named when the port cannot be used. Default: `services.<name>.port`. */
  portKey?: string;
  /** The interface to listen on when it is not `server.host` (the all-in-one's admin API). */
  listenHost?: (config: WalletConfig) => string;
  /** The setting `listenHost` reads. Default: `server.host`. */
  hostKey?: string;
}

/**
 * The whole life of a process: load and validate configuration (exit 1 with a
 * message naming the bad keys), open the store and cache once, start every
 * server on them, and shut down gracefully on SIGTERM.
 */
export async function runServers(processName: string, servers: ServerSpec[]): Promise<RunningService[]> {
  let config: WalletConfig;
  try {
    const loaded = loadConfig({ argv: process.argv.slice(2), env: process.env });
    config = loaded.config;
    for (const warning of loaded.warnings) process.stderr.write(`config warning: ${warning}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const logger = createLogger({ level: config.logging.level, base: { process: processName } });
  let starting: ServerSpec | undefined;
  try {
    const servesAdmin = servers.some((spec) => spec.info.services.includes('admin'));
    const adminToken = servesAdmin ? useDevelopmentAdminToken(config) : null;
    const runtime = await createRuntime(config, logger);
    const running: RunningService[] = [];
    installGracefulShutdown({ servers: running, runtime, timeoutMs: config.server.shutdownTimeoutMs });
    for (const spec of servers) {
      starting = spec;
      const host = spec.listenHost?.(config);
      running.push(await createServiceApp({ ...spec, runtime, port: spec.port(config), ...(host === undefined ? {} : { host }) }));
    }
    starting = undefined;
    for (const notice of startNotices(config, running)) logger.warn(notice.fields, notice.message);
    if (adminToken) {
      logger.info({ file: adminToken.file, created: adminToken.created }, 'development admin token');
      // After the log lines so far (they are written in batches), before `ready`: whoever waits for that line finds the token.
      await flushLogs(logger);
      announceDevelopmentAdminToken(adminToken);
    }
    logger.info({ servers: running.map((s) => ({ name: s.info.name, url: s.url, address: s.address })) }, 'ready');
    return running;
  } catch (error) {
    const reason = starting ? describeListenError(error, config, starting) : messageOf(error);
    logger.fatal({ err: error instanceof Error ? error : new Error(reason), reason }, `failed to start: ${reason}`);
    logger.flush();
    process.stderr.write(`${processName}: failed to start: ${reason}\n`);
    setTimeout(() => process.exit(1), 100);
    return [];
  }
}

/** One service in its own process. */
export function runService(spec: ServerSpec): Promise<RunningService[]> {
  return runServers(spec.info.name, [spec]);
}

/**
 * Resolves once the log lines so far are written (they go out in batches, see
 * `createLogger`). Twice: the first flush may only finish a batch already on
 * its way, the second writes what is left.
 */
async function flushLogs(logger: { flush(cb?: (error?: Error) => void): void }): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise<void>((resolve) => logger.flush(() => resolve()));
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const settingHint = (key: string): string => `${key} (${toEnvName(key)}=... or --${key}=...)`;

/**
 * Why a server could not start listening, naming the port or interface and
 * the setting that changes it. Other errors keep their own message.
 */
export function describeListenError(error: unknown, config: WalletConfig, spec: ServerSpec): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const port = spec.port(config);
  const portKey = spec.portKey ?? `services.${spec.info.name}.port`;
  const host = spec.listenHost?.(config) ?? config.server.host;
  const hostKey = spec.hostKey ?? 'server.host';
  const server = `the ${spec.info.name} server`;
  switch (code) {
    case 'EADDRINUSE':
      return `port ${port} (${server}) is already in use by another program or another wallet process; stop that one, or choose another port with ${settingHint(portKey)}`;
    case 'EACCES':
      return `port ${port} (${server}) needs privileges this process does not have (ports below 1024 usually do); choose another port with ${settingHint(portKey)}`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${server} cannot listen on ${host}: no interface of this machine has that address; change it with ${settingHint(hostKey)}`;
    case undefined: // not a system error
    default:
      return messageOf(error);
  }
}
