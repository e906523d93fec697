import { ValidationError } from '@wallet/domain';
import { matchesWql, parseWql } from '@wallet/wql';
import type { FetchLike, FetchResponseLike } from '../auth/http';
import { VaultRecordCipher, type PlainVaultRecord } from './record-cipher';
import { VaultClient, VaultConflictError, VaultError } from './vault-client';
import { generateVaultKeySet, VaultCryptoError } from './vault-keys';

/**
 * An in-memory stand-in for the storage service's vault routes
 * (libs/storage/feature/src/vault.controller.ts): the same statuses,
 * problem codes, ETags, tombstones, sequence cursors and WQL evaluation, so
 * the client's HTTP behaviour is tested without a server. The real service
 * is exercised in e2e/src/wallet-client.e2e.spec.ts.
 */
interface Row {
  id: string;
  category: string;
  blob: string | null;
  tags: Record<string, string>;
  version: number;
  updatedAt: string;
  deleted: boolean;
  seq: number;
}

interface Seen {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

class FakeStorage {
  readonly rows = new Map<string, Row>();
  readonly requests: Seen[] = [];
  readonly tokens = new Set(['token-1']);
  seq = 0;
  /** Tombstones up to this seq were purged: older cursors are refused. */
  horizon = 0;

  readonly fetch: FetchLike = async (url, init) => {
    const parsed = new URL(url);
    const path = parsed.pathname.replace(/^\/storage\/vault/, '');
    this.requests.push({ method: init.method, path: `${path}${parsed.search}`, headers: init.headers, body: init.body });
    const token = /^Bearer (.+)$/.exec(init.headers['authorization'] ?? '')?.[1];
    if (!token || !this.tokens.has(token)) return problem(401, 'invalid_token');
    const body = init.body && init.headers['content-type'] === 'application/json' ? (JSON.parse(init.body) as Record<string, unknown>) : undefined;
    const ifMatch = init.headers['if-match'] ? Number(/"?(\d+)"?/.exec(init.headers['if-match'])?.[1]) : undefined;
    const recordPath = /^\/records\/(.+)$/.exec(path);
    if (init.method === 'POST' && path === '/records') {
      const id = String(body?.['id']);
      const current = this.rows.get(id);
      if (current && !current.deleted) return problem(409, 'already_exists');
      return json(201, this.write(id, body!, (current?.version ?? 0) + 1));
    }
    if (recordPath) {
      const id = decodeURIComponent(recordPath[1]!);
      const current = this.rows.get(id);
      const live = current && !current.deleted ? current : undefined;
      if (init.method === 'GET') return live ? json(200, view(live)) : problem(404, 'not_found');
      if (init.method === 'PUT') {
        if (ifMatch === undefined) return problem(400, 'validation_failed');
        if (!live) return problem(404, 'not_found');
        if (live.version !== ifMatch) return problem(412, 'precondition_failed', { currentVersion: live.version, currentEtag: `"${live.version}"` });
        return json(200, this.write(id, body!, live.version + 1));
      }
      if (init.method === 'DELETE') {
        if (!live) return problem(404, 'not_found');
        if (ifMatch !== undefined && live.version !== ifMatch) return problem(412, 'precondition_failed', { currentVersion: live.version });
        this.rows.set(id, { ...live, blob: null, tags: {}, version: live.version + 1, deleted: true, seq: ++this.seq });
        return { status: 204, headers: new Headers(), text: async () => '' };
      }
    }
    if (init.method === 'GET' && path === '/records') return json(200, this.page(null, parsed.searchParams.get('category'), parsed.searchParams));
    if (init.method === 'POST' && path === '/query') {
      const params = new URLSearchParams();
      if (typeof body?.['limit'] === 'number') params.set('limit', String(body['limit']));
      if (typeof body?.['cursor'] === 'string') params.set('cursor', body['cursor']);
      let node;
      try {
        node = parseWql(body?.['query']);
      } catch {
        return problem(400, 'validation_failed');
      }
      return json(200, this.page((tags) => matchesWql(node, tags), (body?.['category'] as string | undefined) ?? null, params));
    }
    if (init.method === 'GET' && path === '/sync') {
      const since = Number(parsed.searchParams.get('since') ?? '0');
      if (since > 0 && since < this.horizon) return problem(412, 'sync_cursor_expired', { resync: true });
      const limit = Number(parsed.searchParams.get('limit') ?? '100');
      const rows = [...this.rows.values()].filter((r) => r.seq > since).sort((a, b) => a.seq - b.seq);
      const changes = rows.slice(0, limit).map((r) =>
        r.deleted ? { id: r.id, category: r.category, deleted: true, version: r.version, updatedAt: r.updatedAt, seq: r.seq } : { ...view(r), deleted: false, seq: r.seq },
      );
      return json(200, { changes, cursor: String(changes.at(-1)?.seq ?? since), hasMore: rows.length > limit });
    }
    if (init.method === 'GET' && path === '/export') {
      const lines = [{ format: 'wallet-vault-archive' }, ...[...this.rows.values()].filter((r) => !r.deleted).map(view), { end: true }];
      return { status: 200, headers: new Headers({ 'content-type': 'application/x-ndjson' }), text: async () => lines.map((l) => JSON.stringify(l)).join('\n') + '\n' };
    }
    if (init.method === 'POST' && path === '/import') {
      if (init.headers['content-type'] !== 'application/x-ndjson') return problem(400, 'validation_failed');
      const lines = (init.body ?? '').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const records = lines.filter((l) => typeof l['blob'] === 'string');
      for (const record of records) this.write(String(record['id']), record, 1);
      return json(200, { imported: records.length, keystore: 'absent' });
    }
    if (init.method === 'GET' && path === '/usage') return json(200, { records: [...this.rows.values()].filter((r) => !r.deleted).length, bytes: 1, limits: { maxRecordsPerUser: 10_000 } });
    return problem(404, 'not_found');
  };

