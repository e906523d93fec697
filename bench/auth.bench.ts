/**
 * Auth benchmarks (results go to docs/benchmarks.md):
 *  - guard: access-token verifications per second through `AccessTokenVerifier`
 *    (what `AccessTokenGuard` runs per request: ES256 signature, claims, and
 *    three revocation lookups), one awaited call at a time, with the in-memory
 *    cache and, when Redis is available, with Redis; once with the signature
 *    checked on every call, once with tokens presented again (the verifier
 *    remembers verified tokens; expiry and revocation are still checked);
 *  - login: full passkey logins per second (begin + finish over HTTP, each
 *    with a fresh ES256 assertion) against one built auth process (SQLite,
 *    in-memory cache), 16 clients in flight. The clients use a minimal
 *    software authenticator below (real P-256 keys and signatures, `none`
 *    attestation), because nid-webauthn-emulator signs at ~200/s and would
 *    measure itself; the e2e tests use the emulator.
 *  - calibration: node's raw P-256 verifications/s in the same process, since
 *    the machine is shared and the guard is bound by that operation.
 *
 * Run: node tools/scripts/run-ts.mjs bench/auth.bench.ts [--seconds 5]
 * Build first (`npm run build`).
 */
import { createCache, type Cache } from '@wallet/cache';
import { loadConfig } from '@wallet/config';
import { ensureDefaultTenant } from '@wallet/platform';
import {
  ACCESS_TOKEN_KEY_PURPOSE,
  AccessTokenRevocations,
  AccessTokenVerifier,
  CachedJwks,
  openServiceKeyRing,
  storedJwksLoader,
} from '@wallet/platform';
import { createStore } from '@wallet/persistence';
import { PasskeyTestClient, processCpuSeconds, redisAvailable, startBuiltApp, startRedis, uniquePrefix } from '@wallet/testing';
import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign, verify, type KeyObject } from 'node:crypto';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 5;

const b64u = (bytes: Buffer): string => bytes.toString('base64url');
const sha256 = (data: Buffer | string): Buffer => createHash('sha256').update(data).digest();

/** A minimal ES256 platform authenticator: discoverable credential, UP+UV, `none` attestation. */
class BenchAuthenticator {
  private readonly key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  private readonly credentialId = randomBytes(16);
  private userHandle = '';
  private counter = 0;

  constructor(private readonly origin: string) {}

  attest(options: { challenge: string; rp: { id: string }; user: { id: string } }) {
    this.userHandle = options.user.id;
    const jwk = this.key.publicKey.export({ format: 'jwk' });
    const cose = Buffer.concat([
      Buffer.from([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20]),
      Buffer.from(jwk.x!, 'base64url'),
      Buffer.from([0x22, 0x58, 0x20]),
      Buffer.from(jwk.y!, 'base64url'),
    ]);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(this.credentialId.length);
    const authData = Buffer.concat([sha256(options.rp.id), Buffer.from([0x45, 0, 0, 0, 0]), Buffer.alloc(16), idLength, this.credentialId, cose]);
    const attestationObject = Buffer.concat([
      Buffer.from([0xa3, 0x63]), Buffer.from('fmt'), Buffer.from([0x64]), Buffer.from('none'),
      Buffer.from([0x67]), Buffer.from('attStmt'), Buffer.from([0xa0]),
      Buffer.from([0x68]), Buffer.from('authData'), Buffer.from([0x58, authData.length]), authData,
    ]);
    const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin: this.origin, crossOrigin: false }));
    return {
      id: b64u(this.credentialId),
      rawId: b64u(this.credentialId),
      type: 'public-key',
      response: { clientDataJSON: b64u(clientDataJSON), attestationObject: b64u(attestationObject), transports: ['internal'] },
      clientExtensionResults: {},
    };
  }

  assert(options: { challenge: string; rpId: string }) {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(++this.counter);
    const authData = Buffer.concat([sha256(options.rpId), Buffer.from([0x05]), counter]);
    const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin: this.origin, crossOrigin: false }));
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), this.key.privateKey);
    return {
      id: b64u(this.credentialId),
      rawId: b64u(this.credentialId),
      type: 'public-key',
      response: { clientDataJSON: b64u(clientDataJSON), authenticatorData: b64u(authData), signature: b64u(signature), userHandle: this.userHandle },
      clientExtensionResults: {},
    };
  }
}

function calibrate(): number {
  const { privateKey, publicKey }: { privateKey: KeyObject; publicKey: KeyObject } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = Buffer.from('x'.repeat(400));
  const signature = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  let n = 0;
  const started = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline) {
    for (let i = 0; i < 100; i++) verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
    n += 100;
  }
  const rate = n / (Number(process.hrtime.bigint() - started) / 1e9);
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `  calibration: node crypto.verify P-256 alone: ${Math.round(rate).toLocaleString('en')}/s wall, ` +
      `${Math.round(n / ((cpu.user + cpu.system) / 1e6)).toLocaleString('en')}/s per CPU-second`,
  );
  return rate;
}

