import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Pool } from 'undici';
import {
  describeIfAvailable,
  logEntries,
  redisAvailable,
  startBuiltApp,
  startRedis,
  uniquePrefix,
  type RedisHandle,
  type ServiceProcess,
} from '@wallet/testing';

const TOKEN = 'e2e-admin-token-0123456789abcdefghijklmnop';
const CLI = resolve(__dirname, '../../dist/apps/wallet-admin/main.js');

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as its own process. */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((res) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        res({ code, stdout, stderr });
      },
    );
  });
}

async function http(base: string, method: string, path: string, body?: unknown, token: string | null = TOKEN) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type') ?? '', text, json: text ? (JSON.parse(text) as unknown) : null };
}

describe('admin service and wallet-admin CLI (built bundles)', () => {
  let admin: ServiceProcess;
  let base: string;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'admin-e2e-'));
    admin = await startBuiltApp('admin', {
      WALLET_SERVER_ADMIN_TOKEN: TOKEN,
      WALLET_STORAGE_SQLITE_PATH: join(dir, 'wallet.db'),
    });
    base = admin.servers.get('admin')!;
    env = { WALLET_ADMIN_URL: base, WALLET_ADMIN_TOKEN: TOKEN };
  });

  afterAll(async () => {
    await admin.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 401 problem+json without a token or with a wrong one; status needs none', async () => {
    expect((await http(base, 'GET', '/admin/status', undefined, null)).status).toBe(200);
    for (const token of [null, 'wrong', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const answer = await http(base, 'GET', '/admin/tenants', undefined, token);
      expect(answer.status).toBe(401);
      expect(answer.type).toContain('application/problem+json');
      expect(answer.text).not.toContain(TOKEN);
    }
    expect((await http(base, 'GET', '/admin/tenants')).status).toBe(200);
  });

  it('takes the same time to refuse a token whatever length of it matched (paired sign test)', async () => {
    const pool = new Pool(base, { connections: 1, pipelining: 1 });
    // Same length as the real token: differs at the first character, or only at the last.
    const none = `Z${TOKEN.slice(1)}`;
    const almost = `${TOKEN.slice(0, -1)}Z`;
    const once = async (token: string) => {
      const started = process.hrtime.bigint();
      const answer = await pool.request({ method: 'GET', path: '/admin/tenants', headers: { authorization: `Bearer ${token}` } });
      await answer.body.text();
      expect(answer.statusCode).toBe(401);
      return Number(process.hrtime.bigint() - started);
    };
    for (let i = 0; i < 50; i++) await once(i % 2 ? none : almost); // warm-up
    const pairs = 400;
    let almostSlower = 0;
    for (let i = 0; i < pairs; i++) {
      // Alternate which goes first, so an order effect (and load drift) hits both alike.
      const [a, n] = i % 2 ? [await once(almost), await once(none)] : (([x, y]) => [y, x])([await once(none), await once(almost)]);
      if (a! > n!) almostSlower++;
    }
    await pool.close();
    // Without a timing dependence, "almost is slower" is a fair coin per pair: Binomial(400, 0.5),
    // standard deviation 10. A compare that stops at the first differing byte makes `almost`
    // slower in most pairs. 5 standard deviations: a false alarm about once in 1.7 million runs.
    expect(Math.abs(almostSlower - pairs / 2)).toBeLessThan(5 * Math.sqrt(pairs) / 2);
  }, 60_000);

  it('serves its OpenAPI document, equal to the committed one', async () => {
    const { readFileSync } = await import('node:fs');
    const committed = JSON.parse(readFileSync(resolve(__dirname, '../../docs/api/admin.openapi.json'), 'utf8')) as unknown;
    const served = await http(base, 'GET', '/admin/openapi.json');
    expect(served.json).toEqual(committed);
  });

  it('runs full CRUD of tenants, users, issuers, verifiers and invites through the CLI, with JSON output and exit codes', async () => {
    const run = (...args: string[]) => cli([...args, '-o', 'json'], env);
    const json = (r: CliRun) => {
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      return JSON.parse(r.stdout) as Record<string, unknown> & { items?: Array<Record<string, unknown>> };
    };

    // tenants
    expect(json(await run('tenant', 'create', 'acme', '--name', 'Acme', '--require-invite', 'true', '--pdp-url', 'https://pdp.acme.test'))).toMatchObject({
      id: 'acme',
      display_name: 'Acme',
      require_invite: true,
      trust_config: { pdp_url: 'https://pdp.acme.test' },
    });
    const duplicate = await run('tenant', 'create', 'acme', '--name', 'Again');
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('409');
    expect(duplicate.stdout).toBe('');
    expect((await run('tenant', 'create', 'Bad_Id', '--name', 'x')).code).toBe(1);
    expect(json(await run('tenant', 'get', 'acme'))['display_name']).toBe('Acme');
    expect(json(await run('tenant', 'update', 'acme', '--name', 'Acme Corp', '--enabled', 'false'))).toMatchObject({ display_name: 'Acme Corp', enabled: false, version: 2 });
    expect(json(await run('tenant', 'list')).items!.map((t) => t['id'])).toEqual(['acme', 'default']);
    expect((await run('tenant', 'get', 'nope')).code).toBe(1);

    // users
    const user = json(await run('user', 'add', '-T', 'acme', '--id', 'u1', '--name', 'Ulla'));
    expect(user).toMatchObject({ id: 'u1', role: 'member', status: 'active' });
    expect(json(await run('user', 'add', '-T', 'acme', '--id', 'u1', '--role', 'admin'))['role']).toBe('admin');
    expect(json(await run('user', 'suspend', '-T', 'acme', 'u1'))['status']).toBe('suspended');
    expect(json(await run('user', 'list', '-T', 'acme')).items!.map((u) => u['id'])).toEqual(['u1']);
    const refused = await run('tenant', 'delete', 'acme');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('412');
    expect(json(await run('user', 'remove', '-T', 'acme', 'u1'))).toEqual({ removed: 'u1' });
    expect(json(await run('user', 'list', '-T', 'acme')).items).toEqual([]);

    // issuers: the private key goes in, never comes out
    const keyFile = join(dir, 'issuer-key.pem');
    writeFileSync(keyFile, '-----BEGIN PRIVATE KEY-----\nSECRETKEYMATERIAL0123\n-----END PRIVATE KEY-----\n');
    const issuer = await run('issuer', 'create', '-T', 'acme', '--id', 'pid', '--identifier', 'https://issuer.example/pid', '--private-key-file', keyFile);
    expect(json(issuer)).toMatchObject({ id: 'pid', client_private_key_set: true });
    expect(issuer.stdout).not.toContain('SECRETKEYMATERIAL');
    const got = await run('issuer', 'get', '-T', 'acme', 'pid');
    expect(got.stdout).not.toContain('SECRETKEYMATERIAL');
    expect(json(got)['client_private_key_set']).toBe(true);
    expect(json(await run('issuer', 'update', '-T', 'acme', 'pid', '--visible', 'false'))).toMatchObject({ visible: false, client_private_key_set: true });
    expect(json(await run('issuer', 'list', '-T', 'acme')).items).toHaveLength(1);
    expect(json(await run('issuer', 'delete', '-T', 'acme', 'pid'))).toEqual({ deleted: 'pid' });
    expect((await run('issuer', 'get', '-T', 'acme', 'pid')).code).toBe(1);

    // verifiers
    expect(json(await run('verifier', 'create', '-T', 'acme', '--id', 'shop', '--name', 'Shop', '--verifier-url', 'https://shop.example'))).toMatchObject({ id: 'shop', url: 'https://shop.example' });
    expect(json(await run('verifier', 'update', '-T', 'acme', 'shop', '--name', 'Shop 2'))['name']).toBe('Shop 2');
    expect(json(await run('verifier', 'get', '-T', 'acme', 'shop'))['name']).toBe('Shop 2');
    expect(json(await run('verifier', 'list', '-T', 'acme')).items).toHaveLength(1);
    expect(json(await run('verifier', 'delete', '-T', 'acme', 'shop'))).toEqual({ deleted: 'shop' });

    // invites: codes once
    const invites = json(await run('invite', 'create', '-T', 'acme', '--count', '2', '--max-uses', '3', '--expires-in', '3600')).items!;
    expect(invites).toHaveLength(2);
    expect(invites[0]).toMatchObject({ max_uses: 3, status: 'active', code: expect.any(String) });
    const listed = await run('invite', 'list', '-T', 'acme');
    for (const invite of invites) expect(listed.stdout).not.toContain(String(invite['code']));
    expect(json(await run('invite', 'revoke', '-T', 'acme', String(invites[0]!['id'])))['status']).toBe('revoked');

    // the audit log saw every change, without the secrets
    const audit = await http(base, 'GET', '/admin/audit?tenant=acme&limit=1000');
    const actions = (audit.json as { items: Array<{ action: string }> }).items.map((e) => e.action);
    expect(actions).toEqual([
      'user.create',
      'membership.put',
      'user.suspend',
      'user.delete',
      'issuer.create',
      'issuer.update',
      'issuer.delete',
      'verifier.create',
      'verifier.update',
      'verifier.delete',
      'invite.create',
      'invite.revoke',
    ]);
    expect(audit.text).not.toContain('SECRETKEYMATERIAL');
    for (const invite of invites) expect(audit.text).not.toContain(String(invite['code']));
    const tenantAudit = await http(base, 'GET', '/admin/audit?resource_id=acme');
    expect((tenantAudit.json as { items: Array<{ action: string }> }).items.map((e) => e.action)).toEqual(['tenant.create', 'tenant.update']);

    // deleting with --force
    expect(json(await run('tenant', 'delete', 'acme', '--force'))['deleted']).toMatchObject({ invites: 2 });
    expect((await run('tenant', 'get', 'acme')).code).toBe(1);
  }, 240_000);

  it('applies a tenants file idempotently, and prunes with --prune', async () => {
    const file = join(dir, 'tenants.yaml');
    writeFileSync(join(dir, 'k.pem'), 'APPLYKEYMATERIAL\n');
    const write = (verifierName: string, withExtra: boolean) =>
      writeFileSync(
        file,
        [
          'tenants:',
          '  - id: north',
          '    display_name: North',
          '    require_invite: true',
          '    allowed_protocols: [oid4vp]',
          '    trust_config: { pdp_url: none }',
          '    issuers:',
          '      - id: pid',
          '        credential_issuer_identifier: https://pid.north.example',
          '        client_private_key_file: k.pem',
          '    verifiers:',
          '      - id: shop',
          `        name: ${verifierName}`,
          '        url: https://shop.north.example',
          ...(withExtra ? ['      - id: extra', '        name: Extra', '        url: https://extra.example'] : []),
          '  - id: south',
          '    display_name: South',
          '',
        ].join('\n'),
      );
    write('Shop', true);
    const first = await cli(['apply', '-f', file, '-o', 'json'], env);
    expect(first.code).toBe(0);
    expect((JSON.parse(first.stdout) as { changes: unknown[] }).changes).toEqual([
      { action: 'create', resource: 'tenant', id: 'north' },
      { action: 'create', resource: 'issuer', tenant: 'north', id: 'pid' },
      { action: 'create', resource: 'verifier', tenant: 'north', id: 'shop' },
      { action: 'create', resource: 'verifier', tenant: 'north', id: 'extra' },
      { action: 'create', resource: 'tenant', id: 'south' },
    ]);
    const second = await cli(['apply', '-f', file], env);
    expect(second).toEqual({ code: 0, stdout: 'no changes\n', stderr: '' });

    write('Shop Renamed', false);
    const changed = await cli(['apply', '-f', file], env);
    expect(changed.code).toBe(0);
    expect(changed.stdout).toBe('update verifier north/shop (name)\n');
    await http(base, 'POST', '/admin/tenants', { id: 'stray', display_name: 'Stray' });
    const pruned = await cli(['apply', '-f', file, '--prune'], env);
    expect(pruned.stdout).toBe('delete verifier north/extra\ndelete tenant stray\n');
    expect((await cli(['apply', '-f', file, '--prune'], env)).stdout).toBe('no changes\n');
    const issuer = await http(base, 'GET', '/admin/tenants/north/issuers/pid');
    expect(issuer.json).toMatchObject({ client_private_key_set: true });
    expect(issuer.text).not.toContain('APPLYKEYMATERIAL');

    writeFileSync(join(dir, 'bad.yaml'), 'tenants:\n  - id: x\n    colour: red\n');
    const bad = await cli(['apply', '-f', join(dir, 'bad.yaml')], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('error:');
  }, 120_000);

  it('exits with distinct codes and prints errors on stderr', async () => {
    const wrongToken = await cli(['tenant', 'list'], { WALLET_ADMIN_URL: base, WALLET_ADMIN_TOKEN: 'nope' });
    expect(wrongToken.code).toBe(4);
    expect(wrongToken.stderr).toContain('401');
    expect(wrongToken.stdout).toBe('');
    expect((await cli(['tenant', 'list'], { WALLET_ADMIN_URL: base })).code).toBe(4);
    expect((await cli(['tenant', 'list', '-u', base, '-t', TOKEN])).code).toBe(0);
    expect((await cli(['tenant', 'explode'], env)).code).toBe(2);
    expect((await cli(['tenant', 'get'], env)).code).toBe(2);
    expect((await cli(['tenant', 'list', '--colour', 'red'], env)).code).toBe(2);
    expect((await cli(['tenant', 'list', '-o', 'xml'], env)).code).toBe(2);
    expect((await cli(['tenant', 'list'], { WALLET_ADMIN_URL: 'http://127.0.0.1:9', WALLET_ADMIN_TOKEN: TOKEN })).code).toBe(3);
    const table = await cli(['tenant', 'list'], env);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+DISPLAY_NAME\s+ENABLED/);
    for (const args of [['--help'], ['tenant', '--help'], ['tenant', 'create', '--help'], ['apply', '--help'], ['invite', 'create', '-h']]) {
      const help = await cli(args);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Usage: wallet-admin');
    }
  }, 120_000);

  it('serves the public tenant config from the auth service on the same store, not from the admin port', async () => {
    await http(base, 'POST', '/admin/tenants', { id: 'pub', display_name: 'Pub', allowed_protocols: ['oid4vci'] });
    await http(base, 'POST', '/admin/tenants/pub/issuers', { id: 'i1', credential_issuer_identifier: 'https://i1.example', client_private_key: 'PUBKEYSECRET' });
    const auth = await startBuiltApp('auth', { WALLET_STORAGE_SQLITE_PATH: join(dir, 'wallet.db') });
    try {
      const wallet = auth.servers.get('auth')!;
      expect((await http(wallet, 'GET', '/tenant/pub/config', undefined, null)).json).toEqual({
        id: 'pub',
        display_name: 'Pub',
        require_invite: false,
        allowed_protocols: ['oid4vci'],
      });
      const issuers = await http(wallet, 'GET', '/t/pub/issuer/all', undefined, null);
      expect(issuers.json).toEqual([{ id: 'i1', credential_issuer_identifier: 'https://i1.example', client_id: null, visible: true }]);
      expect(issuers.text).not.toContain('PUBKEYSECRET');
      expect((await http(wallet, 'GET', '/verifier/all', undefined, null)).json).toEqual([]);
      expect((await http(wallet, 'GET', '/admin/tenants')).status).toBe(404);
      expect((await http(base, 'GET', '/tenant/pub/config', undefined, null)).status).toBe(404);
    } finally {
      await auth.stop();
    }
  }, 60_000);
});

