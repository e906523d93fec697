/**
 * Verifier benchmark (results go to docs/benchmarks.md): verified `direct_post`
 * responses per second from one verifier process (the built bundle), each one
 * SD-JWT VC with 5 disclosures and a KB-JWT, against the raw ES256
 * verifications per second Node's crypto does on this machine in the same run.
 * Target: responses/s >= 35% of (raw ES256 verifications/s / 2), since every
 * response needs two signature checks (issuer and key binding).
 *
 * The raw rate is measured before the sessions are made and again right after
 * the timed phase, and their mean is the reference, since this machine's speed
 * drifts within a run. The timed requests go out through a lean keep-alive
 * client (`lib/raw-http-load.ts`) after an untimed warm-up.
 *
 * Run: node tools/scripts/run-ts.mjs bench/verifier.bench.ts [--n 4000] [--warm-up 2000]
 * Build first (`node tools/build/bundle.mjs verifier`).
 */
import { createDidJwkSdJwtIssuer, createTestSdJwtHolder, processCpuSeconds, startBuiltApp, threadCpuSeconds } from '@wallet/testing';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { runRawLoad, serializeRequest } from './lib/raw-http-load';

const arg = (name: string) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : undefined);
const N = arg('--n') || 4_000;
/** Untimed responses first, so the timed ones run on optimized code. */
const WARM_UP = arg('--warm-up') ?? 2_000;
const CONCURRENCY = 16;
const VCT = 'https://credentials.example.com/pid';

/** Raw ES256 (P-256, SHA-256) verifications per second, on one core, for 3 s. */
function rawEs256PerSecond(): number {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = Buffer.alloc(300, 7);
  const signature = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  let count = 0;
  const started = process.hrtime.bigint();
  const deadline = Date.now() + 3_000;
  while (Date.now() < deadline) {
    for (let i = 0; i < 100; i++) if (verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)) count++;
  }
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

async function main() {
  console.log(`node ${process.version}, ${N} responses after ${WARM_UP} untimed, concurrency ${CONCURRENCY}`);
  const rawBefore = rawEs256PerSecond();

  // A did:jwk issuer: its key resolves offline, so each response costs exactly two signature checks.
  const issuer = await createDidJwkSdJwtIssuer();
  const did = issuer.did;
  const holder = await createTestSdJwtHolder();
  const claims = { given_name: 'Erika', family_name: 'Mustermann', birthdate: '1963-08-12', nationality: 'DE', email: 'erika@example.com' };
  const credential = await issuer.issue(claims, { _sd: Object.keys(claims) }, { vct: VCT, holderJwk: holder.publicJwk });

  const dir = mkdtempSync(join(tmpdir(), 'wallet-verifier-bench-'));
  writeFileSync(
    join(dir, 'services.yaml'),
    JSON.stringify({
      services: [
        {
          id: 'bench',
          defaultScope: 'pid',
          scopes: {
            pid: {
              dcql: { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: [VCT] }, claims: Object.keys(claims).map((c) => ({ path: [c] })) }] },
              trust: [{ type: VCT, issuers: [{ id: did }] }],
            },
          },
        },
      ],
    }),
  );
  const proc = await startBuiltApp('verifier', { WALLET_VERIFIER_SERVICES_FILE: join(dir, 'services.yaml'), WALLET_LOGGING_LOG_BODIES: 'false' });
  const base = proc.servers.get('verifier')!;
  const pool = new Pool(base, { connections: CONCURRENCY });
  try {
    // Sessions and presentations are made before the clock starts, the warm-up
    // ones first: they run the response path until V8 has optimized it, as a
    // long-running verifier would have, so the timed phase measures steady state.
    const requests: Buffer[] = [];
    for (let i = 0; i < WARM_UP + N; i++) {
      const { body } = await pool.request({ method: 'GET', path: '/api/v1/startsiop?client_id=bench&request_mode=urlEncoded' });
      const params = new URL(await body.text()).searchParams;
      const presentation = await holder.present(credential, Object.fromEntries(Object.keys(claims).map((c) => [c, true])), {
        nonce: params.get('nonce')!,
        aud: params.get('client_id')!,
      });
      const form = new URLSearchParams({ state: params.get('state')!, vp_token: JSON.stringify({ pid: [presentation] }) }).toString();
      requests.push(
        serializeRequest(base, {
          method: 'POST',
          path: '/api/v1/authentication_response',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: form,
        }),
      );
    }
    const warmUp = await runRawLoad(base, requests.splice(0, WARM_UP), CONCURRENCY);
    if (warmUp.statuses.some((status) => status !== 200)) throw new Error('a warm-up response was refused');

    const serverCpu0 = processCpuSeconds(proc.child.pid!);
    const threads0 = threadCpuSeconds(proc.child.pid!);
    const clientCpu0 = process.cpuUsage();
    const { statuses, latencies, seconds } = await runRawLoad(base, requests, CONCURRENCY);
    const clientCpu = process.cpuUsage(clientCpu0);
    const ok = statuses.filter((status) => status === 200).length;
    const serverCpu = processCpuSeconds(proc.child.pid!) - serverCpu0;
    const mainThreadCpu = (threadCpuSeconds(proc.child.pid!).get(proc.child.pid!) ?? 0) - (threads0.get(proc.child.pid!) ?? 0);
    const rawAfter = rawEs256PerSecond();
    const raw = (rawBefore + rawAfter) / 2;
    console.log(
      `  raw ES256 verifications (node:crypto, one core): ${Math.round(raw).toLocaleString('en')}/s ` +
        `(${Math.round(rawBefore).toLocaleString('en')} before, ${Math.round(rawAfter).toLocaleString('en')} after)`,
    );
    const rate = ok / seconds;
    latencies.sort((a, b) => a - b);
    const target = 0.35 * (raw / 2);
    console.log(`  verified direct_post responses: ${Math.round(rate).toLocaleString('en')}/s (${ok}/${N} accepted in ${seconds.toFixed(1)} s)`);
    console.log(
      `  verifier CPU ${((serverCpu * 1e6) / N).toFixed(0)} µs per response = ${Math.round(N / serverCpu).toLocaleString('en')} responses per CPU-second; ` +
        `its main thread ${((mainThreadCpu * 1e6) / N).toFixed(0)} µs per response (the rest: thread pool and GC helpers); ` +
        `load generator ${((clientCpu.user + clientCpu.system) / N).toFixed(0)} µs per response`,
    );
    console.log(`  latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`);
    console.log(`  ratio to raw ES256/2: ${((rate / (raw / 2)) * 100).toFixed(1)}% (target >= 35%, i.e. >= ${Math.round(target).toLocaleString('en')}/s)`);
    if (ok !== N) process.exitCode = 1;
  } finally {
    await pool.close();
    await proc.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
