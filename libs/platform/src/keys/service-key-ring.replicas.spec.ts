import type { WalletConfig } from '@wallet/config';
import type { KeyRing } from '@wallet/crypto';
import { createStore, type Store, type StoreOptions } from '@wallet/persistence';
import { describeIfAvailable, dropMongoDatabase, mongoAvailable, startMongo, uniqueDatabaseName, withDatabase, type MongoHandle } from '@wallet/testing';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { openServiceKeyRing } from './service-key-ring';

/**
 * Replicas of a service agree on their signing keys: started at the same
 * moment on an empty store (separate processes, each with its own store
 * connection), they all end with the same JWKS and the same signing key, and
 * exactly one key was created; under signing load with forced rotations, every
 * signature verifies against every replica's JWKS at the moment it was made.
 */

const ROOT = resolve(__dirname, '../../../..');
const REPLICAS = 4;
const ROUNDS = 30;

const config = {
  crypto: {
    signingAlg: 'ES256',
    keyRotationIntervalMs: 30 * 86_400_000,
    maxTokenLifetimeMs: 86_400_000,
    keyEncryptionKey: Buffer.alloc(32, 7).toString('base64url'),
  },
} as unknown as WalletConfig;

interface ReplicaAnswer {
  ready?: boolean;
  activeKid?: string;
  jwks?: { keys: Array<{ kid?: string }> };
  error?: string;
}

