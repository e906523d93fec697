import { problemOf, resolveFetch, send, type FetchLike, type HttpAnswer, type Problem } from '../auth/http';
import { VaultRecordCipher, type EncryptedVaultRecord, type PlainVaultRecord } from './record-cipher';
import { VaultCryptoError, type VaultKeySet } from './vault-keys';

/**
 * A vault call failed. `code` is the storage service's problem `code`
 * (`not_found`, `validation_failed`, `payload_too_large`,
 * `sync_cursor_expired`, ...) or the client's own (`network_error`,
 * `invalid_response`); `status` is the HTTP status (0 when no answer came).
 */
export class VaultError extends Error {
  override readonly name: string = 'VaultError';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly problem?: Problem,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Another device changed the record first: a `put` or `delete` with a stale
 * version (412, `currentVersion` known), or a create of an id that is live
 * (409, `currentVersion` null). Read the record again (`get`), merge, retry —
 * or let {@link VaultClient.update} do that.
 */
export class VaultConflictError extends VaultError {
  override readonly name = 'VaultConflictError';
  constructor(
    /** The plain record id. */
    readonly id: string,
    /** The record's version on the server, when the service said. */
    readonly currentVersion: number | null,
    code: string,
    message: string,
    status: number,
    problem?: Problem,
  ) {
    super(code, message, status, problem);
  }
}

/** A record as stored: the plain record with the server's version and time. */
export interface StoredVaultRecord extends PlainVaultRecord {
  /** 1 on create, +1 on each write; send it back to replace or delete this state. */
  version: number;
  /** Server time, ISO 8601. */
  updatedAt: string;
}

/**
 * A record the keys cannot open: written under other keys or by another
 * client (the v1 credential routes store plain records in the same vault),
 * or changed on the server. It is reported, not thrown, so one such record
 * does not block listing or sync.
 */
export interface UnreadableVaultRecord {
  /** The id as the server has it. */
  storedId: string;
  error: VaultCryptoError;
}

/** One page of records. */
export interface VaultPage {
  items: StoredVaultRecord[];
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
  unreadable: UnreadableVaultRecord[];
}

/** One entry of the sync feed: a record at its latest state, or the tombstone of a deleted one. */
export type VaultChange =
  | (StoredVaultRecord & { deleted: false; seq: number })
  | { id: string; category: string; deleted: true; version: number; updatedAt: string; seq: number };

/** Changes after a cursor. */
export interface VaultSyncResult {
  /** In write order; a record appears once, at its latest state. */
  changes: VaultChange[];
  /** Store it and pass it as `since` next time. */
  cursor: string;
  /** More changes are waiting: call again with `cursor` (or use `syncAll`). */
  hasMore: boolean;
  unreadable: UnreadableVaultRecord[];
}

/** A WQL query over plain tag names and values (see docs/vault.md); the client blinds it. */
export type WqlQuery = Record<string, unknown>;

/** Options of {@link VaultClient}. */
export interface VaultClientOptions {
  /** Where `/storage/vault/...` is: the storage service or the all-in-one wallet server. */
  baseUrl: string;
  /**
   * The bearer token, asked before each request; `refresh` is true after a
   * 401. `AuthClient.accessToken` fits as it is.
   */
  accessToken: (context: { refresh: boolean }) => Promise<string> | string;
  /** The vault key set (unwrapped), or a cipher made from it. */
  keys: VaultKeySet | VaultRecordCipher;
  /** Default `globalThis.fetch`. */
  fetch?: FetchLike;
}

/** What an archive import did. `keystore`: the archive's keystore blob was `restored`, or the account's `kept`, or there was none (`absent`). */
export interface VaultImportResult {
  imported: number;
  keystore: 'restored' | 'kept' | 'absent';
}

const ARCHIVE_TYPE = 'application/x-ndjson';

/**
 * The encrypted vault of the storage service, from the wallet's side:
 * records are encrypted before they leave and decrypted when they come back
 * (`VaultRecordCipher`), queries are blinded the same way, so the server
 * sees ciphertext and `~` tags only. Browsers and Node 20.
 *
 * Versions: writes are compare-and-set on the record version. By default a
 * `put` or `delete` sends the version this client last saw for the id (from
 * `get`, `put`, `list`, `query`, `sync`), and `put` creates the record when
 * it saw none (or saw it deleted). A {@link VaultConflictError} leaves that
 * version alone, so retrying the same `put` fails again until the caller has
 * read the current record: a change made elsewhere is never overwritten
 * unseen.
 */
export class VaultClient {
  private readonly baseUrl: string;
  private readonly fetchFn: FetchLike;
  private readonly cipher: VaultRecordCipher;
  /** Plain id → the last version seen; null when it was seen deleted or absent. */
  private readonly versions = new Map<string, number | null>();

