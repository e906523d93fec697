import { Worker } from 'node:worker_threads';
import { UnavailableError } from '@wallet/domain';

/**
 * The reader thread: its own read-only connection to the file, prepared
 * statements kept per SQL text, one statement at a time. In WAL mode a read
 * sees every transaction committed before it starts, so a write whose promise
 * has resolved is visible to the next read here.
 */
const READER_WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
const statements = new Map();
parentPort.on('message', (message) => {
  if (message === 'close') { db.close(); parentPort.close(); return; }
  try {
    let statement = statements.get(message.sql);
    if (!statement) {
      if (statements.size >= workerData.maxStatements) statements.clear();
      statement = db.prepare(message.sql);
      statements.set(message.sql, statement);
    }
    parentPort.postMessage({ id: message.id, rows: statement.all(...message.params) });
  } catch (error) {
    parentPort.postMessage({ id: message.id, error: { code: typeof error.code === 'string' ? error.code : undefined, name: error.name, message: String(error.message) } });
  }
});
`;

interface Pending {
  resolve(rows: unknown[]): void;
  reject(error: unknown): void;
}

interface Reply {
  id: number;
  rows?: unknown[];
  error?: { code?: string; name: string; message: string };
}

export interface SqliteReaderOptions {
  path: string;
  busyTimeoutMs: number;
  /** Distinct statements the thread keeps prepared (default 256). */
  maxStatements?: number;
  /** Reads waiting or running at once; more are refused as unavailable (default 64). */
  maxPending?: number;
}

/**
 * Runs read-only statements on a worker thread with its own connection, so a
 * query whose cost grows with the data (a vault query over thousands of
 * records) never holds the event loop. The thread starts on the first read;
 * if it dies, its pending reads fail as unavailable and the next read starts
 * a new one. An error from SQLite comes back with its code and message.
 */
export class SqliteReader {
  private worker: { thread: Worker; pending: Map<number, Pending> } | null = null;
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: SqliteReaderOptions) {}

  all<R>(sql: string, params: readonly unknown[]): Promise<R[]> {
    if (this.closed) return Promise.reject(new UnavailableError('sqlite reader'));
    const { thread, pending } = this.worker ?? this.start();
    const maxPending = this.options.maxPending ?? 64;
    if (pending.size >= maxPending) return Promise.reject(new UnavailableError(`sqlite reader (${maxPending} reads waiting)`));
    const id = this.nextId++;
    return new Promise<R[]>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (rows: unknown[]) => void, reject });
      thread.ref();
      thread.postMessage({ id, sql, params });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker?.thread;
    if (!worker) return;
    this.worker = null;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage('close');
    const timer = setTimeout(() => void worker.terminate(), 1000);
    await exited;
    clearTimeout(timer);
  }

  private start(): { thread: Worker; pending: Map<number, Pending> } {
    const thread = new Worker(READER_WORKER, {
      eval: true,
      workerData: {
        module: require.resolve('better-sqlite3'),
        path: this.options.path,
        busyTimeoutMs: this.options.busyTimeoutMs,
        maxStatements: this.options.maxStatements ?? 256,
      },
    });
    const worker = { thread, pending: new Map<number, Pending>() };
    thread.unref();
    thread.on('message', (reply: Reply) => {
      const pending = worker.pending.get(reply.id);
      if (!pending) return;
      worker.pending.delete(reply.id);
      if (worker.pending.size === 0) thread.unref();
      if (reply.error) pending.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name, code: reply.error.code }));
      else pending.resolve(reply.rows ?? []);
    });
    // Reads of a thread that fails are refused as unavailable; the next read starts a new thread.
    const fail = (cause?: unknown) => {
      if (this.worker === worker) this.worker = null;
      for (const pending of worker.pending.values()) pending.reject(new UnavailableError('sqlite reader', cause === undefined ? {} : { cause }));
      worker.pending.clear();
    };
    thread.on('error', fail);
    thread.on('exit', () => fail());
    this.worker = worker;
    return worker;
  }
}
