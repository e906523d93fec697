import Database from 'better-sqlite3';
import { buildSync } from 'esbuild';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { Collections } from './collections';
import { createStore } from './create-store';
import { runPersistenceContract, Widgets } from './persistence.contract';
import type { CollectionSpec } from './ports';

// The SQLite driver must not pull in mongoose.
jest.mock('mongoose', () => {
  throw new Error('mongoose must not be loaded by the sqlite driver');
});

const dir = mkdtempSync(join(tmpdir(), 'wallet-sqlite-'));
let files = 0;
let lastPath = '';

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

runPersistenceContract(
  'sqlite',
  (deps) => {
    lastPath = join(dir, `store-${++files}.db`);
    return createStore({ type: 'sqlite', path: lastPath }, deps);
  },
  {
    // A second connection on the same file, as a second process would open it.
    openPeer: (deps) => createStore({ type: 'sqlite', path: lastPath }, deps),
    durable: true,
  },
);

describe('sqlite driver', () => {
  it('creates one table per collection with the scope in the key and in every index, in WAL mode', async () => {
    const path = join(dir, 'layout.db');
    const store = await createStore({ type: 'sqlite', path });
    store.repository(Widgets);
    store.repository(Collections.credentials);
    await store.close();

    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const columns = db.prepare("SELECT name, pk FROM pragma_table_info('credentials') ORDER BY cid").all();
      expect(columns).toEqual([
        { name: 'scope', pk: 1 },
        { name: 'id', pk: 2 },
        { name: 'version', pk: 0 },
        { name: 'created_at', pk: 0 },
        { name: 'updated_at', pk: 0 },
        { name: 'data', pk: 0 },
      ]);
      const indexes = db
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name")
        .all('credentials');
      expect(indexes).toEqual([
        {
          name: 'credentials__u__userId__credentialIdentifier',
          sql:
            'CREATE UNIQUE INDEX "credentials__u__userId__credentialIdentifier" ON "credentials" ' +
            "(scope, json_extract(data, '$.userId'), json_extract(data, '$.credentialIdentifier'))",
        },
      ]);
      // Filtered pages are range scans on the expression indexes, without a sort.
      const plan = (field: string) =>
        (
          db
            .prepare(
              `EXPLAIN QUERY PLAN SELECT data FROM "contract_widgets" WHERE scope = ? AND json_extract(data, '$.${field}') = ? ` +
                'AND id > ? ORDER BY id LIMIT ?',
            )
            .all('s', 'x', '', 10) as Array<{ detail: string }>
        )
          .map((step) => step.detail)
          .join('\n');
      expect(plan('color')).toMatch(/^SEARCH contract_widgets USING INDEX contract_widgets__i__color \(scope=\? AND <expr>=\? AND id>\?\)$/);
      expect(plan('sku')).toContain('USING INDEX contract_widgets__u__sku (scope=? AND <expr>=?)');
    } finally {
      db.close();
    }
  });

  it('rejects with UnavailableError when the file cannot be opened', async () => {
    await expect(createStore({ type: 'sqlite', path: join(dir, 'missing-dir', 'x.db') })).rejects.toMatchObject({
      code: 'unavailable',
      name: 'UnavailableError',
    });
  });

  it('opens a new file while another connection holds its first write lock, instead of failing at once', async () => {
    // Two processes starting on one new file: while one holds a write
    // lock in rollback mode, SQLite answers the second's switch to WAL with
    // SQLITE_BUSY at once, bypassing busy_timeout. The store retries within it.
    const path = join(dir, 'contended-open.db');
    const holder = new Worker(
      `const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
       const { parentPort } = require('node:worker_threads');
       const db = new Database(${JSON.stringify(path)});
       db.exec('BEGIN IMMEDIATE; CREATE TABLE first_writer (a)');
       parentPort.postMessage('locked');
       setTimeout(() => { db.exec('COMMIT'); db.close(); parentPort.postMessage('released'); }, 300);`,
      { eval: true },
    );
    const messages: string[] = [];
    const released = new Promise<void>((res) =>
      holder.on('message', (message: string) => {
        messages.push(message);
        if (message === 'released') res();
      }),
    );
    await new Promise<void>((res) => holder.once('message', () => res()));
    const store = await createStore({ type: 'sqlite', path, busyTimeoutMs: 5_000 });
    await released;
    await holder.terminate();
    // The open waited for the holder (it could not finish while the lock was held).
    expect(messages).toEqual(['locked', 'released']);
    await store.close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  it('copies the WAL into the database file on a worker thread, not in the writes', async () => {
    const fill = async (checkpoint: 'background' | 'inline') => {
      const path = join(dir, `checkpoint-${checkpoint}.db`);
      const store = await createStore({ type: 'sqlite', path, checkpoint, checkpointIntervalMs: 20 });
      const widgets = store.repository(Widgets);
      const before = statSync(path).size;
      for (let i = 0; i < 100; i++) {
        await widgets.create('t', { id: `w${i}`, sku: `sku-${i}`, color: 'red', size: i, active: true, note: 'x'.repeat(200), tags: [], attrs: {} });
      }
      await new Promise((r) => setTimeout(r, 200));
      const after = statSync(path).size;
      await store.close();
      return { before, after };
    };
    // 100 commits stay below SQLite's own threshold (1000 WAL pages): only the worker copies them over.
    const background = await fill('background');
    expect(background.after).toBeGreaterThan(background.before + 20_000);
    const inline = await fill('inline');
    expect(inline.after).toBe(inline.before);
  });

  it('does not leave a record half-written by a failed unique update', async () => {
    const store = await createStore({ type: 'sqlite', path: join(dir, 'atomic.db') });
    const widgets = store.repository(Widgets);
    const base = { color: 'red', size: 1, active: true, note: null, tags: [], attrs: {} };
    await widgets.create('acme', { id: 'a', sku: 'A', ...base });
    await widgets.create('acme', { id: 'b', sku: 'B', ...base });
    await expect(widgets.update('acme', 'b', { id: 'b', sku: 'A', ...base, size: 5 }, 1)).rejects.toMatchObject({
      code: 'already_exists',
      fields: ['sku'],
    });
    expect(await widgets.require('acme', 'b')).toMatchObject({ sku: 'B', size: 1, version: 1 });
    await store.close();
  });
});

/** Must match the spec in the child script. */
const Counters: CollectionSpec<{ id: string; n: number }> = {
  name: 'proc_counters',
  schema: z.object({ id: z.string(), n: z.number().int() }),
  indexes: [],
};

describe('sqlite driver across processes', () => {
  const root = resolve(__dirname, '../../..');
  let script = '';

  beforeAll(() => {
    // The children run the real driver: this library bundled to plain JS.
    const bundle = join(dir, 'persistence.js');
    buildSync({
      entryPoints: [join(root, 'libs/persistence/src/index.ts')],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      packages: 'external',
      tsconfig: join(root, 'tsconfig.base.json'),
      logLevel: 'error',
    });
    script = join(dir, 'child.js');
    writeFileSync(
      script,
      `
const { createStore, VersionConflictError } = require(${JSON.stringify(bundle)});
const { z } = require('zod');
const spec = { name: 'proc_counters', schema: z.object({ id: z.string(), n: z.number().int() }), indexes: [] };
const [mode, path, arg] = process.argv.slice(2);
(async () => {
  const store = await createStore({ type: 'sqlite', path });
  const repo = store.repository(spec);
  if (mode === 'increment') {
    // Start together: wait for the parent's go.
    process.stdout.write('ready\\n');
    await new Promise((go) => process.stdin.once('data', go));
    let conflicts = 0;
    for (let i = 0; i < Number(arg); i++) {
      for (;;) {
        const current = await repo.require('acme', 'counter');
        // Think time between read and write, as a request handler would have.
        await new Promise((next) => setImmediate(next));
        try {
          await repo.update('acme', 'counter', { id: 'counter', n: current.n + 1 }, current.version);
          break;
        } catch (error) {
          if (!(error && error.code === 'version_conflict')) throw error;
          conflicts++;
        }
      }
    }
    await store.close();
    process.stdout.write('done ' + conflicts + '\\n');
  } else {
    for (let i = 0; ; i++) {
      await repo.create('acme', { id: 'r' + i, n: i });
      process.stdout.write('ack r' + i + '\\n');
    }
  }
})().catch((error) => {
  process.stderr.write(String(error && error.stack) + '\\n');
  process.exit(1);
});
`,
    );
  });

  function child(args: string[]) {
    const proc = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<{ code: number | null; signal: string | null }>((done) =>
      proc.once('exit', (code, signal) => done({ code, signal })),
    );
    return { proc, exited, stdout: () => stdout, stderr: () => stderr };
  }

  it('two processes incrementing one record with compare-and-set lose no update', async () => {
    const path = join(dir, 'processes.db');
    const store = await createStore({ type: 'sqlite', path });
    await store.repository(Counters).create('acme', { id: 'counter', n: 0 });
    await store.close();

    const children = [child(['increment', path, '150']), child(['increment', path, '150'])];
    await Promise.all(
      children.map((c) => new Promise<void>((ready) => c.proc.stdout.on('data', () => c.stdout().includes('ready') && ready()))),
    );
    for (const c of children) c.proc.stdin.end('go\n');
    const results = await Promise.all(children.map((c) => c.exited));
    for (const [i, result] of results.entries()) {
      expect({ ...result, stderr: children[i]?.stderr() }).toEqual({ code: 0, signal: null, stderr: '' });
    }
    // The race was real: some attempts lost and were retried.
    const conflicts = children.map((c) => Number(/done (\d+)/.exec(c.stdout())?.[1] ?? 'NaN'));
    expect((conflicts[0] ?? 0) + (conflicts[1] ?? 0)).toBeGreaterThan(0);
    const reopened = await createStore({ type: 'sqlite', path });
    expect(await reopened.repository(Counters).require('acme', 'counter')).toMatchObject({ n: 300, version: 301 });
    await reopened.close();
  }, 60_000);

  it('every write acknowledged before kill -9 is there after reopening', async () => {
    const path = join(dir, 'killed.db');
    const writer = child(['write', path]);
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`writer too slow: ${writer.stderr()}`)), 30_000);
      writer.proc.stdout.on('data', () => {
        if ((writer.stdout().match(/^ack /gm) ?? []).length >= 200) {
          clearTimeout(timer);
          done();
        }
      });
    });
    writer.proc.kill('SIGKILL');
    expect((await writer.exited).signal).toBe('SIGKILL');
    const acked = [...writer.stdout().matchAll(/^ack (r\d+)$/gm)].map((m) => m[1] as string);
    expect(acked.length).toBeGreaterThanOrEqual(200);

    const store = await createStore({ type: 'sqlite', path });
    const repo = store.repository(Counters);
    for (const id of acked) expect((await repo.get('acme', id))?.n).toBe(Number(id.slice(1)));
    await store.close();
  }, 60_000);
});
