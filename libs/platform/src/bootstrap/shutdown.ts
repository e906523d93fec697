import type { Logger as Pino } from 'pino';
import type { Runtime } from './runtime';

export interface Closable {
  close(): Promise<void>;
}

export interface ShutdownOptions {
  servers: Closable[];
  runtime: Runtime;
  timeoutMs: number;
  /** Called at the end; defaults to process.exit. */
  exit?: (code: number) => void;
  signals?: NodeJS.Signals[];
}

/**
 * Graceful shutdown: on SIGTERM (or SIGINT) stop accepting, let in-flight
 * requests finish, close the store and cache, flush logs and exit 0. If that
 * takes longer than `timeoutMs`, exit 1 so the orchestrator does not wait forever.
 */
export function installGracefulShutdown(options: ShutdownOptions): () => Promise<void> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const logger: Pino = options.runtime.logger;
  let started: Promise<void> | null = null;

  const shutdown = (signal: string): Promise<void> => {
    if (started) return started;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: options.timeoutMs }, 'shutdown timed out');
      logger.flush();
      exit(1);
    }, options.timeoutMs);
    timer.unref();
    started = (async () => {
      let code = 0;
      try {
        await Promise.all(options.servers.map((s) => s.close()));
        await options.runtime.store.close();
        await options.runtime.cache.close();
        logger.info('shutdown complete');
      } catch (error) {
        code = 1;
        logger.error({ err: { message: error instanceof Error ? error.message : String(error) } }, 'shutdown failed');
      }
      clearTimeout(timer);
      logger.flush();
      exit(code);
    })();
    return started;
  };

  for (const signal of options.signals ?? (['SIGTERM', 'SIGINT'] as NodeJS.Signals[])) {
    process.once(signal, () => void shutdown(signal));
  }
  return () => shutdown('manual');
}
