import { createCache, type Cache } from '@wallet/cache';
import { describeIfAvailable, redisAvailable, startRedis, uniquePrefix, type RedisHandle } from '@wallet/testing';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type KeyLike } from 'jose';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OAuthError } from './oauth-error';
import { CLIENT_ASSERTION_TYPE, grantPresentationContext, kbNonceOf, pickScope, VerifierGrants } from './verifier-grants';
import { DEFAULT_RELYING_PARTY, RelyingPartyRegistry, type RelyingPartyConfig } from './relying-party-registry';

const AUD = 'https://verifier.example/services/m2m/token';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const fakeKbJwt = (payload: Record<string, unknown>) => `${b64({ alg: 'ES256', typ: 'kb+jwt' })}.${b64(payload)}.c2ln`;
const refusal = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OAuthError) return { status: error.status, error: error.error, description: error.description };
    throw error;
  }
  throw new Error('expected a refusal');
};

const record = (serviceId = 'shop') => ({
  serviceId,
  scope: 'login',
  credentials: { pid: [{ issuer: 'https://issuer.example', type: 'urn:pid', claims: { given_name: 'Erika' } }] },
  holder: 'urn:holder',
});

/** The same behaviour on the in-memory cache and on Redis shared by two "replicas". */
function grantsSuite(name: string, makeCaches: () => Promise<[Cache, Cache]>) {
  describe(name, () => {
    let caches: [Cache, Cache];
    let a: VerifierGrants;
    let b: VerifierGrants;
    let m2m: RelyingPartyConfig;
    let clientKey: KeyLike;

    beforeAll(async () => {
      caches = await makeCaches();
      a = new VerifierGrants(caches[0], 60_000);
      b = new VerifierGrants(caches[1], 60_000);
      const pair = await generateKeyPair('ES256', { extractable: true });
      clientKey = pair.privateKey as KeyLike;
      const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1' };
      m2m = { ...DEFAULT_RELYING_PARTY, id: 'm2m', tokenEndpointAuthMethod: 'private_key_jwt', clientJwks: { keys: [jwk as never] } };
    });
    afterAll(async () => {
      for (const cache of new Set(caches)) await cache.close();
    });

    it('nonces are single-use across replicas and bound to their service', async () => {
      const { c_nonce, expires_in } = await a.issueNonce('shop');
      expect(expires_in).toBe(60);
      const outcomes = await Promise.allSettled([a.takeNonce('shop', c_nonce), b.takeNonce('shop', c_nonce), b.takeNonce('shop', c_nonce)]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const other = await b.issueNonce('shop');
      expect(await refusal(a.takeNonce('shop-2', other.c_nonce))).toMatchObject({ error: 'invalid_grant', description: expect.stringMatching(/another client/) });
      expect(await refusal(a.takeNonce('shop', 'short'))).toMatchObject({ error: 'invalid_grant' });
    });

    it('refresh tokens rotate; a concurrent double use revokes the family, also the winner\'s new token', async () => {
      const r1 = await a.issueRefreshToken(record(), 600);
      const used = await b.useRefreshToken(r1, 'shop');
      expect(used).toMatchObject({ serviceId: 'shop', scope: 'login', holder: 'urn:holder' });
      const r2 = await a.issueRefreshToken({ ...record(), familyId: used.familyId, familyExpiresAt: used.familyExpiresAt }, 600);
      expect(await refusal(a.useRefreshToken(r2, 'other'))).toMatchObject({ error: 'invalid_grant', description: expect.stringMatching(/another client/) });

      const race = await Promise.allSettled([a.useRefreshToken(r2, 'shop'), b.useRefreshToken(r2, 'shop')]);
      expect(race.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const winner = (race.find((o) => o.status === 'fulfilled') as PromiseFulfilledResult<Awaited<ReturnType<VerifierGrants['useRefreshToken']>>>).value;
      const r3 = await a.issueRefreshToken({ ...record(), familyId: winner.familyId, familyExpiresAt: winner.familyExpiresAt }, 600);
      expect(await refusal(b.useRefreshToken(r3, 'shop'))).toMatchObject({ error: 'invalid_grant', description: expect.stringMatching(/revoked/) });

      // Another family is not affected; an ended family cannot be continued.
      expect(await a.useRefreshToken(await b.issueRefreshToken(record(), 600), 'shop')).toMatchObject({ scope: 'login' });
      expect(await refusal(a.issueRefreshToken({ ...record(), familyId: randomUUID(), familyExpiresAt: Date.now() - 1 }, 600))).toMatchObject({ error: 'invalid_grant' });
      expect(await refusal(a.useRefreshToken(randomBytes(32).toString('base64url'), 'shop'))).toMatchObject({ error: 'invalid_grant' });
    });

    it('private_key_jwt: verifies the assertion and takes its jti once across replicas', async () => {
      const sign = (claims: Record<string, unknown> = {}) =>
        new SignJWT({ jti: randomUUID(), ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer('m2m').setSubject('m2m').setAudience(AUD).setExpirationTime('2m').sign(clientKey);
      const context = { audiences: [AUD], clockSkewSeconds: 30 };
      const params = { client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await sign() };
      const outcomes = await Promise.allSettled([a.authenticateClient(m2m, params, context), b.authenticateClient(m2m, params, context)]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(await refusal(a.authenticateClient(m2m, params, context))).toMatchObject({ status: 401, error: 'invalid_client', description: expect.stringMatching(/jti/) });
      const noJti = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setIssuer('m2m').setSubject('m2m').setAudience(AUD).setExpirationTime('2m').sign(clientKey);
      expect(await refusal(a.authenticateClient(m2m, { ...params, client_assertion: noJti }, context))).toMatchObject({ status: 401 });
      const wrongSub = await new SignJWT({ jti: randomUUID() }).setProtectedHeader({ alg: 'ES256' }).setIssuer('m2m').setSubject('shop').setAudience(AUD).setExpirationTime('2m').sign(clientKey);
      expect(await refusal(a.authenticateClient(m2m, { ...params, client_assertion: wrongSub }, context))).toMatchObject({
        status: 401,
        description: expect.stringMatching(/claim sub/),
      });
      const none = `${b64({ alg: 'none' })}.${b64({ iss: 'm2m', sub: 'm2m', aud: AUD, exp: 4e9, jti: 'x' })}.`;
      expect(await refusal(a.authenticateClient(m2m, { ...params, client_assertion: none }, context))).toMatchObject({ status: 401, description: expect.stringMatching(/asymmetric/) });
      // A public client may not present an assertion; without one it passes.
      expect(await refusal(a.authenticateClient(DEFAULT_RELYING_PARTY, params, context))).toMatchObject({ status: 401 });
      await expect(a.authenticateClient(DEFAULT_RELYING_PARTY, {}, context)).resolves.toBeUndefined();
    });
  });
}

grantsSuite('VerifierGrants on the memory cache', async () => {
  const cache = await createCache({ type: 'memory' });
  return [cache, cache];
});

const describeRedis = describeIfAvailable('verifier-grants:redis', redisAvailable(), 'set REDIS_URL or put redis-server on PATH');
describeRedis('on Redis', () => {
  let server: RedisHandle;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });
  grantsSuite('VerifierGrants on Redis shared by two replicas', async () => {
    const keyPrefix = uniquePrefix('verifier-grants');
    return [await createCache({ type: 'redis', url: server.url, keyPrefix }), await createCache({ type: 'redis', url: server.url, keyPrefix })];
  });
});

describe('VerifierGrants on a frozen clock', () => {
  it('ends a refresh-token family and refuses a client assertion by the injected clock, not the system one', async () => {
    const cache = await createCache({ type: 'memory' });
    let now = new Date('2030-01-01T00:00:00Z');
    const grants = new VerifierGrants(cache, 60_000, () => now);
    const family = await grants.useRefreshToken(await grants.issueRefreshToken(record(), 600), 'shop');
    expect(family.familyExpiresAt).toBe(Date.parse('2030-01-01T00:10:00Z'));
    const next = await grants.issueRefreshToken({ ...record(), familyId: family.familyId, familyExpiresAt: family.familyExpiresAt }, 600);
    now = new Date('2030-01-01T00:10:01Z');
    expect(await refusal(grants.issueRefreshToken({ ...record(), familyId: family.familyId, familyExpiresAt: family.familyExpiresAt }, 600))).toMatchObject({
      error: 'invalid_grant',
      description: 'the refresh token has expired',
    });
    // The stored token outlives the family only in the cache's own (system) time; the clock ends it.
    expect(await refusal(grants.useRefreshToken(next, 'shop'))).toMatchObject({ error: 'invalid_grant' });

    // An assertion valid by the system clock is expired by the frozen one.
    const pair = await generateKeyPair('ES256', { extractable: true });
    const m2m: RelyingPartyConfig = { ...DEFAULT_RELYING_PARTY, id: 'm2m', tokenEndpointAuthMethod: 'private_key_jwt', clientJwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1' } as never] } };
    const assertion = await new SignJWT({ jti: randomUUID() }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer('m2m').setSubject('m2m').setAudience(AUD).setIssuedAt().setExpirationTime('2m').sign(pair.privateKey);
    now = new Date(Date.now() + 3_600_000);
    expect(await refusal(grants.authenticateClient(m2m, { client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion }, { audiences: [AUD], clockSkewSeconds: 30 }))).toMatchObject({
      status: 401,
      description: 'client_assertion is invalid: expired',
    });
    now = new Date();
    await expect(grants.authenticateClient(m2m, { client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion }, { audiences: [AUD], clockSkewSeconds: 30 })).resolves.toBeUndefined();
    await cache.close();
  });
});

describe('grant helpers', () => {
  it('reads the KB-JWT nonce from a DCQL object, a PE array or a single presentation, and refuses the rest', () => {
    const presentation = `issuer.jwt.sig~disclosure~${fakeKbJwt({ nonce: 'n-1', aud: 'shop' })}`;
    expect(kbNonceOf(JSON.stringify({ pid: [presentation] }))).toBe('n-1');
    expect(kbNonceOf(JSON.stringify([presentation]))).toBe('n-1');
    expect(kbNonceOf(presentation)).toBe('n-1');
    expect(() => kbNonceOf(undefined)).toThrow(/vp_token is required/);
    expect(() => kbNonceOf('{not json')).toThrow(/not valid JSON/);
    expect(() => kbNonceOf('issuer.jwt.sig~disclosure~')).toThrow(/no key-binding JWT/);
    expect(() => kbNonceOf(`a~${fakeKbJwt({ aud: 'shop' })}`)).toThrow(/no key-binding JWT/);
    expect(() => kbNonceOf(JSON.stringify({ pid: [] }))).toThrow(/no presentation/);
  });

  it('picks the named scope (openid aside) or the default, and checks grant presentations with aud = the service id', () => {
    expect(pickScope(DEFAULT_RELYING_PARTY, undefined)).toBe('demo');
    expect(pickScope(DEFAULT_RELYING_PARTY, 'openid demo')).toBe('demo');
    expect(() => pickScope(DEFAULT_RELYING_PARTY, 'nope')).toThrow(/unknown scope/);
    expect(() => pickScope(DEFAULT_RELYING_PARTY, ['demo'])).toThrow(/scope must be a string/);
    const request = grantPresentationContext(DEFAULT_RELYING_PARTY, 'demo', 'n-1');
    expect(request).toMatchObject({ audience: 'default', nonce: 'n-1', presentationDefinition: null });
    expect(request.dcql).toBe(DEFAULT_RELYING_PARTY.scopes['demo']!.dcql);
  });

  it('validates the service fields: private_key_jwt needs public keys in clientJwks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verifier-grants-'));
    const write = (service: Record<string, unknown>) => {
      const file = join(dir, `${randomUUID()}.json`);
      writeFileSync(file, JSON.stringify({ services: [{ id: 'm2m', defaultScope: 'demo', scopes: DEFAULT_RELYING_PARTY.scopes, ...service }] }));
      return file;
    };
    expect(() => RelyingPartyRegistry.fromFile(write({ tokenEndpointAuthMethod: 'private_key_jwt' }))).toThrow(/clientJwks: private_key_jwt needs clientJwks/);
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    expect(() => RelyingPartyRegistry.fromFile(write({ tokenEndpointAuthMethod: 'private_key_jwt', clientJwks: { keys: [privateJwk] } }))).toThrow(/must be a public key/);
    expect(() => RelyingPartyRegistry.fromFile(write({ tokenEndpointAuthMethod: 'private_key_jwt', clientJwks: { keys: [{ kty: 'oct', k: 'AAAA' }] } }))).toThrow(/clientJwks/);
    const { d: _d, ...publicJwk } = privateJwk;
    const services = RelyingPartyRegistry.fromFile(write({ tokenEndpointAuthMethod: 'private_key_jwt', clientJwks: { keys: [publicJwk] } }));
    expect(services.get('m2m')).toMatchObject({ tokenEndpointAuthMethod: 'private_key_jwt', refreshTokenTtlSeconds: 28_800 });
    expect(services.get('default')).toMatchObject({ tokenEndpointAuthMethod: 'none' });
  });
});
