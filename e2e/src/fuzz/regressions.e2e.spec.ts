import { createHash } from 'node:crypto';
import { CLOSE_CODES, zServerMessage } from '@wallet/engine-protocol';
import { Pool } from 'undici';
import { FuzzSocket } from './lib/engine-socket';
import { CI_BUDGET_MS, WATCH_INTERVAL_MS } from './lib/fuzz-suite';
import { FuzzTarget } from './lib/fuzz-target';
import { HealthWatcher } from './lib/health-watcher';

/**
 * The cases issue 14 names, and what the fuzzer found, as explicit tests on
 * the built all-in-one (SQLite), each with the health watcher running: a
 * refusal is a 4xx problem document (or the verifier's OAuth error JSON), and
 * no answer holds the event loop past the budget.
 */

const b64u = (text: string) => createHash('sha256').update(text).digest('base64url');
const RECORDS = 300;
const TAGS = 12;

interface Timed {
  status: number;
  type: string;
  text: string;
  json: Record<string, unknown> | null;
  /** The slowest /health/live answer on any port while the request ran. */
  healthMs: number;
}

describe('regressions of issue 14 and of the fuzzer (built all-in-one, SQLite)', () => {
  const target = new FuzzTarget();
  let watcher: HealthWatcher;
  const pools = new Map<string, Pool>();

  async function call(port: 'wallet' | 'admin' | 'verifier', method: string, path: string, options: { body?: string; type?: string; token?: string } = {}): Promise<Timed> {
    const base = target.urls[port];
    let pool = pools.get(base);
    if (!pool) pools.set(base, (pool = new Pool(base, { connections: 1 })));
    const from = watcher.now();
    const answer = await pool.request({
      method: method as 'GET',
      path,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body !== undefined ? { 'content-type': options.type ?? 'application/json' } : {}),
      },
      body: options.body ?? null,
    });
    const text = await answer.body.text();
    const to = watcher.now();
    const health = await watcher.window(from, to, 30_000);
    let json: Record<string, unknown> | null = null;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = null;
    }
    return { status: answer.statusCode, type: String(answer.headers['content-type'] ?? ''), text, json, healthMs: Math.max(...health.map((h) => h.worstMs)) };
  }

  const query = (wql: unknown) => call('wallet', 'POST', '/storage/vault/query', { body: JSON.stringify({ query: wql, limit: 100 }), token: target.userA.appToken });

  beforeAll(async () => {
    await target.start();
    watcher = new HealthWatcher(
      (['wallet', 'admin', 'verifier'] as const).map((name) => ({ name, url: target.urls[name] })),
      WATCH_INTERVAL_MS,
    );
    await watcher.ready();
    // A's vault: RECORDS records of TAGS tags, every tag on every record, so each condition spans the vault.
    for (let i = 0; i < RECORDS; i++) {
      const tags: Record<string, string> = { '~n': String(i).padStart(4, '0') };
      for (let t = 0; t < TAGS - 1; t++) tags[b64u(`tag${t}`)] = b64u(`value${i % 7}`);
      const stored = await call('wallet', 'POST', '/storage/vault/records', {
        body: JSON.stringify({ id: `r${i}`, category: 'credential', blob: Buffer.from(`record ${i}`).toString('base64url'), tags }),
        token: target.userA.appToken,
      });
      if (stored.status !== 201) throw new Error(`storing r${i}: ${stored.status} ${stored.text.slice(0, 200)}`);
    }
  }, 180_000);

  afterAll(async () => {
    for (const pool of pools.values()) await pool.close();
    await watcher?.stop();
    expect(await target.stop()).toBe(0);
  }, 60_000);

  const t0 = b64u('tag0');
  const empties = (n: number) => Array.from({ length: n }, () => ({}));

  // Every row has four values: with fewer, Jest would pass `done` as the fourth argument.
  it.each<[string, number, unknown, number | null]>([
    // Empty clauses and negations were not counted and each scanned the whole vault: shapes like
    // these held the event loop for up to ~20 s. Now they are counted (at most 128 parts) and none scans the vault.
    ['an $or of 120 empty clauses', 200, { $or: empties(120) }, 100],
    ['an $and of 42 negated empty clauses (128 parts)', 200, { $and: Array.from({ length: 42 }, () => ({ $not: {} })) }, 0],
    ['an $or of 25 double negations', 200, { $or: Array.from({ length: 25 }, () => ({ $not: { $not: {} } })) }, 100],
    ['an $or of 60 negated $or of empties (over 128 parts)', 400, { $or: Array.from({ length: 60 }, () => ({ $not: { $or: empties(2) } })) }, null],
    ['an $or of 500 empty clauses', 400, { $or: empties(500) }, null],
    ['$not nested 9 deep', 400, JSON.parse(`${'{"$not":'.repeat(9)}{}${'}'.repeat(9)}`), null],
    ['an $and of 40 $neq spanning every record', 200, { $and: Array.from({ length: 40 }, (_, i) => ({ [b64u(`tag${i % (TAGS - 1)}`)]: { $neq: b64u('none') } })) }, 100],
    ['an $or of 60 $like "%" on a plaintext tag', 200, { $or: Array.from({ length: 60 }, () => ({ '~n': { $like: '%' } })) }, 100],
    ['an $or of 64 $like "%" (130 parts)', 400, { $or: Array.from({ length: 64 }, () => ({ '~n': { $like: '%' } })) }, null],
    ['$exist of every tag name', 200, { $exist: [t0, ...Array.from({ length: TAGS - 2 }, (_, i) => b64u(`tag${i + 1}`)), '~n'] }, 100],
  ])('a vault query with %s answers %i without holding the event loop', async (_name, status, wql, items) => {
    const answer = await query(wql);
    expect({ status: answer.status, type: answer.type.split(';')[0] }).toEqual({ status, type: status === 200 ? 'application/json' : 'application/problem+json' });
    if (status === 400) expect(answer.json).toMatchObject({ code: 'validation_failed', issues: [expect.objectContaining({ path: expect.stringMatching(/^\/query/) })] });
    // A page of 100 of the 300 records where everything matches, none where nothing does.
    else expect((answer.json as { items: unknown[] }).items).toHaveLength(items!);
    expect(answer.healthMs).toBeLessThan(CI_BUDGET_MS);
  });

  it.each<[string, unknown, string?]>([
    // SQLite refused these with "too many terms in compound SELECT" / "too many SQL variables",
    // answered as a 500 after up to a second; the parser now counts every $in value and $exist name.
    ['$in with 40,000 values', { [t0]: { $in: Array.from({ length: 40_000 }, (_, i) => `v${i}`) } }],
    ['$in with 65 values', { [t0]: { $in: Array.from({ length: 65 }, (_, i) => `v${i}`) } }],
    ['an $or of 600 conditions', { $or: Array.from({ length: 600 }, (_, i) => ({ [t0]: `v${i}` })) }],
    ['$exist with 1000 names', { $exist: Array.from({ length: 1000 }, (_, i) => `~t${i}`) }],
    ['1000 tags in one object', Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`~t${i}`, 'x']))],
    // Refused by the body's nesting limit (32 levels) before the WQL parser sees it.
    ['an $and of 200 nested $and', JSON.parse(`${'{"$and":['.repeat(200)}{}${']}'.repeat(200)}`), '/'],
  ])('a vault query with %s is a 400 problem, not a SQLite error', async (_name, wql, where = '/query') => {
    const answer = await query(wql);
    expect(answer.status).toBe(400);
    expect(answer.type).toMatch(/^application\/problem\+json/);
    expect(answer.json).toMatchObject({ status: 400, code: 'validation_failed', issues: [expect.objectContaining({ path: expect.stringMatching(new RegExp(`^${where}`)) })] });
    expect(answer.healthMs).toBeLessThan(CI_BUDGET_MS);
  });

  it('verifier: GET and POST /api/v1/request/{id} with an unknown id are 404, an over-long wallet_nonce a 400', async () => {
    for (const method of ['GET', 'POST']) {
      const unknown = await call('verifier', method, '/api/v1/request/no-such-request', method === 'POST' ? { body: 'wallet_nonce=abc', type: 'application/x-www-form-urlencoded' } : {});
      expect(unknown.status).toBe(404);
      expect(unknown.json).toMatchObject({ error: 'invalid_request_uri' });
    }
    const callback = `http://127.0.0.1:${target.closedPort}/callback`;
    const started = await call('verifier', 'GET', `/api/v1/startsiop?${new URLSearchParams({ client_id: 'app', client_callback: callback, request_uri_method: 'post' })}`);
    expect(started.status).toBe(200);
    const requestUri = new URL(started.text.trim()).searchParams.get('request_uri')!;
    const path = new URL(requestUri).pathname;
    expect(path).toMatch(/^\/api\/v1\/request\/[^/]+$/);
    for (const nonce of ['n'.repeat(257), 'n'.repeat(100_000), 'with space']) {
      const bad = await call('verifier', 'POST', path, { body: new URLSearchParams({ wallet_nonce: nonce }).toString(), type: 'application/x-www-form-urlencoded' });
      expect(bad.status).toBe(400);
      expect(bad.json).toMatchObject({ error: 'invalid_request', error_description: 'wallet_nonce is malformed' });
    }
    const longGet = await call('verifier', 'GET', `${path}?wallet_nonce=${'n'.repeat(5000)}`);
    expect(longGet.status).toBeLessThan(500);
    expect(longGet.healthMs).toBeLessThan(CI_BUDGET_MS);
  });

  it('a body of 70,000 keys (just under 1 MiB) is refused without holding the event loop (was 7-17 s)', async () => {
    // Over 20,000 object members: refused before it is parsed (JSON.parse of it alone cost 30-70 ms),
    // with a token or without, on every port.
    const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i])));
    for (const [port, path, token] of [
      ['wallet', '/storage/vault/records', undefined],
      ['wallet', '/user/register-webauthn-finish', undefined],
      ['wallet', '/storage/vault/records', target.userA.appToken],
      ['admin', '/admin/tenants', target.adminToken],
    ] as const) {
      const answer = await call(port, 'POST', path, { body: wide, ...(token ? { token } : {}) });
      expect(answer.status).toBe(413);
      expect(answer.json).toMatchObject({ code: 'payload_too_large', detail: 'the JSON body holds more than 20000 object members' });
      expect(answer.healthMs).toBeLessThan(CI_BUDGET_MS);
    }
    // Under that bound, an object of more than 1,000 fields is parsed and refused by the validation
    // pipe before class-transformer walks it (its duplicate-key removal is quadratic).
    const broad = JSON.stringify(Object.fromEntries(Array.from({ length: 15_000 }, (_, i) => [`k${i}`, i])));
    let parsing = 0;
    for (let i = 0; i < 3; i++) {
      // Without a token it is refused (401) right after parsing, before any validation.
      const refused = await call('wallet', 'POST', '/storage/vault/records', { body: broad });
      expect(refused.status).toBe(401);
      parsing = Math.max(parsing, refused.healthMs);
    }
    const limit = Math.max(CI_BUDGET_MS, 4 * parsing);
    for (const [port, path, token] of [
      ['wallet', '/user/register-webauthn-finish', undefined],
      ['wallet', '/storage/vault/records', target.userA.appToken],
      ['admin', '/admin/tenants', target.adminToken],
    ] as const) {
      const answer = await call(port, 'POST', path, { body: broad, ...(token ? { token } : {}) });
      expect(answer.status).toBe(400);
      expect(answer.json).toMatchObject({ code: 'validation_failed', issues: [{ path: '/', message: 'must not have more than 1000 fields' }] });
      expect(answer.healthMs).toBeLessThan(limit);
    }
  });

  it('verifier: a token in the query string is a 400 OAuth error on its OAuth routes (was a 500)', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/qr?access_token=a&access_token=b'],
      ['POST', '/api/v1/authentication_response?access_token=a'],
    ] as const) {
      const answer = await call('verifier', method, path, method === 'POST' ? { body: 'state=x', type: 'application/x-www-form-urlencoded' } : {});
      expect(answer.status).toBe(400);
      expect(answer.json).toMatchObject({ error: 'invalid_request' });
    }
  });

  it('a path Fastify cannot decode is a 400 problem on every port', async () => {
    for (const [port, path] of [['wallet', '/storage/vc/%ZZ'], ['wallet', '/user/session/webauthn/credential/%C0%AE/rename'], ['admin', '/admin/tenants/%E0%A4%A'], ['verifier', '/api/v1/request/%ZZ']] as const) {
      const answer = await call(port, 'GET', path);
      expect(answer.status).toBe(400);
      expect(answer.type).toMatch(/^application\/problem\+json/);
      expect(answer.json).toMatchObject({ status: 400, code: 'validation_failed' });
    }
  });

  it('an unknown route does not repeat a token sent in its query string', async () => {
    const token = target.userA.appToken;
    for (const port of ['wallet', 'admin', 'verifier'] as const) {
      const answer = await call(port, 'GET', `/no/such/route?access_token=${token}&x=1`);
      expect(answer.status).toBe(404);
      expect(answer.type).toMatch(/^application\/problem\+json/);
      expect(answer.json).toMatchObject({ code: 'not_found', detail: 'Cannot GET /no/such/route', instance: '/no/such/route' });
      expect(answer.text).not.toContain(token);
    }
  });

  describe('the engine WebSocket API (found by its fuzzer)', () => {
    /** An authenticated connection to the engine, every frame recorded (and checked against the server-message union). */
    async function engine(): Promise<FuzzSocket> {
      const socket = await FuzzSocket.open(`${target.urls.wallet.replace(/^http/, 'ws')}/api/v2/wallet`, {});
      if (!(socket instanceof FuzzSocket)) throw new Error(`the upgrade was refused: ${socket.status}`);
      socket.send(JSON.stringify({ type: 'handshake', token: target.userA.appToken, message_id: 'h' }));
      expect(await socket.until(() => socket.frames.length > 0, 10_000)).toBe(true);
      expect(socket.frames[0]!.json).toMatchObject({ type: 'handshake_ok', message_id: 'h' });
      return socket;
    }
    const answerTo = (socket: FuzzSocket, id: string) => socket.frames.map((f) => f.json as Record<string, unknown>).find((f) => f['message_id'] === id);
    /** Sends frames, waits for an answer to each id, and returns the answers and the slowest health answer meanwhile. */
    async function exchange(socket: FuzzSocket, frames: Array<{ id: string; text: string }>) {
      const from = watcher.now();
      for (const { text } of frames) socket.send(text);
      expect(await socket.until(() => frames.every(({ id }) => answerTo(socket, id)), 20_000)).toBe(true);
      const health = await watcher.window(from, watcher.now(), 30_000);
      for (const frame of socket.frames) expect([frame.text.slice(0, 200), zServerMessage.safeParse(frame.json).success]).toEqual([frame.text.slice(0, 200), true]);
      return { answers: frames.map(({ id }) => answerTo(socket, id)!), healthMs: Math.max(...health.map((h) => h.worstMs)) };
    }

    it('an offer nested 20,000 levels deep is invalid_message (storing it overflowed the stack: internal)', async () => {
      const socket = await engine();
      const offer = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
      const { answers } = await exchange(socket, [{ id: 'd1', text: `{"type":"flow_start","message_id":"d1","protocol":"oid4vci","params":{"offer":${offer}}}` }]);
      expect(answers[0]).toMatchObject({ type: 'error', code: 'invalid_message', message: 'the frame nests arrays and objects more than 64 levels deep' });
      await socket.close();
    });

    it('frames of 1 MiB nested 500,000 deep or of 70,000 members are refused unparsed: 45 in a row cost what 45 plain frames of 1 MiB do', async () => {
      const n = 524_000;
      const deep = (id: string) => `{"type":"ping","message_id":"${id}","pad":${'['.repeat(n)}${']'.repeat(n)}}`;
      const wide = (id: string) => `{"type":"ping","message_id":"${id}",${Array.from({ length: 70_000 }, (_, i) => `"k${i}":${i}`).join(',')}}`;
      const plain = (id: string) => `{"type":"ping","message_id":"${id}","pad":"${'x'.repeat(2 * n)}"}`;
      // What 45 frames of 1 MiB cost the process at this moment when they are cheap to parse (receiving,
      // decoding, refusing the unknown field): on a loaded machine that alone can take a few hundred ms.
      let receiving = 0;
      for (let run = 0; run < 2; run++) {
        const socket = await engine();
        const { answers, healthMs } = await exchange(socket, Array.from({ length: 45 }, (_, i) => ({ id: `c${run}.${i}`, text: plain(`c${run}.${i}`) })));
        expect(answers.every((a) => a['type'] === 'error')).toBe(true);
        receiving = Math.max(receiving, healthMs);
        await socket.close();
      }
      // JSON.parse alone held the loop ~250 ms per deep frame and parsing and checking ~100 ms per wide
      // one; the 40 the message burst lets through held it for seconds.
      const socket = await engine();
      const { answers, healthMs } = await exchange(socket, Array.from({ length: 45 }, (_, i) => ({ id: `b${i}`, text: i % 2 ? wide(`b${i}`) : deep(`b${i}`) })));
      for (const answer of answers) expect(answer).toMatchObject({ type: 'error', code: expect.stringMatching(/^(invalid_message|rate_limited)$/) });
      // The message burst (40, the handshake took one) lets most through, to be refused for their shape; the rest are rate_limited.
      expect(answers.filter((a) => a['code'] === 'invalid_message').length).toBeGreaterThanOrEqual(39);
      expect(answers.find((a) => a['message_id'] === 'b0')).toMatchObject({ code: 'invalid_message', message: 'the frame nests arrays and objects more than 64 levels deep' });
      expect(answers.find((a) => a['message_id'] === 'b1')).toMatchObject({ code: 'invalid_message', message: 'the frame has more than 20000 object members' });
      expect(healthMs).toBeLessThan(Math.max(CI_BUDGET_MS, 3 * receiving));
      await socket.close();
    });

    it('an error echoes only a well-formed flow_id, so that it is a valid server message itself', async () => {
      const socket = await engine();
      const frames = [
        { id: 'f1', text: JSON.stringify({ type: 'presentation_response', flow_id: 'kN', message_id: 'f1', presentations: ['x'] }) },
        { id: 'f2', text: JSON.stringify({ type: 'prototype', message_id: 'f2', flow_id: 'cpr' }) },
        { id: 'f3', text: JSON.stringify({ type: 'flow_resume', message_id: 'f3', flow_id: 'F'.repeat(22) }) },
      ];
      const { answers } = await exchange(socket, frames);
      expect(answers[0]).not.toHaveProperty('flow_id');
      expect(answers[1]).not.toHaveProperty('flow_id');
      expect(answers[2]).toMatchObject({ code: 'unknown_flow', flow_id: 'F'.repeat(22) });
      await socket.close();
    });

    it('a frame over the message rate is answered rate_limited with its message_id (was without)', async () => {
      const socket = await engine();
      const { answers } = await exchange(socket, Array.from({ length: 60 }, (_, i) => ({ id: `p${i}`, text: JSON.stringify({ type: 'ping', message_id: `p${i}` }) })));
      const pongs = answers.filter((a) => a['type'] === 'pong').length;
      const limited = answers.filter((a) => a['type'] === 'error' && a['code'] === 'rate_limited').length;
      expect(pongs).toBeGreaterThanOrEqual(39); // the burst of 40, less the handshake
      expect(limited).toBeGreaterThan(0);
      expect(pongs + limited).toBe(60);
      await socket.close();
    });

    it('a text frame that is not UTF-8 closes the connection with 1007, a documented close code', async () => {
      const socket = await engine();
      socket.send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
      expect(await socket.until(() => socket.closed !== null, 10_000)).toBe(true);
      expect(socket.closed?.code).toBe(1007);
      expect(Object.values(CLOSE_CODES)).toContain(1007);
    });
  });
});
