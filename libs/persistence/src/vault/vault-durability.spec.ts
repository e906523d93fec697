import { describeIfAvailable, mongoAvailable, startMongo, type MongoHandle } from '@wallet/testing';
import { buildSync } from 'esbuild';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createStore } from '../create-store';
import type { StoreOptions } from '../ports';

/**
 * A vault write that was acknowledged survives `kill -9` of the writing
 * process: a child process (the real driver, bundled) creates records and
 * prints an ack after each resolves; the parent kills it mid-stream and
 * checks every acked record, and that the vault still takes writes (on
 * MongoDB the dead writer's lock is broken after its timeout).
 */

const root = resolve(__dirname, '../../../..');
const dir = mkdtempSync(join(tmpdir(), 'wallet-vault-kill-'));
let script = '';

beforeAll(() => {
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
  script = join(dir, 'writer.js');
  writeFileSync(
    script,
    `
const { createStore } = require(${JSON.stringify(bundle)});
const options = JSON.parse(process.argv[2]);
(async () => {
  const store = await createStore(options);
  const vault = store.vault();
  const owner = { tenantId: 'acme', userId: 'killed' };
  for (let i = 0; ; i++) {
    await vault.create(owner, { id: 'r' + i, category: 'Yw', blob: Buffer.from('value ' + i).toString('base64url'), tags: { '~i': String(i) } });
    process.stdout.write('ack r' + i + '\\n');
  }
})().catch((error) => {
  process.stderr.write(String(error && error.stack) + '\\n');
  process.exit(1);
});
`,
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function writeAndKill(options: StoreOptions, acks: number): Promise<string[]> {
  const child = spawn(process.execPath, [script, JSON.stringify(options)], {
    env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<NodeJS.Signals | null>((done) => child.once('exit', (_code, signal) => done(signal)));
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`writer too slow: ${stderr}`)), 60_000);
    child.stdout.on('data', () => {
      if ((stdout.match(/^ack /gm) ?? []).length >= acks) {
        clearTimeout(timer);
        done();
      }
    });
    child.once('exit', () => fail(new Error(`writer exited: ${stderr}`)));
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  return [...stdout.matchAll(/^ack (r\d+)$/gm)].map((m) => m[1] as string);
}

async function checkAfterKill(options: StoreOptions, acked: string[]): Promise<void> {
  const store = await createStore(options);
  try {
    const vault = store.vault();
    const owner = { tenantId: 'acme', userId: 'killed' };
    for (const id of acked) {
      const record = await vault.get(owner, id);
      expect(record?.tags).toEqual({ '~i': id.slice(1) });
    }
    const synced = new Set<string>();
    let cursor: string | null = null;
    for (;;) {
      const page = await vault.changes(owner, cursor, 1000);
      page.changes.forEach((change) => synced.add(change.id));
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
    for (const id of acked) expect(synced.has(id)).toBe(true);
    // The vault still takes writes (and the usage counts what is there).
    await vault.create(owner, { id: 'after', category: 'Yw', blob: 'AAAA', tags: {} });
    expect((await vault.usage(owner)).records).toBe(synced.size + 1);
  } finally {
    await store.close();
  }
}

describe('vault durability: sqlite', () => {
  it('every write acknowledged before kill -9 is there after reopening', async () => {
    const options: StoreOptions = { type: 'sqlite', path: join(dir, 'killed.db') };
    const acked = await writeAndKill(options, 150);
    expect(acked.length).toBeGreaterThanOrEqual(150);
    await checkAfterKill(options, acked);
  }, 90_000);
});

describeIfAvailable('vault durability: mongodb', mongoAvailable(), 'no MONGODB_URI, FerretDB or mongod found')('vault durability: mongodb', () => {
  let server: MongoHandle;

  beforeAll(async () => {
    server = await startMongo();
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  }, 60_000);

  it('every write acknowledged before kill -9 is there, and the dead writer lock is broken', async () => {
    const options: StoreOptions = { type: 'mongodb', uri: server.uri, claimTimeoutMs: 1000 };
    const acked = await writeAndKill(options, 60);
    expect(acked.length).toBeGreaterThanOrEqual(60);
    await checkAfterKill(options, acked);
  }, 120_000);
});