/** A child process holding one replica's store connection and key ring (key-ring-replica.child.ts). */
class ReplicaProcess {
  private readonly answers: ReplicaAnswer[] = [];
  private waiting: ((answer: ReplicaAnswer) => void) | null = null;
  private stderr = '';

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const answer = JSON.parse(line) as ReplicaAnswer;
      if (this.waiting) {
        const waiting = this.waiting;
        this.waiting = null;
        waiting(answer);
      } else this.answers.push(answer);
    });
    child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
  }

  static start(): ReplicaProcess {
    const child = spawn(process.execPath, ['-r', join(ROOT, 'tools/build/register-ts.cjs'), join(__dirname, 'key-ring-replica.child.ts')], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new ReplicaProcess(child);
  }

  send(command: Record<string, unknown>): void {
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  next(timeoutMs = 30_000): Promise<ReplicaAnswer> {
    const queued = this.answers.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolveAnswer, reject) => {
      const timer = setTimeout(() => reject(new Error(`replica did not answer in ${timeoutMs} ms: ${this.stderr}`)), timeoutMs);
      this.waiting = (answer) => {
        clearTimeout(timer);
        resolveAnswer(answer);
      };
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((done) => this.child.once('exit', done));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** Opens one store connection per replica process, then starts every key ring at the same moment. */
async function raceOnEmptyStore(replicas: ReplicaProcess[], store: StoreOptions, purpose: string): Promise<ReplicaAnswer[]> {
  for (const replica of replicas) replica.send({ cmd: 'open', store, purpose });
  const ready = await Promise.all(replicas.map((r) => r.next()));
  expect(ready).toEqual(replicas.map(() => ({ ready: true })));
  for (const replica of replicas) replica.send({ cmd: 'go' });
  return Promise.all(replicas.map((r) => r.next()));
}

function expectAgreement(answers: ReplicaAnswer[]): void {
  expect(answers.filter((a) => a.error)).toEqual([]);
  const [first] = answers;
  for (const answer of answers) {
    expect(answer.activeKid).toBe(first!.activeKid);
    expect(answer.jwks).toEqual(first!.jwks);
  }
  // Exactly one key was created, and it is the one that signs.
  expect(first!.jwks!.keys.map((k) => k.kid)).toEqual([first!.activeKid]);
}

interface LoadReport {
  signatures: number;
  failures: string[];
  bursts: number;
  /** Keys each burst added (all replicas' JWKS together, before and after it). */
  addedPerBurst: number[];
  kidsSeen: Set<string>;
  signingKids: Set<string>;
}

/**
 * Replicas on separate store connections sign continuously while, every
 * `BURST_EVERY_MS`, two of them are told to rotate at the same moment. Every
 * token is checked against every replica's JWKS right after it was signed.
 * The pre-publication interval leaves 800 ms for a replica's refresh to be
 * late (a loaded machine stalls this process too) before the check could fail.
 */
const BURST_EVERY_MS = 1500;

async function signUnderRotation(stores: Store[], purpose: string, durationMs: number): Promise<LoadReport> {
  const timings = { refreshIntervalMs: 200, prePublishMs: 1000 };
  const rings: KeyRing[] = [];
  for (const store of stores) rings.push(await openServiceKeyRing(store, config, purpose, undefined, undefined, timings));
  // Each replica re-reads on its own timer, as ServiceKeysModule starts it.
  rings.forEach((ring) => ring.start());
  const report: LoadReport = { signatures: 0, failures: [], bursts: 0, addedPerBurst: [], kidsSeen: new Set(), signingKids: new Set() };
  const deadline = Date.now() + durationMs;
  const record = () => rings.forEach((ring) => ring.jwks().keys.forEach((k) => report.kidsSeen.add(k.kid!)));

  const signer = async (ring: KeyRing, index: number) => {
    while (Date.now() < deadline) {
      const token = await ring.sign({ sub: `replica-${index}` }, { expiresInSeconds: 60 });
      report.signatures++;
      report.signingKids.add(String(decodeProtectedHeader(token).kid));
      record();
      for (const [other, verifier] of rings.entries()) {
        try {
          await jwtVerify(token, createLocalJWKSet(verifier.jwks()));
        } catch (error) {
          if (report.failures.length < 20) {
            report.failures.push(`signed by ${index} with ${decodeProtectedHeader(token).kid}, refused by ${other}: ${(error as Error).message}`);
          }
        }
      }
      await new Promise((next) => setTimeout(next, 2));
    }
  };
  const rotator = async () => {
    // The last burst's key signs before the end.
    while (Date.now() + BURST_EVERY_MS + timings.prePublishMs + 300 < deadline) {
      await new Promise((next) => setTimeout(next, BURST_EVERY_MS));
      const a = Math.floor(Math.random() * rings.length);
      const b = (a + 1 + Math.floor(Math.random() * (rings.length - 1))) % rings.length;
      report.bursts++;
      record();
      const before = report.kidsSeen.size;
      await Promise.all([rings[a]!.rotate(), rings[b]!.rotate()]);
      record();
      report.addedPerBurst.push(report.kidsSeen.size - before);
    }
  };
  try {
    await Promise.all([...rings.map(signer), rotator()]);
  } finally {
    await Promise.all(rings.map((ring) => ring.stop()));
  }
  await Promise.all(rings.map((ring) => ring.refresh()));
  record();
  for (const ring of rings) {
    expect(ring.jwks()).toEqual(rings[0]!.jwks());
    expect(ring.activeKid).toBe(rings[0]!.activeKid);
  }
  return report;
}

function expectRotationsAgreed(report: LoadReport): void {
  expect(report.failures).toEqual([]);
  expect(report.signatures).toBeGreaterThan(100);
  expect(report.bursts).toBeGreaterThanOrEqual(4);
  // Each burst of simultaneous rotations (further apart than a key waits to sign) added exactly one key...
  expect(report.addedPerBurst).toEqual(report.addedPerBurst.map(() => 1));
  expect(report.kidsSeen.size).toBe(report.bursts + 1);
  // ...and they went on to sign (the last one may only just have begun when the load stopped).
  expect(report.signingKids.size).toBeGreaterThanOrEqual(report.bursts);
}

describe('key rings across replicas: sqlite', () => {
  let dir: string;
  let replicas: ReplicaProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wallet-key-ring-replicas-'));
    replicas = Array.from({ length: REPLICAS }, () => ReplicaProcess.start());
  });

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it(`${REPLICAS} processes started at once on an empty SQLite file agree on one key, ${ROUNDS} times over`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const answers = await raceOnEmptyStore(replicas, { type: 'sqlite', path: join(dir, `race-${round}.db`) }, 'verifier-token');
      expectAgreement(answers);
    }
  }, 300_000);

  it('signatures verify on every replica while rotations are forced under load', async () => {
    const path = join(dir, 'rotation.db');
    const stores = await Promise.all([0, 1, 2].map(() => createStore({ type: 'sqlite', path })));
    try {
      expectRotationsAgreed(await signUnderRotation(stores, 'auth-access-token', 9000));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  }, 60_000);
});

const describeMongo = describeIfAvailable('key rings across replicas: mongodb', mongoAvailable(), 'mongodb');

describeMongo('key rings across replicas: mongodb', () => {
  let server: MongoHandle;
  let replicas: ReplicaProcess[] = [];

  beforeAll(async () => {
    server = await startMongo();
    replicas = Array.from({ length: REPLICAS }, () => ReplicaProcess.start());
  }, 60_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await server?.stop();
  }, 60_000);

  it(`${REPLICAS} processes started at once on an empty database agree on one key, ${ROUNDS} times over`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const uri = withDatabase(server.uri, uniqueDatabaseName());
      try {
        const answers = await raceOnEmptyStore(replicas, { type: 'mongodb', uri }, 'verifier-request');
        expectAgreement(answers);
      } finally {
        await dropMongoDatabase(uri).catch(() => undefined);
      }
    }
  }, 600_000);

  it('signatures verify on every replica while rotations are forced under load', async () => {
    const uri = withDatabase(server.uri, uniqueDatabaseName());
    const stores = await Promise.all([0, 1, 2].map(() => createStore({ type: 'mongodb', uri })));
    try {
      expectRotationsAgreed(await signUnderRotation(stores, 'verifier-token', 9000));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await dropMongoDatabase(uri).catch(() => undefined);
    }
  }, 60_000);
});