async function benchGuard(label: string, cache: Cache, cacheSize: number) {
  const config = loadConfig({ argv: [], env: { WALLET_STORAGE_TYPE: 'memory' } }).config;
  const store = await createStore({ type: 'memory' });
  await ensureDefaultTenant(store);
  const ring = await openServiceKeyRing(store, config, ACCESS_TOKEN_KEY_PURPOSE);
  const verifier = new AccessTokenVerifier({
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    keys: new CachedJwks(storedJwksLoader(store), { minReloadIntervalMs: 30_000, maxAgeMs: 300_000 }),
    revocations: new AccessTokenRevocations(cache, { maxTokenLifetimeMs: 86_400_000 }),
    cacheSize,
  });
  const tokens = await Promise.all(
    Array.from({ length: 256 }, (_, i) =>
      ring.sign(
        { iss: config.auth.issuer, aud: config.auth.audience, sub: `user-${i}`, tenant: 'default', jti: randomUUID(), sid: randomUUID() },
        { typ: 'at+jwt', expiresInSeconds: 900 },
      ),
    ),
  );
  for (const token of tokens) await verifier.verify(token); // warm the key cache and the JIT
  let n = 0;
  const started = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    for (let i = 0; i < 256; i++) await verifier.verify(tokens[i]!);
    n += 256;
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(
    `  guard verifications (${label}): ${Math.round(n / elapsed).toLocaleString('en')}/s wall, ` +
      `${Math.round(n / cpuSeconds).toLocaleString('en')}/s per CPU-second of this process (${n} in ${elapsed.toFixed(2)} s)`,
  );
  await store.close();
}

async function benchLogin() {
  const origin = 'http://localhost:8080';
  const proc = await startBuiltApp('auth', { WALLET_AUTH_RATE_LIMITS_CEREMONY_LIMIT: '100000000' });
  try {
    const baseUrl = proc.servers.get('auth')!;
    const http = new PasskeyTestClient({ baseUrl });
    const users = Array.from({ length: 16 }, () => new BenchAuthenticator(origin));
    for (const authenticator of users) {
      const begin = await http.call<{ challengeId: string; createOptions: { publicKey: never } }>('POST', '/user/register-webauthn-begin', { body: {} });
      const done = await http.call('POST', '/user/register-webauthn-finish', {
        body: { challengeId: begin.body.challengeId, credential: authenticator.attest(begin.body.createOptions.publicKey) },
      });
      if (done.status !== 200) throw new Error(`registration answered ${done.status}: ${JSON.stringify(done.body)}`);
    }
    const loginOnce = async (authenticator: BenchAuthenticator) => {
      const begin = await http.call<{ challengeId: string; getOptions: { publicKey: never } }>('POST', '/user/login-webauthn-begin', { body: {} });
      const done = await http.call('POST', '/user/login-webauthn-finish', {
        body: { challengeId: begin.body.challengeId, credential: authenticator.assert(begin.body.getOptions.publicKey) },
      });
      if (done.status !== 200) throw new Error(`login answered ${done.status}: ${JSON.stringify(done.body)}`);
    };
    for (const authenticator of users) for (let i = 0; i < 20; i++) await loginOnce(authenticator); // warm-up
    // The emulator the e2e tests use, for comparison: one login at a time.
    const emulated = new PasskeyTestClient({ baseUrl });
    await emulated.registered();
    let m = 0;
    const emulatedUntil = Date.now() + 2000;
    const emulatedStart = process.hrtime.bigint();
    while (Date.now() < emulatedUntil) {
      if ((await emulated.login()).status !== 200) throw new Error('emulated login failed');
      m++;
    }
    const emulatedRate = m / (Number(process.hrtime.bigint() - emulatedStart) / 1e9);
    let n = 0;
    const latencies: number[] = [];
    const serverCpu0 = processCpuSeconds(proc.child.pid!);
    const deadline = Date.now() + seconds * 1000;
    const started = process.hrtime.bigint();
    await Promise.all(
      users.map(async (authenticator) => {
        while (Date.now() < deadline) {
          const t0 = process.hrtime.bigint();
          await loginOnce(authenticator);
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          n++;
        }
      }),
    );
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    const serverCpu = processCpuSeconds(proc.child.pid!) - serverCpu0;
    latencies.sort((a, b) => a - b);
    const p = (q: number) => latencies[Math.floor(latencies.length * q)]!.toFixed(1);
    console.log(
      `  full logins (begin + finish, SQLite, 16 in flight): ${Math.round(n / elapsed).toLocaleString('en')}/s ` +
        `(${n} in ${elapsed.toFixed(2)} s; p50 ${p(0.5)} ms, p99 ${p(0.99)} ms); ` +
        `server CPU ${((serverCpu * 1000) / n).toFixed(2)} ms per login = ${Math.round(n / serverCpu).toLocaleString('en')} logins per server CPU-second`,
    );
    console.log(`  full logins with nid-webauthn-emulator as the client, one at a time: ${emulatedRate.toFixed(0)}/s`);
  } finally {
    await proc.stop();
  }
}

async function main() {
  console.log(`node ${process.version}, ${seconds} s per measurement; load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  calibrate();
  const memory = await createCache({ type: 'memory' });
  await benchGuard('memory cache, every token verified afresh (signature each time)', memory, 0);
  await benchGuard('memory cache, 256 tokens each presented again (verified-token cache)', memory, 10_000);
  await memory.close();
  if (redisAvailable()) {
    const redis = await startRedis();
    const cache = await createCache({ type: 'redis', url: redis.url, keyPrefix: uniquePrefix('bench-auth') });
    await benchGuard('Redis, signature each time', cache, 0);
    await benchGuard('Redis, tokens presented again', cache, 10_000);
    await cache.close();
    await redis.stop();
  } else {
    console.log('  guard with Redis: skipped (no REDIS_URL or redis-server)');
  }
  await benchLogin();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