  private write(id: string, body: Record<string, unknown>, version: number): Record<string, unknown> {
    const row: Row = {
      id,
      category: String(body['category']),
      blob: String(body['blob']),
      tags: (body['tags'] ?? {}) as Record<string, string>,
      version,
      updatedAt: new Date(1_700_000_000_000 + this.seq * 1000).toISOString(),
      deleted: false,
      seq: ++this.seq,
    };
    this.rows.set(id, row);
    return view(row);
  }

  private page(filter: ((tags: Record<string, string>) => boolean) | null, category: string | null, params: URLSearchParams) {
    const limit = Number(params.get('limit') ?? '100');
    const cursor = params.get('cursor');
    const live = [...this.rows.values()]
      .filter((r) => !r.deleted && (category === null || r.category === category) && (!filter || filter(r.tags)) && (cursor === null || r.id > cursor))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    const items = live.slice(0, limit).map(view);
    return { items, nextCursor: live.length > limit ? items.at(-1)!.id : null };
  }
}

function view(row: Row) {
  return { id: row.id, category: row.category, blob: row.blob, tags: row.tags, version: row.version, updatedAt: row.updatedAt };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): FetchResponseLike {
  const version = (body as { version?: unknown } | null)?.version;
  return {
    status,
    headers: new Headers({ 'content-type': 'application/json', ...(typeof version === 'number' ? { etag: `"${version}"` } : {}), ...headers }),
    text: async () => JSON.stringify(body),
  };
}

function problem(status: number, code: string, extra: Record<string, unknown> = {}): FetchResponseLike {
  return {
    status,
    headers: new Headers({ 'content-type': 'application/problem+json' }),
    text: async () => JSON.stringify({ type: `https://wallet.dev/problems/${code}`, title: 'x', status, code, detail: `${code} (fake)`, ...extra }),
  };
}

const text = (value: string) => new TextEncoder().encode(value);
const read = (value: Uint8Array) => new TextDecoder().decode(value);
const pid = (note = 'first'): PlainVaultRecord => ({
  id: 'pid-credential-1',
  category: 'credential',
  value: text(`{"given_name":"Annabelle-Plaintext","note":"${note}"}`),
  tags: { type: 'pid-type-plaintext', issuer: 'issuer-government-plaintext', '~added': '2026-01-05' },
});
const mdl: PlainVaultRecord = {
  id: 'mdl-credential-1',
  category: 'credential',
  value: text('{"driving_privileges":"B"}'),
  tags: { type: 'mdl-type-plaintext', issuer: 'issuer-dmv-plaintext', '~added': '2026-02-10' },
};

describe('VaultClient', () => {
  const keys = generateVaultKeySet();
  let server: FakeStorage;
  const client = (options: { accessToken?: () => string } = {}) =>
    new VaultClient({ baseUrl: 'https://wallet.example/', accessToken: options.accessToken ?? (() => 'token-1'), keys, fetch: server.fetch });

  beforeEach(() => {
    server = new FakeStorage();
  });

  it('creates, reads and replaces records; the server sees only ciphertext and ~ tags', async () => {
    const vault = client();
    const created = await vault.put(pid());
    expect(created).toMatchObject({ id: 'pid-credential-1', version: 1 });
    expect(server.requests.at(-1)).toMatchObject({ method: 'POST', path: '/records' });
    expect(await vault.get('pid-credential-1')).toEqual({ ...pid(), version: 1, updatedAt: expect.any(String) });
    const replaced = await vault.put(pid('second'));
    expect(replaced.version).toBe(2);
    expect(server.requests.at(-1)).toMatchObject({ method: 'PUT', headers: expect.objectContaining({ 'if-match': '"1"' }) });
    expect(read((await vault.get('pid-credential-1'))!.value)).toContain('second');
    expect(await vault.get('no-such-record')).toBeNull();

    const wire = JSON.stringify(server.requests) + JSON.stringify([...server.rows.values()]);
    for (const secret of ['pid-credential-1', 'Annabelle-Plaintext', 'pid-type-plaintext', 'issuer-government-plaintext', 'credential"', '"type"', '"issuer"']) {
      expect(wire).not.toContain(secret);
    }
    expect(wire).toContain('"~added":"2026-01-05"');
  });

  it('surfaces a concurrent edit as a typed conflict and keeps refusing until the record was read again', async () => {
    const device1 = client();
    const device2 = client();
    await device1.put(pid());
    await device2.get('pid-credential-1');
    await device1.put(pid('from device 1'));

    const conflict = await device2.put(pid('from device 2')).catch((error: unknown) => error);
    expect(conflict).toBeInstanceOf(VaultConflictError);
    expect(conflict).toMatchObject({ id: 'pid-credential-1', currentVersion: 2, status: 412, code: 'precondition_failed' });
    // The same put again still conflicts: nothing is overwritten unseen.
    await expect(device2.put(pid('from device 2'))).rejects.toBeInstanceOf(VaultConflictError);

    const theirs = await device2.get('pid-credential-1');
    const merged = await device2.put({ ...pid('merged'), value: text(read(theirs!.value).replace('from device 1', 'from devices 1+2')) });
    expect(merged.version).toBe(3);
    expect(read((await device1.get('pid-credential-1'))!.value)).toContain('from devices 1+2');
  });

  it('reports a create of an id that another device created as a conflict; update() merges and retries', async () => {
    const device1 = client();
    const device2 = client();
    await device1.put(pid('device 1'));
    const conflict = await device2.put(pid('device 2')).catch((error: unknown) => error);
    expect(conflict).toMatchObject({ name: 'VaultConflictError', status: 409, currentVersion: null });

    // update() reads, applies the change to what is there, writes; a write in between makes it go round again.
    let interleaved = false;
    const updated = await device2.update('pid-credential-1', async (current) => {
      if (!interleaved) {
        interleaved = true;
        await device1.put(pid('device 1 again'));
      }
      return { ...pid(), value: text(`${read(current!.value)} + device 2`) };
    });
    expect(updated!.version).toBe(3);
    expect(read(updated!.value)).toContain('device 1 again');
    expect(read(updated!.value)).toContain('+ device 2');
    // Returning null leaves the record alone.
    expect(await device2.update('pid-credential-1', () => null)).toMatchObject({ version: 3 });
  });

  it('queries with plain WQL, blinded on the client, and decrypts the matches', async () => {
    const vault = client();
    await vault.put(pid());
    await vault.put(mdl);
    const found = await vault.query({ type: 'pid-type-plaintext' });
    expect(found.items.map((r) => r.id)).toEqual(['pid-credential-1']);
    expect(found.unreadable).toEqual([]);
    const body = server.requests.at(-1)!.body!;
    expect(body).not.toContain('pid-type-plaintext');

    const recent = await vault.query({ $or: [{ issuer: 'issuer-dmv-plaintext' }, { type: 'pid-type-plaintext' }], '~added': { $gte: '2026-02-01' } }, { category: 'credential' });
    expect(recent.items.map((r) => r.id)).toEqual(['mdl-credential-1']);
    expect((await vault.query({ type: 'pid-type-plaintext' }, { category: 'other' })).items).toEqual([]);
    // Range and $like are refused before anything is sent when the tag is blinded.
    const before = server.requests.length;
    await expect(vault.query({ type: { $like: 'pid%' } })).rejects.toBeInstanceOf(ValidationError);
    expect(server.requests).toHaveLength(before);

    const all = await vault.queryAll({});
    expect(all.items.map((r) => r.id).sort()).toEqual(['mdl-credential-1', 'pid-credential-1']);
  });

  it('lists page by page and filters by category', async () => {
    const vault = client();
    for (let i = 0; i < 5; i++) await vault.put({ ...mdl, id: `r${i}`, category: i % 2 ? 'odd' : 'even' });
    const first = await vault.list({ limit: 2 });
    expect(first.items).toHaveLength(2);
    const second = await vault.list({ limit: 10, cursor: first.nextCursor! });
    expect([...first.items, ...second.items].map((r) => r.id).sort()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    expect((await vault.list({ category: 'odd' })).items.map((r) => r.id).sort()).toEqual(['r1', 'r3']);
  });

  it('syncs changes and tombstones after a cursor, decrypted, and follows pages in syncAll', async () => {
    const device1 = client();
    const device2 = client();
    await device1.put(pid());
    await device1.put(mdl);
    const full = await device2.sync();
    expect(full.changes.map((c) => [c.id, c.deleted])).toEqual([
      ['pid-credential-1', false],
      ['mdl-credential-1', false],
    ]);
    expect(full.hasMore).toBe(false);

    await device1.put(pid('edited'));
    expect(await device1.delete('mdl-credential-1')).toBe(true);
    const later = await device2.sync(full.cursor);
    expect(later.changes).toEqual([
      expect.objectContaining({ id: 'pid-credential-1', deleted: false, version: 2 }),
      { id: 'mdl-credential-1', category: 'credential', deleted: true, version: 2, updatedAt: expect.any(String), seq: expect.any(Number) },
    ]);
    expect((await device2.sync(later.cursor)).changes).toEqual([]);
    // The tombstone told device 2 the record is gone: a put creates it again (version continues).
    expect(device2.knownVersion('mdl-credential-1')).toBeNull();
    expect((await device2.put(mdl)).version).toBe(3);

    // Pages of one, and a record written again between two pages: syncAll reports it once, at its latest state.
    const fetchPage = server.fetch;
    let pages = 0;
    const interleaving = new VaultClient({
      baseUrl: 'https://wallet.example',
      keys,
      accessToken: () => 'token-1',
      fetch: async (url, init) => {
        if (url.includes('/sync') && ++pages === 2) await device1.put(pid('between pages'));
        return fetchPage(url, init);
      },
    });
    const paged = await interleaving.syncAll(null, { pageSize: 1 });
    expect(pages).toBeGreaterThan(2);
    expect(paged.changes.map((c) => [c.id, c.version])).toEqual([
      ['mdl-credential-1', 3],
      ['pid-credential-1', 3],
    ]);
    const latest = paged.changes.find((c) => c.id === 'pid-credential-1');
    expect(latest && !latest.deleted && read(latest.value)).toContain('between pages');
    expect(paged.cursor).toBe(String(server.seq));
  });

  it('reports a cursor older than the kept tombstones with its code', async () => {
    const vault = client();
    await vault.put(pid());
    await vault.put(mdl);
    server.horizon = 5;
    const error = await vault.sync('1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultError);
    expect(error).toMatchObject({ code: 'sync_cursor_expired', status: 412 });
    expect(error).not.toBeInstanceOf(VaultConflictError);
  });

  it('reports records it cannot open instead of failing the whole page or sync', async () => {
    const vault = client();
    await vault.put(pid());
    // A v1 route record (plain category and JSON blob) and a record of another key set.
    server.rows.set('v1-record', { id: 'v1-record', category: 'v1.vc', blob: 'eyJ9', tags: { '~format': 'jwt' }, version: 1, updatedAt: 'x', deleted: false, seq: ++server.seq });
    const foreign = new VaultRecordCipher(generateVaultKeySet()).encryptRecord(mdl);
    server.rows.set(foreign.id, { ...foreign, version: 1, updatedAt: 'x', deleted: false, seq: ++server.seq });

    const page = await vault.list();
    expect(page.items.map((r) => r.id)).toEqual(['pid-credential-1']);
    expect(page.unreadable.map((u) => u.storedId).sort()).toEqual([foreign.id, 'v1-record'].sort());
    expect(page.unreadable[0]!.error).toBeInstanceOf(VaultCryptoError);
    const synced = await vault.sync();
    expect(synced.changes.map((c) => c.id)).toEqual(['pid-credential-1']);
    expect(synced.unreadable).toHaveLength(2);
  });

  it('refuses a record the server answers for another id', async () => {
    const vault = client();
    await vault.put(pid());
    await vault.put(mdl);
    const cipher = new VaultRecordCipher(keys);
    // The server answers the mdl under the pid's id.
    server.rows.set(cipher.encryptId('pid-credential-1'), { ...server.rows.get(cipher.encryptId('mdl-credential-1'))! });
    await expect(vault.get('pid-credential-1')).rejects.toBeInstanceOf(VaultCryptoError);
  });

  it('deletes with the version it saw, reports a stale one, and answers false for a missing record', async () => {
    const device1 = client();
    const device2 = client();
    await device1.put(pid());
    await device2.get('pid-credential-1');
    await device1.put(pid('newer'));
    await expect(device2.delete('pid-credential-1')).rejects.toMatchObject({ name: 'VaultConflictError', currentVersion: 2 });
    expect(await device2.delete('pid-credential-1', { version: '*' })).toBe(true);
    expect(server.requests.at(-1)!.headers['if-match']).toBeUndefined();
    expect(await device1.delete('pid-credential-1')).toBe(false);
    // Replacing a record deleted meanwhile: not found.
    await device1.put(mdl);
    await device2.delete('mdl-credential-1', { version: '*' });
    await expect(device1.put(mdl)).rejects.toMatchObject({ code: 'not_found', status: 404 });
  });

  it('asks for a fresh token after a 401 and retries once', async () => {
    const asked: boolean[] = [];
    const vault = new VaultClient({
      baseUrl: 'https://wallet.example',
      keys,
      fetch: server.fetch,
      accessToken: async ({ refresh }) => {
        asked.push(refresh);
        return refresh ? 'token-1' : 'expired';
      },
    });
    expect((await vault.put(pid())).version).toBe(1);
    expect(asked).toEqual([false, true]);
    server.tokens.clear();
    await expect(vault.get('pid-credential-1')).rejects.toMatchObject({ code: 'invalid_token', status: 401 });
  });

  it('exports and imports the archive as JSON lines, and reports usage', async () => {
    const vault = client();
    await vault.put(pid());
    const archive = await vault.export();
    expect(archive.split('\n')[0]).toContain('wallet-vault-archive');
    expect(archive).not.toContain('Annabelle');
    server.rows.clear();
    expect(await vault.import(archive)).toEqual({ imported: 1, keystore: 'absent' });
    expect(server.requests.at(-1)!.headers['content-type']).toBe('application/x-ndjson');
    expect(read((await vault.get('pid-credential-1'))!.value)).toContain('Annabelle');
    expect(await vault.usage()).toMatchObject({ records: 1, limits: { maxRecordsPerUser: 10_000 } });
  });

  it('turns network failures and non-problem answers into VaultErrors', async () => {
    const offline = new VaultClient({ baseUrl: 'https://x', keys, accessToken: () => 't', fetch: async () => Promise.reject(new TypeError('fetch failed')) });
    await expect(offline.get('a')).rejects.toMatchObject({ name: 'VaultError', code: 'network_error', status: 0 });
    const proxy = new VaultClient({
      baseUrl: 'https://x',
      keys,
      accessToken: () => 't',
      fetch: async () => ({ status: 502, headers: new Headers({ 'content-type': 'text/html' }), text: async () => '<html>bad gateway</html>' }),
    });
    await expect(proxy.list()).rejects.toMatchObject({ code: 'http_502', status: 502 });
  });
});
