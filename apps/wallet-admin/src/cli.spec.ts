import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { COMMANDS, EXIT, runCli } from './cli';
import { render } from './output';

/** A loopback stand-in for the admin API that records requests and answers from a script. */
async function fakeAdmin(answer: (method: string, url: string, body: string) => { status: number; body?: unknown }) {
  const seen: Array<{ method: string; url: string; body: string; headers: Record<string, unknown> }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body, headers: req.headers });
      const reply = answer(req.method ?? '', req.url ?? '', body);
      res.writeHead(reply.status, { 'content-type': reply.status >= 400 ? 'application/problem+json' : 'application/json' });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function run(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
  return { code, stdout, stderr };
}

describe('wallet-admin CLI', () => {
  it('pages through listings, sends the token and actor, and renders a table', async () => {
    const api = await fakeAdmin((_m, url) =>
      url.includes('cursor=')
        ? { status: 200, body: { items: [{ id: 'b', display_name: 'B', enabled: true }], next_cursor: null } }
        : { status: 200, body: { items: [{ id: 'a', display_name: 'A', enabled: false }], next_cursor: 'YQ' } },
    );
    try {
      const result = await run(['tenant', 'list', '--actor', 'ops'], { WALLET_ADMIN_URL: api.url, WALLET_ADMIN_TOKEN: 'tok' });
      expect(result.code).toBe(EXIT.ok);
      expect(result.stdout.split('\n').slice(0, 3)).toEqual([
        expect.stringMatching(/^ID\s+DISPLAY_NAME\s+ENABLED/),
        expect.stringMatching(/^a\s+A\s+false/),
        expect.stringMatching(/^b\s+B\s+true/),
      ]);
      expect(api.seen.map((r) => r.url)).toEqual(['/admin/tenants?limit=1000', '/admin/tenants?limit=1000&cursor=YQ']);
      expect(api.seen[0]!.headers).toMatchObject({ authorization: 'Bearer tok', 'x-admin-actor': 'ops' });
    } finally {
      await api.close();
    }
  });

  it('builds request bodies from flags and reports API problems on stderr with exit code 1', async () => {
    const api = await fakeAdmin((method) =>
      method === 'POST'
        ? { status: 400, body: { code: 'validation_failed', detail: 'invalid body: /id must be lowercase', issues: [{ path: '/id', message: 'must be lowercase' }] } }
        : { status: 404, body: { code: 'not_found', detail: 'tenant x not found' } },
    );
    try {
      const env = { WALLET_ADMIN_URL: api.url, WALLET_ADMIN_TOKEN: 'tok' };
      const created = await run(['tenant', 'create', 'X', '--name', 'X', '--enabled', 'false', '--protocols', 'oid4vp, oid4vci', '--pdp-url', 'default'], env);
      expect(created.code).toBe(EXIT.apiError);
      expect(created.stdout).toBe('');
      expect(created.stderr).toContain('400 validation_failed: invalid body');
      expect(created.stderr).toContain('/id: must be lowercase');
      expect(JSON.parse(api.seen[0]!.body)).toEqual({
        id: 'X',
        display_name: 'X',
        enabled: false,
        allowed_protocols: ['oid4vp', 'oid4vci'],
        trust_config: { pdp_url: null },
      });
      expect((await run(['tenant', 'get', 'x'], env)).code).toBe(EXIT.apiError);
    } finally {
      await api.close();
    }
  });

  it('rejects bad usage with exit code 2 before calling anything', async () => {
    for (const argv of [[], ['nope'], ['tenant'], ['tenant', 'get'], ['tenant', 'list', '--bogus'], ['tenant', 'update', 'a', '--enabled', 'maybe'], ['invite', 'create', '--count', 'many'], ['apply'], ['tenant', 'list', '-u', 'ftp://x']]) {
      const result = await run(argv, { WALLET_ADMIN_URL: 'http://127.0.0.1:9' });
      expect({ argv, code: result.code }).toEqual({ argv, code: EXIT.usage });
      expect(result.stderr).not.toBe('');
      expect(result.stdout).toBe('');
    }
  });

  it('has --help for every command', async () => {
    for (const command of COMMANDS) {
      const result = await run([command.resource, ...(command.action ? [command.action] : []), '--help']);
      expect(result.code).toBe(EXIT.ok);
      expect(result.stdout).toContain(`Usage: wallet-admin ${`${command.resource} ${command.action}`.trim()}`);
    }
  });

  it('renders JSON and records', () => {
    expect(render({ a: 1 }, 'json')).toBe('{\n  "a": 1\n}\n');
    expect(render({ id: 'x', list: ['a', 'b'], none: null }, 'table')).toBe('id    x\nlist  a,b\nnone  -\n');
  });
});
