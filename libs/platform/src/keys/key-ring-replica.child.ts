/**
 * One replica of a service, as far as its key ring goes: the child process of
 * `service-key-ring.replicas.spec.ts`. It reads one JSON command per line on
 * stdin and answers one JSON line on stdout:
 *
 * - `{"cmd":"open","store":<StoreOptions>,"purpose":"..."}`: opens its own
 *   store connection, answers `{"ready":true}`;
 * - `{"cmd":"go"}`: opens the key ring on it (the moment the parent sends `go`
 *   to every replica at once), answers `{"activeKid","jwks"}` or `{"error"}`,
 *   and closes the connection.
 *
 * Run with `node -r tools/build/register-ts.cjs`.
 */
import type { WalletConfig } from '@wallet/config';
import { createStore, type Store, type StoreOptions } from '@wallet/persistence';
import { createInterface } from 'node:readline';
import { openServiceKeyRing } from './service-key-ring';

const config = {
  crypto: {
    signingAlg: 'ES256',
    keyRotationIntervalMs: 30 * 86_400_000,
    maxTokenLifetimeMs: 86_400_000,
    keyEncryptionKey: Buffer.alloc(32, 7).toString('base64url'),
  },
} as unknown as WalletConfig;

let store: Store | null = null;
let purpose = '';

const answer = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

async function handle(command: { cmd: string; store?: StoreOptions; purpose?: string }): Promise<void> {
  if (command.cmd === 'open') {
    store = await createStore(command.store as StoreOptions);
    purpose = command.purpose ?? 'race';
    answer({ ready: true });
  } else if (command.cmd === 'go') {
    try {
      const ring = await openServiceKeyRing(store as Store, config, purpose);
      answer({ activeKid: ring.activeKid, jwks: ring.jwks() });
    } catch (error) {
      answer({ error: error instanceof Error ? error.message : String(error) });
    } finally {
      await store?.close();
      store = null;
    }
  }
}

let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  queue = queue.then(() => handle(JSON.parse(line) as { cmd: string })).catch((error: unknown) => {
    answer({ error: String(error) });
  });
});
