import WebSocket from 'ws';
import { logEntries, startBuiltApp, type ServiceProcess } from '@wallet/testing';

async function get(url: string): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(url);
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

/** Checks what every port must answer: liveness, readiness of store and cache, and metrics. */
async function expectHealthyPort(base: string) {
  const live = await get(`${base}/health/live`);
  expect(live.status).toBe(200);
  expect(JSON.parse(live.text)).toEqual({ status: 'ok' });

  const ready = await get(`${base}/health/ready`);
  expect(ready.status).toBe(200);
  const readiness = JSON.parse(ready.text) as { status: string; info: Record<string, { status: string }> };
  expect(readiness.status).toBe('ok');
  expect(readiness.info['store']?.status).toBe('up');
  expect(readiness.info['cache']?.status).toBe('up');

  const metrics = await get(`${base}/metrics`);
  expect(metrics.status).toBe(200);
  expect(metrics.type).toContain('text/plain');
  expect(metrics.text).toContain('process_resident_memory_bytes');
  // The readiness request above was counted under its route pattern.
  expect(metrics.text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/health\/ready"[^}]*status_code="200"/);
}

async function expectCleanSigterm(proc: ServiceProcess) {
  const code = await proc.stop('SIGTERM');
  expect(code).toBe(0);
  expect(logEntries(proc.output).some((e) => e['msg'] === 'shutdown complete')).toBe(true);
}

describe('each service on its own', () => {
  it.each(['auth', 'storage', 'engine', 'registry', 'admin', 'verifier'])(
    '%s starts from its bundle, is healthy and ready, serves metrics and stops cleanly on SIGTERM',
    async (app) => {
      const proc = await startBuiltApp(app);
      try {
        expect([...proc.servers.keys()]).toEqual([app]);
        await expectHealthyPort(proc.servers.get(app)!);
        const unknown = await get(`${proc.servers.get(app)}/no/such/route`);
        expect(unknown.status).toBe(404);
        expect(unknown.type).toContain('application/problem+json');
      } finally {
        await expectCleanSigterm(proc);
      }
    },
  );

  it('exits 1 naming the key when the configuration is invalid', async () => {
    await expect(startBuiltApp('auth', { WALLET_STORAGE_TYPE: 'oracle' })).rejects.toThrow(
      /exited with 1[\s\S]*storage\.type[\s\S]*WALLET_STORAGE_TYPE/,
    );
  });
});

describe('the all-in-one process', () => {
  let proc: ServiceProcess;
  beforeAll(async () => {
    proc = await startBuiltApp('all-in-one');
  });
  afterAll(async () => {
    if (proc.child.exitCode === null) await proc.stop('SIGKILL');
  });

  it('serves the wallet services, the admin API and the verifier on three ports', async () => {
    expect([...proc.servers.keys()]).toEqual(['wallet', 'admin', 'verifier']);
    for (const url of proc.servers.values()) await expectHealthyPort(url);
  });

  it('routes each service by its path prefix, and keeps admin off the public port', async () => {
    const wallet = proc.servers.get('wallet')!;
    const jwks = JSON.parse((await get(`${wallet}/auth/.well-known/jwks.json`)).text) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');

    expect((await get(`${wallet}/admin/status`)).status).toBe(404);
    const status = await get(`${proc.servers.get('admin')}/admin/status`);
    expect(JSON.parse(status.text)).toEqual({ status: 'ok', mode: 'development', store: 'sqlite', cache: 'memory' });

    const verifierKeys = JSON.parse((await get(`${proc.servers.get('verifier')}/.well-known/jwks`)).text) as { keys: unknown[] };
    expect(verifierKeys.keys).toHaveLength(1);
    expect(verifierKeys.keys).not.toEqual(jwks.keys);
  });

  it('serves the engine WebSocket on the wallet port, handshake first', async () => {
    const ws = new WebSocket(`${proc.servers.get('wallet')!.replace('http', 'ws')}/api/v2/wallet`);
    const replies: unknown[] = [];
    const closed = new Promise<number>((res, rej) => {
      ws.once('open', () => {
        ws.send('not json');
      });
      ws.on('message', (data) => replies.push(JSON.parse(String(data))));
      ws.once('close', (code) => res(code));
      ws.once('error', rej);
    });
    expect(await closed).toBe(4401);
    expect(replies).toEqual([{ type: 'error', code: 'invalid_message', message: 'the frame is not valid JSON' }]);
  });

  it('keeps its SQLite store in the data directory and shuts down cleanly on SIGTERM', async () => {
    const { existsSync } = await import('node:fs');
    expect(existsSync(`${proc.dataDir}/wallet.db`)).toBe(true);
    const dataDir = proc.dataDir;
    await expectCleanSigterm(proc);
    expect(existsSync(dataDir)).toBe(false);
  });
});