  constructor(private readonly options: VaultClientOptions) {
    if (typeof options.baseUrl !== 'string' || options.baseUrl === '') throw new TypeError('baseUrl is required');
    this.baseUrl = `${options.baseUrl.replace(/\/+$/, '')}/storage/vault`;
    this.fetchFn = resolveFetch(options.fetch);
    this.cipher = options.keys instanceof VaultRecordCipher ? options.keys : new VaultRecordCipher(options.keys);
  }

  /** The version this client last saw for `id`: a number, null (absent or deleted), or undefined (never seen). */
  knownVersion(id: string): number | null | undefined {
    return this.versions.get(id);
  }

  /**
   * Creates or replaces a record. `version`: the version being replaced
   * (`If-Match`), or `'new'` to create; default the last one this client
   * saw, else create. Rejects with {@link VaultConflictError} when another
   * write came first, `VaultError('not_found')` when replacing a record that
   * was deleted meanwhile.
   */
  async put(record: PlainVaultRecord, options: { version?: number | 'new' } = {}): Promise<StoredVaultRecord> {
    const encrypted = this.cipher.encryptRecord(record);
    const known = options.version ?? this.versions.get(record.id) ?? 'new';
    const answer =
      known === 'new'
        ? await this.call('POST', '/records', { json: encrypted }, record.id)
        : await this.call('PUT', `/records/${encodeURIComponent(encrypted.id)}`, { json: encrypted, headers: { 'if-match': `"${known}"` } }, record.id);
    const stored = serverRecord(answer);
    this.versions.set(record.id, stored.version);
    return { ...record, tags: { ...record.tags }, version: stored.version, updatedAt: stored.updatedAt };
  }

  /** Reads and decrypts a record; null when there is none. */
  async get(id: string): Promise<StoredVaultRecord | null> {
    const storedId = this.cipher.encryptId(id);
    let answer: HttpAnswer;
    try {
      answer = await this.call('GET', `/records/${encodeURIComponent(storedId)}`);
    } catch (error) {
      if (error instanceof VaultError && error.status === 404) {
        this.versions.set(id, null);
        return null;
      }
      throw error;
    }
    const record = this.open(serverRecord(answer));
    // The id is authenticated: a server answering with another record of ours is caught here.
    if (record.id !== id) throw new VaultCryptoError('the record (the server answered with another record)');
    return record;
  }

  /**
   * Deletes a record (it leaves a tombstone that syncs to other devices).
   * `version`: the version being deleted, default the last one seen; `'*'`
   * deletes whatever is there. Resolves false when there was no record.
   */
  async delete(id: string, options: { version?: number | '*' } = {}): Promise<boolean> {
    const storedId = this.cipher.encryptId(id);
    const version = options.version ?? this.versions.get(id) ?? '*';
    try {
      await this.call('DELETE', `/records/${encodeURIComponent(storedId)}`, { headers: version === '*' ? {} : { 'if-match': `"${version}"` } }, id);
    } catch (error) {
      if (error instanceof VaultError && !(error instanceof VaultConflictError) && error.status === 404) {
        this.versions.set(id, null);
        return false;
      }
      throw error;
    }
    this.versions.set(id, null);
    return true;
  }

  /**
   * Read, change, write, retried on conflict: `change` gets the current
   * record (null when there is none) and returns the new one, or null to
   * leave it as it is. Use it for edits that must merge with other devices'.
   */
  async update(
    id: string,
    change: (current: StoredVaultRecord | null) => PlainVaultRecord | null | Promise<PlainVaultRecord | null>,
    options: { attempts?: number } = {},
  ): Promise<StoredVaultRecord | null> {
    const attempts = Math.max(1, options.attempts ?? 5);
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(id);
      const next = await change(current);
      if (next === null) return current;
      if (next.id !== id) throw new TypeError('update must keep the record id');
      try {
        return await this.put(next, { version: current ? current.version : 'new' });
      } catch (error) {
        if (!(error instanceof VaultConflictError || (error instanceof VaultError && error.code === 'not_found')) || attempt >= attempts) throw error;
      }
    }
  }

  /** Live records, ordered by stored id (so not by plain id), one page at a time. */
  async list(options: { category?: string; limit?: number; cursor?: string } = {}): Promise<VaultPage> {
    const params = new URLSearchParams();
    if (options.category !== undefined) params.set('category', this.cipher.encryptCategory(options.category));
    if (options.limit !== undefined) params.set('limit', String(options.limit));
    if (options.cursor !== undefined) params.set('cursor', options.cursor);
    const query = params.toString();
    return this.page(await this.call('GET', `/records${query ? `?${query}` : ''}`));
  }

