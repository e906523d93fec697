import { loadConfig } from '@wallet/config';
import { UnknownSigningKeyError } from '@wallet/crypto';
import { createStore, type Store } from '@wallet/persistence';
import { openServiceKeyRing } from '@wallet/platform';
import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { createRequestSigner } from './request-signer';
import { VERIFIER_REQUEST_PURPOSE } from './verifier-keys';

const didKey = (clientId: string): JWK =>
  JSON.parse(Buffer.from(clientId.replace(/^decentralized_identifier:did:jwk:/, ''), 'base64url').toString('utf8')) as JWK;

describe('did:jwk request signer across a key rotation', () => {
  let store: Store;
  let clock = Date.parse('2026-03-01T00:00:00Z');
  const config = loadConfig({ argv: [], env: { WALLET_STORAGE_TYPE: 'memory', WALLET_LOGGING_LEVEL: 'silent' } }).config;
  const timings = { refreshIntervalMs: 1000, prePublishMs: 3000 };

  beforeAll(async () => {
    store = await createStore({ type: 'memory' });
  });
  afterAll(async () => {
    await store.close();
  });

  it('signs a request with the key its client id names, also after the ring has moved on to the next key', async () => {
    const now = () => new Date(clock);
    const a = await openServiceKeyRing(store, config, VERIFIER_REQUEST_PURPOSE, now, undefined, timings);
    const b = await openServiceKeyRing(store, config, VERIFIER_REQUEST_PURPOSE, now, undefined, timings);
    const signerA = createRequestSigner(config.verifier, a, 'decentralized_identifier');
    const signerB = createRequestSigner(config.verifier, b, 'decentralized_identifier');
    // A session started on A before the rotation.
    const oldClientId = signerA.clientId('https://verifier.example/response');
    expect(signerB.clientId('https://verifier.example/response')).toBe(oldClientId);

    await a.rotate();
    clock += timings.prePublishMs;
    await b.refresh();
    const newClientId = signerB.clientId('https://verifier.example/response');
    expect(newClientId).not.toBe(oldClientId);

    // The request object of the old session, fetched from either replica, is signed by the key its client id names.
    for (const signer of [signerA, signerB]) {
      const jwt = await signer.sign({ client_id: oldClientId, aud: 'https://self-issued.me/v2' });
      expect(decodeProtectedHeader(jwt)).toMatchObject({ kid: `${oldClientId.slice('decentralized_identifier:'.length)}#0`, typ: 'oauth-authz-req+jwt' });
      await expect(compactVerify(jwt, await importJWK(didKey(oldClientId), 'ES256'))).resolves.toBeTruthy();
    }
    // A new session gets the new key, and the bare DID of the drafts works the same.
    const fresh = await signerA.sign({ client_id: newClientId.slice('decentralized_identifier:'.length) });
    await expect(compactVerify(fresh, await importJWK(didKey(newClientId), 'ES256'))).resolves.toBeTruthy();

    // A client id naming a key the ring does not hold is refused, not signed with another key.
    const stranger = `decentralized_identifier:did:jwk:${Buffer.from(JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'eA', y: 'eQ' })).toString('base64url')}`;
    await expect(signerA.sign({ client_id: stranger })).rejects.toBeInstanceOf(UnknownSigningKeyError);
    await expect(signerA.sign({ client_id: 'decentralized_identifier:did:jwk:!!' })).rejects.toBeInstanceOf(UnknownSigningKeyError);
  });
});
