/**
 * Admin benchmarks (results go to docs/benchmarks.md, section "Admin"):
 *  - admin API latency over HTTP against the built admin app (SQLite):
 *    tenant create, get, list of 100; 100 invite codes in one request;
 *  - `wallet-admin apply` of a 50-tenant file (built CLI as a process):
 *    first run, and the second run that changes nothing;
 *  - the invites-cleanup job over 10,000 invites in 10 tenants (SQLite).
 *
 * Run: node tools/scripts/run-ts.mjs bench/admin.bench.ts (build first: `npm run build`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GLOBAL_SCOPE } from '@wallet/domain';
import { Collections, createStore } from '@wallet/persistence';
import { cleanupInvites } from '@wallet/admin-feature';
import { startBuiltApp } from '@wallet/testing';

const TOKEN = 'bench-admin-token-0123456789abcdefghijkl';

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

async function timed(count: number, op: (i: number) => Promise<Response>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    const response = await op(i);
    await response.arrayBuffer();
    if (response.status >= 400) throw new Error(`HTTP ${response.status}`);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times;
}

const report = (label: string, times: number[]) =>
  console.log(`  ${label}: p50 ${quantile(times, 0.5).toFixed(2)} ms, p95 ${quantile(times, 0.95).toFixed(2)} ms (${times.length} requests)`);

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'admin-bench-'));
  const proc = await startBuiltApp('admin', { WALLET_SERVER_ADMIN_TOKEN: TOKEN, WALLET_STORAGE_SQLITE_PATH: join(dir, 'w.db') });
  const base = proc.servers.get('admin')!;
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  try {
    console.log('admin API (built admin app, SQLite, one request at a time)');
    report('POST /admin/tenants', await timed(300, (i) => fetch(`${base}/admin/tenants`, { method: 'POST', headers, body: JSON.stringify({ id: `t${i}`, display_name: `T ${i}` }) })));
    report('GET /admin/tenants/{id}', await timed(1000, (i) => fetch(`${base}/admin/tenants/t${i % 300}`, { headers })));
    report('GET /admin/tenants?limit=100', await timed(300, () => fetch(`${base}/admin/tenants?limit=100`, { headers })));
    report('PATCH /admin/tenants/{id}', await timed(300, (i) => fetch(`${base}/admin/tenants/t${i}`, { method: 'PATCH', headers, body: JSON.stringify({ display_name: `U ${i}` }) })));
    report('POST invites, 100 codes per request', await timed(10, () => fetch(`${base}/admin/tenants/t1/invites`, { method: 'POST', headers, body: JSON.stringify({ count: 100, expires_in: 3600 }) })));
    report('GET /admin/audit?limit=100', await timed(300, () => fetch(`${base}/admin/audit?limit=100`, { headers })));

    const file = join(dir, 'tenants.yaml');
    const lines = ['tenants:'];
    for (let i = 0; i < 50; i++) {
      lines.push(`  - id: apply-${i}`, `    display_name: Apply ${i}`, '    issuers:', `      - id: iss`, `        credential_issuer_identifier: https://iss${i}.example`, '    verifiers:', '      - id: rp', '        name: RP', `        url: https://rp${i}.example`);
    }
    writeFileSync(file, `${lines.join('\n')}\n`);
    const cli = resolve(__dirname, '../dist/apps/wallet-admin/main.js');
    const apply = () => {
      const started = process.hrtime.bigint();
      const out = execFileSync(process.execPath, [cli, 'apply', '-f', file, '-o', 'json'], { env: { PATH: process.env['PATH'] ?? '', WALLET_ADMIN_URL: base, WALLET_ADMIN_TOKEN: TOKEN } }).toString();
      return { ms: Number(process.hrtime.bigint() - started) / 1e6, changes: (JSON.parse(out) as { changes: unknown[] }).changes.length };
    };
    const first = apply();
    const second = apply();
    console.log(`wallet-admin apply, 50 tenants with 1 issuer and 1 verifier each (process start included)`);
    console.log(`  first run: ${first.ms.toFixed(0)} ms, ${first.changes} changes; second run: ${second.ms.toFixed(0)} ms, ${second.changes} changes`);
  } finally {
    await proc.stop();
  }

  const store = await createStore({ type: 'sqlite', path: join(dir, 'jobs.db') });
  const base2 = { enabled: true, requireInvite: false, trustConfig: {}, allowedProtocols: [] };
  const now = new Date();
  for (let t = 0; t < 10; t++) {
    await store.repository(Collections.tenants).create(GLOBAL_SCOPE, { id: `j${t}`, displayName: 'J', ...base2 });
    for (let i = 0; i < 1000; i++) {
      await store.repository(Collections.invites).create(`j${t}`, {
        id: `i${i}`,
        codeHash: `h${t}-${i}`,
        expiresAt: new Date(now.getTime() + (i % 2 ? -1 : 1) * 3_600_000).toISOString(),
        maxUses: 1,
        uses: 0,
        revoked: false,
      });
    }
  }
  const started = process.hrtime.bigint();
  const result = await cleanupInvites(store, { now, signal: new AbortController().signal });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`invites-cleanup job, 10,000 invites in 10 tenants (SQLite): removed ${String(result['removed'])} in ${ms.toFixed(0)} ms`);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
