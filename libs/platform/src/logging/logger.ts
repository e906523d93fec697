import type { LoggerService, LogLevel } from '@nestjs/common';
import { REDACTED } from '@wallet/config';
import pino, { type Logger as Pino } from 'pino';

export type LogLevelName = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Paths pino censors wherever they appear in a log object. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-admin-token"]',
  'req.headers["x-private-data-if-match"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.privateData',
  '*.privateJwk',
  '*.adminToken',
  '*.secret',
];

export interface LoggerOptions {
  level: LogLevelName;
  /** Static fields on every line (service name, version). */
  base?: Record<string, unknown>;
  /** Where lines go; defaults to stdout. Tests pass a stream to read them. */
  destination?: pino.DestinationStream;
}

/** Log lines are written to stdout in chunks of about this many bytes... */
const STDOUT_CHUNK_BYTES = 4096;
/** ...and at least this often, so a quiet process still shows its lines at once. */
const STDOUT_FLUSH_MS = 50;

/**
 * Structured JSON logs with secrets redacted. One root logger per process.
 * Lines to stdout are batched (a write per line costs a system call on every
 * request) and flushed every 50 ms, at shutdown and at exit.
 */
export function createLogger(options: LoggerOptions): Pino {
  let destination = options.destination;
  if (!destination) {
    const stdout = pino.destination({ sync: false, minLength: STDOUT_CHUNK_BYTES });
    setInterval(() => {
      try {
        stdout.flush();
      } catch {
        // not open yet, or already ended: the next tick or the exit flush writes the lines
      }
    }, STDOUT_FLUSH_MS).unref();
    destination = stdout;
  }
  return pino(
    {
      level: options.level,
      base: { pid: process.pid, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: REDACTED },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

const FRAMEWORK_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'WebSocketsController', 'NestApplication']);

/** Nest's logger interface on top of pino, so framework messages are JSON lines too. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Pino) {}

  log(message: unknown, ...rest: unknown[]): void {
    // Nest's start-up chatter (modules loaded, routes mapped) is debug detail.
    const context = rest[rest.length - 1];
    this.write(typeof context === 'string' && FRAMEWORK_CONTEXTS.has(context) ? 'debug' : 'info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }
  setLogLevels(_levels: LogLevel[]): void {
    // The level comes from configuration, not from Nest.
  }

  private write(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace', message: unknown, rest: unknown[]): void {
    // Nest passes the context (class name) as the last string argument.
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    if (typeof message === 'object' && message !== null) {
      this.logger[level]({ context, ...(message as Record<string, unknown>) });
    } else {
      this.logger[level]({ context }, String(message));
    }
  }
}
