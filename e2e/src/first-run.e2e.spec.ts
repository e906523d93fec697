import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { logEntries, PasskeyTestClient, startBuiltApp, type ServiceProcess } from '@wallet/testing';

/**
 * What a new user meets after `npm start`: where each server listens, the
 * landing pages, the development admin token across restarts, the CLI as an
 * installed command, passkeys on another wallet port, and the verifier's
 * discovery document and public URL.
 */

const ROOT = resolve(__dirname, '../..');

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type') ?? '', text };
}

const logLines = (proc: ServiceProcess, msg: string) => logEntries(proc.output).filter((e) => e['msg'] === msg);

/** An IPv4 address of this machine that is not loopback, if it has one. */
const lanAddress = (): string | undefined =>
  Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

function freePort(): Promise<number> {
  return new Promise((res) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => res(port));
    });
  });
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npx wallet-admin ...` from the repository root, as the README shows it. */
function walletAdmin(args: string[], env: Record<string, string>): Promise<Run> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !/^(npm_|WALLET_)/i.test(key)) base[key] = value;
  return new Promise((res) => {
    execFile('npx', ['wallet-admin', ...args], { cwd: ROOT, env: { ...base, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      res({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('the all-in-one on first start', () => {
  let proc: ServiceProcess;
  beforeAll(async () => {
    // As deployed by someone who opened the wallet ports to the network: admin must stay on loopback.
    proc = await startBuiltApp('all-in-one', { WALLET_SERVER_HOST: '0.0.0.0' });
  });
  afterAll(async () => {
    await proc.stop();
  });

  it('listens with the admin API on loopback only, and logs where each server really listens', async () => {
    const ready = logLines(proc, 'ready')[0]!['servers'] as Array<{ name: string; url: string; address: string }>;
    const byName = new Map(ready.map((s) => [s.name, s]));
    expect(byName.get('wallet')!.address).toMatch(/^0\.0\.0\.0:\d+$/);
    expect(byName.get('verifier')!.address).toMatch(/^0\.0\.0\.0:\d+$/);
    expect(byName.get('admin')!.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const listening = new Map(logLines(proc, 'listening').map((e) => [e['server'] as string, e]));
    expect(listening.get('admin')).toMatchObject({ address: byName.get('admin')!.address, reachableFrom: 'this machine only (loopback)' });
    expect(listening.get('wallet')).toMatchObject({ reachableFrom: 'every interface (other machines too)' });

    const lan = lanAddress();
    if (lan) {
      const port = (name: string) => new URL(byName.get(name)!.url).port;
      expect((await get(`http://${lan}:${port('wallet')}/health/live`)).status).toBe(200);
      await expect(fetch(`http://${lan}:${port('admin')}/health/live`)).rejects.toThrow();
    }
  });

  it('answers GET / on every port with what runs there and working links', async () => {
    const expected: Record<string, { services: RegExp[]; links: string[] }> = {
      wallet: { services: [/^auth:/, /^storage:/, /^engine:.*\/api\/v2\/wallet/, /^registry:/], links: ['/auth/.well-known/jwks.json'] },
      admin: { services: [/^admin:/], links: ['/admin/status', '/admin/openapi.json'] },
      verifier: { services: [/^verifier:/], links: ['/.well-known/openid-configuration', '/.well-known/jwks'] },
    };
    for (const [name, base] of proc.servers) {
      const json = await get(`${base}/`);
      expect(json.status).toBe(200);
      expect(json.type).toContain('application/json');
      const page = JSON.parse(json.text) as { server: string; services: string[]; links: Array<{ href: string }>; docs: string[] };
      expect(page.server).toBe(name);
      expect(page.services).toEqual(expected[name]!.services.map((s) => expect.stringMatching(s)));
      const hrefs = page.links.map((l) => l.href);
      expect(hrefs).toEqual(expect.arrayContaining(['/health/live', '/health/ready', '/metrics', ...expected[name]!.links]));
      expect(page.docs).toEqual(expect.arrayContaining(['README.md', 'docs/configuration.md']));
      for (const href of hrefs) {
        // The OpenAPI document needs the admin token: it answers 401, not 404.
        expect({ href, status: (await get(`${base}${href}`)).status }).toEqual({ href, status: href === '/admin/openapi.json' ? 401 : 200 });
      }
      const html = await get(`${base}/`, { accept: 'text/html' });
      expect(html.type).toContain('text/html');
      expect(html.text).toContain(`<h1>Wallet platform: the ${name} server</h1>`);
      expect(html.text).toContain('<a href="/health/ready">');
    }
  });

  it('serves the default verifier service\'s discovery document at the root too', async () => {
    const verifier = proc.servers.get('verifier')!;
    const root = await get(`${verifier}/.well-known/openid-configuration`);
    expect(root.status).toBe(200);
    expect(JSON.parse(root.text)).toEqual(JSON.parse((await get(`${verifier}/services/default/.well-known/openid-configuration`)).text));
    expect(JSON.parse(root.text)).toMatchObject({ issuer: `${verifier}/services/default`, token_endpoint: `${verifier}/services/default/token` });
  });

  it('warns in the start log that a phone cannot reach the QR code while verifier.publicUrl is unset', () => {
    const warning = logEntries(proc.output).find((e) => e['level'] === 'warn' && e['setting'] === 'verifier.publicUrl');
    expect(warning?.['msg']).toMatch(/verifier\.publicUrl is unset: QR codes carry the address the browser used.*phone cannot reach.*WALLET_VERIFIER_PUBLIC_URL/);
  });
});

