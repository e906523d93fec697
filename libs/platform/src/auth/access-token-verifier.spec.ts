import { createCache } from '@wallet/cache';
import { loadConfig } from '@wallet/config';
import { generateSigningKey } from '@wallet/crypto';
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

describe('AccessTokenVerifier cache bound', () => {
  it('holds at most cacheSize tokens, forgets the oldest eighth when full, and checks a forgotten token in full again (key lookup, signature)', async () => {
    const config = loadConfig({ argv: [], env: { WALLET_STORAGE_TYPE: 'memory' } }).config;
    const store = await createStore({ type: 'memory' });
    const cache = await createCache({ type: 'memory' });
    const ring = await openServiceKeyRing(store, config, ACCESS_TOKEN_KEY_PURPOSE);
    const jwks = new CachedJwks(storedJwksLoader(store), { minReloadIntervalMs: 1000, maxAgeMs: 60_000 });
    // Key lookups happen only when a token is not remembered (before its signature check).
    let lookups = 0;
    const verifier = new AccessTokenVerifier({
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      keys: {
        key: (kid) => {
          lookups++;
          return jwks.key(kid);
        },
      },
      revocations: new AccessTokenRevocations(cache, { maxTokenLifetimeMs: 86_400_000 }),
      cacheSize: 16,
    });
    const tokens = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        ring.sign({ iss: config.auth.issuer, aud: config.auth.audience, sub: `u${i}`, tenant: 'default', jti: randomUUID() }, { typ: 'at+jwt', expiresInSeconds: 600 }),
      ),
    );
    const verify = async (i: number) => expect(await verifier.verify(tokens[i]!)).toMatchObject({ userId: `u${i}` });
    for (let i = 0; i < 16; i++) await verify(i);
    expect(lookups).toBe(16);
    await verify(0); // remembered
    expect(lookups).toBe(16);
    await verify(16); // full: tokens 0 and 1 are forgotten
    expect(lookups).toBe(17);
    await verify(2);
    expect(lookups).toBe(17);
    await verify(1);
    expect(lookups).toBe(18);
    await verify(0);
    expect(lookups).toBe(19);
    for (let i = 17; i < 40; i++) await verify(i);
    expect(verifier['verified'].size).toBeLessThanOrEqual(16);
    expect(verifier['verified'].has(tokens[39]!)).toBe(true);
    expect(verifier['verified'].has(tokens[16]!)).toBe(false);
    await store.close();
    await cache.close();
  });
});

describe('AccessTokenVerifier checks', () => {
  const b64u = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  async function setup(alg: 'ES256' | 'EdDSA') {
    const config = loadConfig({ argv: [], env: { WALLET_STORAGE_TYPE: 'memory', WALLET_CRYPTO_SIGNING_ALG: alg } }).config;
    const store = await createStore({ type: 'memory' });
    const cache = await createCache({ type: 'memory' });
    const ring = await openServiceKeyRing(store, config, ACCESS_TOKEN_KEY_PURPOSE);
    const verifier = new AccessTokenVerifier({
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      keys: new CachedJwks(storedJwksLoader(store), { minReloadIntervalMs: 1000, maxAgeMs: 60_000 }),
      revocations: new AccessTokenRevocations(cache, { maxTokenLifetimeMs: 86_400_000 }),
      cacheSize: 0,
    });
    const claims = (extra: Record<string, unknown> = {}) => ({
      iss: config.auth.issuer,
      aud: config.auth.audience,
      sub: 'u1',
      tenant: 'default',
      jti: randomUUID(),
      ...extra,
    });
    return { ring, verifier, claims, close: () => Promise.all([store.close(), cache.close()]) };
  }

  it('verifies EdDSA tokens, the application/at+jwt spelling and an audience list', async () => {
    const { ring, verifier, claims, close } = await setup('EdDSA');
    const token = await ring.sign(claims(), { typ: 'at+jwt', expiresInSeconds: 60 });
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).toMatchObject({ alg: 'EdDSA' });
    expect(await verifier.verify(token)).toMatchObject({ userId: 'u1' });
    expect(await verifier.verify(await ring.sign(claims(), { typ: 'application/at+jwt', expiresInSeconds: 60 }))).toMatchObject({ userId: 'u1' });
    const list = await ring.sign(claims({ aud: ['urn:other', 'urn:wallet:api'] }), { typ: 'at+jwt', expiresInSeconds: 60 });
    expect(await verifier.verify(list)).toMatchObject({ userId: 'u1' });
    await close();
  });

  it('refuses a header that names another algorithm than its key, crit, nbf in the future and malformed parts', async () => {
    const { ring, verifier, claims, close } = await setup('ES256');
    const good = await ring.sign(claims(), { typ: 'at+jwt', expiresInSeconds: 60 });
    const [h, p, s] = good.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    const cases: Array<[string, string]> = [
      [`${b64u({ ...header, alg: 'EdDSA' })}.${p}.${s}`, 'does not match its key'],
      [`${b64u({ ...header, alg: 'RS256' })}.${p}.${s}`, 'does not match its key'],
      [`${b64u({ ...header, crit: ['exp'] })}.${p}.${s}`, 'critical'],
      [`${b64u({ ...header, typ: 'JWT' })}.${p}.${s}`, 'type'],
      [`${b64u({ ...header, alg: 'HS256' })}.${p}.${s}`, 'algorithm is not accepted'],
      [`${Buffer.from('not json').toString('base64url')}.${p}.${s}`, 'malformed'],
      [`${h}.${p}.${s.slice(0, 20)}`, 'signature is invalid'],
      [await ring.sign(claims({ nbf: Math.floor(Date.now() / 1000) + 600 }), { typ: 'at+jwt', expiresInSeconds: 900 }), 'not valid yet'],
      [await ring.sign(claims({ sub: 7 }), { typ: 'at+jwt', expiresInSeconds: 60 }), 'lacks'],
    ];
    for (const [token, message] of cases) {
      await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'unauthorized', message: expect.stringContaining(message) });
    }
    await close();
  });
});

describe('CachedJwks reload budget', () => {
  it('reloads at once for a kid it has not seen, once per kid and at most the burst per window', async () => {
    const a = await generateSigningKey('ES256');
    const b = await generateSigningKey('ES256');
    let published = [a.publicJwk];
    let loads = 0;
    let now = 0;
    const jwks = new CachedJwks(
      async () => {
        loads++;
        return published;
      },
      { minReloadIntervalMs: 30_000, maxAgeMs: 300_000, reloadBurst: 2, now: () => now },
    );
    expect(await jwks.key(a.kid)).toMatchObject({ alg: 'ES256' });
    expect(loads).toBe(1);
    published = [a.publicJwk, b.publicJwk]; // auth rotated
    now = 1000;
    expect(await jwks.key(b.kid)).toMatchObject({ alg: 'ES256' }); // picked up by its first token
    expect(loads).toBe(2);
    expect(await jwks.key('invented-1')).toBeNull();
    expect(await jwks.key('invented-1')).toBeNull();
    expect(await jwks.key('invented-2')).toBeNull();
    expect(await jwks.key('invented-3')).toBeNull();
    expect(loads).toBe(3); // b and invented-1 used the burst of 2 in this window
    now = 31_000;
    expect(await jwks.key('invented-2')).toBeNull();
    expect(loads).toBe(4);
  });
});
