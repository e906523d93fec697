import { ConfigError, loadConfig, type WalletConfig } from '@wallet/config';
import { createLogger } from '../logging/logger';
import { createServiceApp, type RunningService, type ServiceAppOptions } from './create-service-app';
import { createRuntime } from './runtime';
import { installGracefulShutdown } from './shutdown';

export interface ServerSpec extends Omit<ServiceAppOptions, 'runtime' | 'port'> {
  port: (config: WalletConfig) => number;
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
  try {
    const runtime = await createRuntime(config, logger);
    const running: RunningService[] = [];
    installGracefulShutdown({ servers: running, runtime, timeoutMs: config.server.shutdownTimeoutMs });
    for (const spec of servers) running.push(await createServiceApp({ ...spec, runtime, port: spec.port(config) }));
    logger.info({ servers: running.map((s) => ({ name: s.info.name, url: s.url })) }, 'ready');
    return running;
  } catch (error) {
    logger.fatal({ err: { message: error instanceof Error ? error.message : String(error) } }, 'failed to start');
    logger.flush();
    setTimeout(() => process.exit(1), 100);
    return [];
  }
}

/** One service in its own process. */
export function runService(spec: ServerSpec): Promise<RunningService[]> {
  return runServers(spec.info.name, [spec]);
}
