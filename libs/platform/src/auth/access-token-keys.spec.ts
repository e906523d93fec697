import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { CachedJwks } from './access-token-keys';

describe('CachedJwks', () => {
  it('answers requests that arrive while the first load is still running with the loaded key', async () => {
    const { publicKey } = await generateKeyPair('ES256');
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let loads = 0;
    const jwks = new CachedJwks(
      async () => {
        loads++;
        await gate;
        return [jwk];
      },
      { minReloadIntervalMs: 30_000, maxAgeMs: 300_000 },
    );
    // A burst of concurrent lookups while the (slow) first load runs.
    const burst = Array.from({ length: 5 }, () => jwks.key('k1'));
    release();
    const keys = await Promise.all(burst);
    expect(keys.every((k) => k !== null && k.alg === 'ES256')).toBe(true);
    expect(loads).toBe(1);
    // An unknown kid within the reload interval does not trigger another load.
    expect(await jwks.key('nope')).toBeNull();
    expect(loads).toBe(1);
  });
});
