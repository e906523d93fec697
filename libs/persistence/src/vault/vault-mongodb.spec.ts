import { describeIfAvailable, mongoAvailable, startMongo, type MongoHandle } from '@wallet/testing';
import { createStore } from '../create-store';
import { runVaultContract } from './vault.contract';

const suite = describeIfAvailable(
  'vault:mongodb',
  mongoAvailable(),
  'no MONGODB_URI, FerretDB or mongod found (build FerretDB with tools/ferretdb/build.sh)',
);

suite('mongodb vault', () => {
  let server: MongoHandle;

  beforeAll(async () => {
    server = await startMongo();
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  }, 60_000);

  runVaultContract('mongodb', (deps) => createStore({ type: 'mongodb', uri: server.uri }, deps), {
    openPeer: (deps) => createStore({ type: 'mongodb', uri: server.uri }, deps),
    timeoutMs: 120_000,
  });
});
