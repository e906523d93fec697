import { createCache } from '@wallet/cache';
import { loadConfig } from '@wallet/config';
import { createStore } from '@wallet/persistence';
import { randomUUID } from 'node:crypto';
import { openServiceKeyRing } from '../keys/service-key-ring';
import { ACCESS_TOKEN_KEY_PURPOSE, CachedJwks, storedJwksLoader } from './access-token-keys';
import { AccessTokenVerifier } from './access-token-verifier';
import { AccessTokenRevocations } from './token-revocations';

describe('AccessTokenVerifier cache of verified tokens', () => {
  it('still checks expiry and revocation on every use of a remembered token', async () => {
    const config = loadConfig({ argv: [], env: { WALLET_STORAGE_TYPE: 'memory' } }).config;
    const store = await createStore({ type: 'memory' });
    const cache = await createCache({ type: 'memory' });
    const ring = await openServiceKeyRing(store, config, ACCESS_TOKEN_KEY_PURPOSE);
    let now = Date.now();
    const revocations = new AccessTokenRevocations(cache, { maxTokenLifetimeMs: 86_400_000, now: () => now });
    const verifier = new AccessTokenVerifier({
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      keys: new CachedJwks(storedJwksLoader(store), { minReloadIntervalMs: 1000, maxAgeMs: 60_000 }),
      revocations,
      now: () => now,
    });
    const claims = { iss: config.auth.issuer, aud: config.auth.audience, sub: 'u1', tenant: 'default' };
    const short = await ring.sign({ ...claims, jti: randomUUID() }, { typ: 'at+jwt', expiresInSeconds: 60 });
    const other = await ring.sign({ ...claims, jti: randomUUID() }, { typ: 'at+jwt', expiresInSeconds: 600 });

    expect(await verifier.verify(short)).toMatchObject({ userId: 'u1', tenantId: 'default' });
    expect(await verifier.verify(short)).toMatchObject({ userId: 'u1' }); // from the cache
    const principal = await verifier.verify(other);
    await revocations.revokeToken(principal.jti, principal.expiresAt);
    await expect(verifier.verify(other)).rejects.toMatchObject({ reason: 'token_revoked' });

    now += 120_000;
    await expect(verifier.verify(short)).rejects.toMatchObject({ reason: 'token_expired' });
    await expect(verifier.verify(short)).rejects.toMatchObject({ reason: 'token_expired' });
    await store.close();
    await cache.close();
  });
});