describe('admin token in development and production', () => {
  it('generates and prints a token once when none is configured in development', async () => {
    const proc = await startBuiltApp('admin');
    try {
      const text = proc.output.join('\n');
      const match = /Admin API token \(generated[^\n]*\n\s+([A-Za-z0-9_-]{43})/.exec(text);
      expect(match).not.toBeNull();
      expect(text.split(match![1]!).length - 1).toBe(1);
      expect((await http(proc.servers.get('admin')!, 'GET', '/admin/tenants', undefined, match![1]!)).status).toBe(200);
    } finally {
      await proc.stop();
    }
  });

  it('refuses to start in production without a token', async () => {
    await expect(startBuiltApp('admin', { WALLET_MODE: 'production', WALLET_CRYPTO_KEY_ENCRYPTION_KEY: 'A'.repeat(43) })).rejects.toThrow(
      /exited with 1[\s\S]*server\.adminToken/,
    );
  });
});

const describeRedis = describeIfAvailable('admin-jobs:redis', redisAvailable(), 'set REDIS_URL or put redis-server on PATH');

describeRedis('background jobs with two admin processes sharing Redis', () => {
  let redis: RedisHandle;
  beforeAll(async () => {
    redis = await startRedis();
  }, 20_000);
  afterAll(async () => {
    await redis.stop();
  });

  it('runs each cleanup job once per period cluster-wide', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'admin-jobs-'));
    const shared = {
      WALLET_SERVER_ADMIN_TOKEN: TOKEN,
      WALLET_STORAGE_SQLITE_PATH: join(dir, 'wallet.db'),
      WALLET_CACHE_TYPE: 'redis',
      WALLET_CACHE_REDIS_URL: redis.url,
      WALLET_CACHE_REDIS_KEY_PREFIX: uniquePrefix('admin-jobs-e2e'),
      WALLET_ADMIN_JOBS_INVITES_CLEANUP_INTERVAL_MS: '1000',
      WALLET_ADMIN_JOBS_REFRESH_TOKENS_CLEANUP_INTERVAL_MS: '1000',
      WALLET_ADMIN_JOBS_VAULT_TOMBSTONES_INTERVAL_MS: '1000',
      WALLET_ADMIN_JOBS_TRUST_REFRESH_INTERVAL_MS: '1000',
    };
    const started = Date.now();
    const procs = await Promise.all([startBuiltApp('admin', shared), startBuiltApp('admin', shared)]);
    // One expired invite for the cleanup to find.
    const base = procs[0]!.servers.get('admin')!;
    await http(base, 'POST', '/admin/tenants', { id: 'jobs', display_name: 'Jobs' });
    const created = (await http(base, 'POST', '/admin/tenants/jobs/invites', { count: 1 })).json as { items: Array<{ id: string }> };
    await http(base, 'POST', `/admin/tenants/jobs/invites/${created.items[0]!.id}/revoke`);
    await new Promise((r) => setTimeout(r, 5_500));
    await Promise.all(procs.map((p) => p.stop()));
    const elapsed = Date.now() - started;
    rmSync(dir, { recursive: true, force: true });

    const runs = procs.flatMap((proc, index) =>
      logEntries(proc.output)
        .filter((e) => e['msg'] === 'job run')
        .map((e) => ({ proc: index, job: e['job'] as string, fence: e['fence'] as number, time: Date.parse(e['time'] as string), removed: e['removed'] })),
    );
    for (const job of ['invites-cleanup', 'refresh-tokens-cleanup', 'vault-tombstones', 'trust-refresh']) {
      const mine = runs.filter((r) => r.job === job).sort((a, b) => a.fence - b.fence);
      expect(mine.length).toBeGreaterThanOrEqual(3);
      expect(mine.length).toBeLessThanOrEqual(Math.floor(elapsed / 1000) + 1);
      expect(new Set(mine.map((r) => r.fence)).size).toBe(mine.length);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.time - mine[i - 1]!.time).toBeGreaterThanOrEqual(950);
    }
    expect(runs.filter((r) => r.job === 'invites-cleanup').some((r) => r.removed === 1)).toBe(true);
  }, 60_000);
});