describe('settings a new user changes', () => {
  it('binds the admin API to the configured interface, and warns about a loopback verifier URL', async () => {
    const proc = await startBuiltApp('all-in-one', { WALLET_ALL_IN_ONE_ADMIN_HOST: '0.0.0.0', WALLET_VERIFIER_PUBLIC_URL: 'http://127.0.0.1:8090' });
    try {
      const ready = logLines(proc, 'ready')[0]!['servers'] as Array<{ name: string; address: string }>;
      expect(ready.find((s) => s.name === 'admin')!.address).toMatch(/^0\.0\.0\.0:\d+$/);
      const warnings = logEntries(proc.output).filter((e) => e['level'] === 'warn' && e['setting'] === 'verifier.publicUrl');
      expect(warnings.map((w) => w['msg'])).toEqual([expect.stringContaining('http://127.0.0.1:8090 is a loopback address')]);
    } finally {
      await proc.stop();
    }
  });

  it('accepts passkeys from the wallet port it runs on when auth.origins is left to its default', async () => {
    const port = await freePort();
    const proc = await startBuiltApp('all-in-one', {
      WALLET_ALL_IN_ONE_WALLET_PORT: String(port),
      WALLET_AUTH_ORIGINS: '',
      WALLET_VERIFIER_PUBLIC_URL: 'http://192.0.2.10:8090',
    });
    try {
      const wallet = proc.servers.get('wallet')!;
      const here = await new PasskeyTestClient({ baseUrl: wallet, origin: `http://localhost:${port}` }).register();
      expect(here.status).toBe(200);
      const elsewhere = await new PasskeyTestClient({ baseUrl: wallet, origin: 'http://localhost:8080' }).register();
      expect(elsewhere.status).toBeGreaterThanOrEqual(400);
      // A reachable verifier URL draws no warning.
      expect(logEntries(proc.output).filter((e) => e['setting'] === 'verifier.publicUrl')).toEqual([]);
    } finally {
      await proc.stop();
    }
  });
});

describe('the development admin token and the CLI', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'wallet-first-run-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps the generated token in the data directory: printed once, the same after a restart, and the CLI keeps working', async () => {
    const file = join(dataDir, 'admin-token');
    const first = await startBuiltApp('all-in-one', { WALLET_DATA_DIR: dataDir });
    let token: string;
    try {
      const text = first.output.join('\n');
      token = /Admin API token \(generated[^\n]*\n\s+([A-Za-z0-9_-]{43})/.exec(text)![1]!;
      expect(text).toContain(`It is kept in ${file}`);
      expect(readFileSync(file, 'utf8').trim()).toBe(token);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      await first.stop();
    }

    const second = await startBuiltApp('all-in-one', { WALLET_DATA_DIR: dataDir });
    try {
      const text = second.output.join('\n');
      expect(text).not.toContain(token);
      expect(text).toContain(`Admin API token: the development token kept in ${file}`);
      expect(text).toContain(`export WALLET_ADMIN_TOKEN="$(cat '${file}')"`);
      const env = { WALLET_ADMIN_URL: second.servers.get('admin')!, WALLET_ADMIN_TOKEN: readFileSync(file, 'utf8').trim() };

      // `npx wallet-admin ... -o json | jq`: stdout is the JSON document and nothing else.
      const listed = await walletAdmin(['tenant', 'list', '-o', 'json'], env);
      expect(listed.code).toBe(0);
      expect(JSON.parse(listed.stdout)).toMatchObject({ items: [expect.objectContaining({ id: 'default' })] });

      const created = await walletAdmin(['tenant', 'create', 'acme', '--display-name', 'Acme', '-o', 'json'], env);
      expect(JSON.parse(created.stdout)).toMatchObject({ id: 'acme', display_name: 'Acme' });
      const again = await walletAdmin(['tenant', 'create', 'acme', '--display-name', 'Acme'], env);
      expect({ code: again.code, stdout: again.stdout }).toEqual({ code: 1, stdout: '' });
      expect(again.stderr).toContain('error: 409 already_exists: tenant acme already exists\n');
    } finally {
      await second.stop();
    }
  }, 120_000);
});