  /**
   * Records matching a WQL query over plain tags, one page at a time. The
   * query is blinded here (tag names and values encrypted as records
   * encrypt them; `~` tags stay plain), so the server runs it on ciphertext.
   * Range and `$like` work on `~` tags only.
   */
  async query(wql: WqlQuery, options: { category?: string; limit?: number; cursor?: string } = {}): Promise<VaultPage> {
    const body = {
      query: this.cipher.blindQuery(wql),
      ...(options.category !== undefined ? { category: this.cipher.encryptCategory(options.category) } : {}),
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      ...(options.cursor !== undefined ? { cursor: options.cursor } : {}),
    };
    return this.page(await this.call('POST', '/query', { json: body }));
  }

  /** Every record matching the query, following the pages. */
  async queryAll(wql: WqlQuery, options: { category?: string } = {}): Promise<Omit<VaultPage, 'nextCursor'>> {
    const items: StoredVaultRecord[] = [];
    const unreadable: UnreadableVaultRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.query(wql, { ...options, limit: 1000, ...(cursor !== undefined ? { cursor } : {}) });
      items.push(...page.items);
      unreadable.push(...page.unreadable);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return { items, unreadable };
  }

  /**
   * Changes after `since` (a cursor from the previous sync; absent or null:
   * from the beginning), one page. A cursor older than the kept tombstones
   * rejects with `VaultError('sync_cursor_expired')`: sync from the start.
   */
  async sync(since?: string | null, options: { limit?: number } = {}): Promise<VaultSyncResult> {
    const params = new URLSearchParams();
    if (since) params.set('since', since);
    if (options.limit !== undefined) params.set('limit', String(options.limit));
    const query = params.toString();
    const answer = await this.call('GET', `/sync${query ? `?${query}` : ''}`);
    const body = answer.body as { changes?: unknown; cursor?: unknown; hasMore?: unknown } | null;
    if (!body || !Array.isArray(body.changes) || typeof body.cursor !== 'string') throw invalidResponse(answer, 'sync');
    const changes: VaultChange[] = [];
    const unreadable: UnreadableVaultRecord[] = [];
    for (const raw of body.changes as Array<Record<string, unknown>>) {
      const storedId = typeof raw['id'] === 'string' ? raw['id'] : '';
      try {
        if (raw['deleted'] === true) {
          const id = this.cipher.decryptId(storedId);
          const version = raw['version'];
          if (typeof version !== 'number' || typeof raw['seq'] !== 'number') throw invalidResponse(answer, 'sync');
          changes.push({
            id,
            category: this.cipher.decryptCategory(String(raw['category'])),
            deleted: true,
            version,
            updatedAt: String(raw['updatedAt']),
            seq: raw['seq'],
          });
          this.versions.set(id, null);
        } else {
          const record = this.open(serverRecord({ ...answer, body: raw }));
          changes.push({ ...record, deleted: false, seq: Number(raw['seq']) });
        }
      } catch (error) {
        if (!(error instanceof VaultCryptoError)) throw error;
        unreadable.push({ storedId, error });
      }
    }
    return { changes, cursor: body.cursor, hasMore: body.hasMore === true, unreadable };
  }

  /**
   * Every change after `since`, following the pages; a record changed again
   * between two pages is reported once, at its latest state.
   */
  async syncAll(since?: string | null, options: { pageSize?: number } = {}): Promise<Omit<VaultSyncResult, 'hasMore'>> {
    const latest = new Map<string, VaultChange>();
    const unreadable: UnreadableVaultRecord[] = [];
    let cursor = since ?? null;
    for (;;) {
      const page = await this.sync(cursor, { limit: options.pageSize ?? 1000 });
      for (const change of page.changes) {
        latest.delete(change.id);
        latest.set(change.id, change);
      }
      unreadable.push(...page.unreadable);
      cursor = page.cursor;
      if (!page.hasMore) return { changes: [...latest.values()], cursor, unreadable };
    }
  }

  /**
   * The whole vault as an archive (JSON lines: header with the keystore
   * blob, every record as ciphertext, a checksummed trailer). It can only be
   * read with the key set, so it is safe to keep anywhere.
   */
  async export(): Promise<string> {
    return (await this.call('GET', '/export', { headers: { accept: ARCHIVE_TYPE } })).text;
  }

