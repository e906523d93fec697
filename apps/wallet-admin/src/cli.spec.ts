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

  it('names options after the API fields, and still accepts the older names', async () => {
    const api = await fakeAdmin(() => ({ status: 201, body: {} }));
    try {
      const env = { WALLET_ADMIN_URL: api.url, WALLET_ADMIN_TOKEN: 'tok' };
      expect((await run(['tenant', 'create', 'acme', '--display-name', 'Acme', '--allowed-protocols', 'oid4vp'], env)).code).toBe(EXIT.ok);
      expect((await run(['tenant', 'update', 'acme', '--name', 'Old', '--protocols', 'oid4vci'], env)).code).toBe(EXIT.ok);
      expect((await run(['user', 'add', '-T', 'acme', '--display-name', 'Ulla'], env)).code).toBe(EXIT.ok);
      expect((await run(['issuer', 'create', '-T', 'acme', '--credential-issuer-identifier', 'https://issuer.example'], env)).code).toBe(EXIT.ok);
      expect(api.seen.map((r) => JSON.parse(r.body) as unknown)).toEqual([
        { id: 'acme', display_name: 'Acme', allowed_protocols: ['oid4vp'] },
        { display_name: 'Old', allowed_protocols: ['oid4vci'] },
        { display_name: 'Ulla', role: 'member' },
        { credential_issuer_identifier: 'https://issuer.example' },
      ]);
      const both = await run(['tenant', 'update', 'acme', '--display-name', 'A', '--name', 'B'], env);
      expect(both.code).toBe(EXIT.usage);
      expect(both.stderr).toBe('error: --name is another name for --display-name: give one of them\n');
    } finally {
      await api.close();
    }
    const help = await run(['tenant', 'create', '--help']);
    expect(help.stdout).toContain('--display-name <value>');
    expect(help.stdout).toContain('--allowed-protocols <value>');
    expect(help.stdout).not.toMatch(/--name\b|--protocols\b/);
    expect((await run(['issuer', 'create', '--help'])).stdout).toContain('--client-private-key-file <value>');
  });

  it('words usage errors plainly, with balanced quotes', async () => {
    const unknown = await run(['tenant', 'list', '--bogus']);
    expect(unknown.stderr).toBe('error: unknown option --bogus (see --help for the options of this command)\n');
    const missing = await run(['tenant', 'list', '-o']);
    expect(missing.stderr).toBe('error: option --output needs a value\n');
    const flag = await run(['tenant', 'list', '--help=yes']);
    expect(flag.stderr).toBe('error: option --help takes no value\n');
    for (const text of [unknown.stderr, missing.stderr, flag.stderr]) {
      expect(text.split("'").length % 2).toBe(1);
      expect(text.split('"').length % 2).toBe(1);
    }
  });

  it('renders JSON and records', () => {
    expect(render({ a: 1 }, 'json')).toBe('{\n  "a": 1\n}\n');
    expect(render({ id: 'x', list: ['a', 'b'], none: null }, 'table')).toBe('id    x\nlist  a,b\nnone  -\n');
  });
});