  /**
   * Imports an archive into this account's vault, which must have no live
   * record (else `VaultError('precondition_failed')`, 412): all records or
   * none. The records keep their ciphertext, so the same key set opens them.
   */
  async import(archive: string): Promise<VaultImportResult> {
    const answer = await this.call('POST', '/import', { body: archive, headers: { 'content-type': ARCHIVE_TYPE } });
    const body = answer.body as Partial<VaultImportResult> | null;
    if (!body || typeof body.imported !== 'number' || typeof body.keystore !== 'string') throw invalidResponse(answer, 'import');
    return { imported: body.imported, keystore: body.keystore };
  }

  /** Stored records and bytes, with the service's limits. */
  async usage(): Promise<{ records: number; bytes: number; limits: Record<string, number> }> {
    const answer = await this.call('GET', '/usage');
    const body = answer.body as { records?: unknown; bytes?: unknown; limits?: unknown } | null;
    if (!body || typeof body.records !== 'number' || typeof body.bytes !== 'number') throw invalidResponse(answer, 'usage');
    return { records: body.records, bytes: body.bytes, limits: (body.limits ?? {}) as Record<string, number> };
  }

  // ------------------------------------------------------------------ internals

  /** Decrypts a server record and remembers its version. */
  private open(stored: EncryptedVaultRecord & { version: number; updatedAt: string }): StoredVaultRecord {
    const plain = this.cipher.decryptRecord(stored);
    this.versions.set(plain.id, stored.version);
    return { ...plain, version: stored.version, updatedAt: stored.updatedAt };
  }

  private page(answer: HttpAnswer): VaultPage {
    const body = answer.body as { items?: unknown; nextCursor?: unknown } | null;
    if (!body || !Array.isArray(body.items)) throw invalidResponse(answer, 'page');
    const items: StoredVaultRecord[] = [];
    const unreadable: UnreadableVaultRecord[] = [];
    for (const raw of body.items as unknown[]) {
      const stored = serverRecord({ ...answer, body: raw });
      try {
        items.push(this.open(stored));
      } catch (error) {
        if (!(error instanceof VaultCryptoError)) throw error;
        unreadable.push({ storedId: stored.id, error });
      }
    }
    return { items, nextCursor: typeof body.nextCursor === 'string' ? body.nextCursor : null, unreadable };
  }

  /**
   * One request with the bearer token (asked again with `refresh: true` and
   * retried once after a 401). `id` names the plain record a 409/412 is about.
   */
  private async call(
    method: string,
    path: string,
    init: { json?: unknown; body?: string; headers?: Record<string, string> } = {},
    id?: string,
  ): Promise<HttpAnswer> {
    let answer = await this.attempt(method, path, init, false);
    if (answer.status === 401) answer = await this.attempt(method, path, init, true);
    if (answer.status >= 200 && answer.status < 300) return answer;
    const problem = problemOf(answer);
    if (id !== undefined && (answer.status === 412 || (answer.status === 409 && method === 'POST'))) {
      const current = problem['currentVersion'];
      throw new VaultConflictError(id, typeof current === 'number' ? current : null, problem.code, problem.detail, answer.status, problem);
    }
    throw new VaultError(problem.code, problem.detail, answer.status, problem);
  }

  private async attempt(method: string, path: string, init: { json?: unknown; body?: string; headers?: Record<string, string> }, refresh: boolean): Promise<HttpAnswer> {
    const token = await this.options.accessToken({ refresh });
    try {
      return await send(this.fetchFn, `${this.baseUrl}${path}`, method, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
    } catch (error) {
      throw new VaultError('network_error', `${method} ${path} failed: ${error instanceof Error ? error.message : String(error)}`, 0, undefined, { cause: error });
    }
  }
}

/** A record as the service answers it, checked for shape. */
function serverRecord(answer: HttpAnswer): EncryptedVaultRecord & { version: number; updatedAt: string } {
  const body = answer.body as Record<string, unknown> | null;
  if (
    !body ||
    typeof body['id'] !== 'string' ||
    typeof body['category'] !== 'string' ||
    typeof body['blob'] !== 'string' ||
    typeof body['version'] !== 'number' ||
    typeof body['updatedAt'] !== 'string' ||
    (body['tags'] !== undefined && (typeof body['tags'] !== 'object' || body['tags'] === null))
  ) {
    throw invalidResponse(answer, 'record');
  }
  return {
    id: body['id'],
    category: body['category'],
    blob: body['blob'],
    tags: (body['tags'] ?? {}) as Record<string, string>,
    version: body['version'],
    updatedAt: body['updatedAt'],
  };
}

function invalidResponse(answer: HttpAnswer, what: string): VaultError {
  return new VaultError('invalid_response', `the storage service's ${what} answer is malformed`, answer.status);
}
