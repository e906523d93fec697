import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PasskeyTestClient, startBuiltApp, type AuthSession, type ServiceProcess } from '@wallet/testing';
import { HealthWatcher } from './health-watcher';
import { operationsOf, type FuzzOperation, type OpenApiDocument } from './openapi-operations';

/** The services the fuzzer drives, the port each is served on and where its document is. */
export const FUZZ_SERVICES = {
  auth: { port: 'wallet', document: '/auth/openapi.json' },
  storage: { port: 'wallet', document: '/storage/openapi.json' },
  registry: { port: 'wallet', document: '/registry/openapi.json' },
  admin: { port: 'admin', document: '/admin/openapi.json' },
  verifier: { port: 'verifier', document: '/openapi.json' },
} as const;
export type FuzzService = keyof typeof FUZZ_SERVICES;

/** The tenant and the user whose data no fuzzed request may change. */
export const PROTECTED_TENANT = 'beta';
/** The tenant the admin fuzzing may change at will (it creates it). */
export const FUZZ_TENANT = 'fuzz-owned';

const root = resolve(__dirname, '../../../..');

export interface HttpAnswer {
  status: number;
  type: string;
  text: string;
  json: unknown;
  headers: Headers;
}

async function http(url: string, init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers['authorization'] = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: response.status, type: response.headers.get('content-type') ?? '', text, json, headers: response.headers };
}

function expectStatus(answer: HttpAnswer, status: number, what: string): HttpAnswer {
  if (answer.status !== status) throw new Error(`${what} answered ${answer.status} (expected ${status}): ${answer.text.slice(0, 300)}`);
  return answer;
}

/** A loopback port that nothing listens on (taken from the OS, then released). */
export async function closedLoopbackPort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => res(port));
    });
  });
}

const blob = (text: string) => ({ $b64u: Buffer.from(text).toString('base64url') });
const b64u = (text: string) => createHash('sha256').update(text).digest('base64url');

/** What the protected user and tenant look like; compared before and after every service's fuzzing. */
export interface ProtectedSnapshot {
  tenant: unknown;
  tenantUsers: unknown;
  privateData: unknown;
  privateDataEtag: string | null;
  account: unknown;
  credentials: unknown;
  vault: unknown;
  vc: unknown;
}

/**
 * The built all-in-one on SQLite with what the fuzzer needs: an admin token,
 * a verifier service, a logged-in user A (the caller) on the default tenant,
 * and a second tenant with user B whose vault, v1 credentials and keystore
 * no fuzzed request may change.
 */
export class FuzzTarget {
  readonly adminToken = `fuzz-admin-${randomBytes(24).toString('hex')}`;
  proc!: ServiceProcess;
  urls!: { wallet: string; admin: string; verifier: string };
  closedPort = 0;
  userA!: AuthSession;
  /** A's access token was probably revoked or the account deleted by a fuzzed request: make a new A before the next use. */
  staleA = false;
  private clientA!: PasskeyTestClient;
  private clientB!: PasskeyTestClient;
  userB!: AuthSession;
  /** Ids the fuzzer offers as parameter values: A's own records, B's records (another user's: must stay 404), tenants. */
  knownIds: Record<string, string[]> = {};
  private dir = '';

  async start(env: Record<string, string> = {}): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'wallet-fuzz-'));
    this.closedPort = await closedLoopbackPort();
    const servicesFile = join(this.dir, 'services.json');
    writeFileSync(
      servicesFile,
      JSON.stringify({
        services: [
          {
            id: 'app',
            defaultScope: 'login',
            scopes: {
              login: {
                dcql: { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: ['urn:fuzz:pid'] }, claims: [{ path: ['given_name'] }] }] },
                trust: [{ type: 'urn:fuzz:pid', issuers: [{ id: `http://127.0.0.1:${this.closedPort}` }] }],
                token: { type: 'mapping', claims: { first_name: 'pid.given_name' } },
              },
            },
            redirectUris: [`http://127.0.0.1:${this.closedPort}/callback`],
          },
        ],
      }),
    );
    this.proc = await startBuiltApp('all-in-one', {
      WALLET_SERVER_ADMIN_TOKEN: this.adminToken,
      WALLET_VERIFIER_SERVICES_FILE: servicesFile,
      // The fuzzer sends thousands of ceremony and token requests from one address; at the default
      // 30 and 60 a minute nearly all would be answered 429 before any validation ran.
      WALLET_AUTH_RATE_LIMITS_CEREMONY_LIMIT: '1000000',
      WALLET_AUTH_RATE_LIMITS_TOKEN_LIMIT: '1000000',
      ...env,
    });
    this.urls = { wallet: this.proc.servers.get('wallet')!, admin: this.proc.servers.get('admin')!, verifier: this.proc.servers.get('verifier')! };
    await this.seed();
  }

  async stop(): Promise<number | null> {
    const code = await this.proc?.stop('SIGTERM');
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    return code ?? null;
  }

  /** True while the process under test runs. */
  alive(): boolean {
    return this.proc.child.exitCode === null && this.proc.child.signalCode === null;
  }

  /**
   * A health watcher polling /health/live on the three ports every
   * `intervalMs`, once every port has answered (stopped again if one does not).
   */
  async watch(intervalMs: number): Promise<HealthWatcher> {
    const watcher = new HealthWatcher(
      (['wallet', 'admin', 'verifier'] as const).map((name) => ({ name, url: this.urls[name] })),
      intervalMs,
    );
    try {
      await watcher.ready();
    } catch (error) {
      await watcher.stop();
      throw error;
    }
    return watcher;
  }

  baseUrl(service: FuzzService): string {
    return this.urls[FUZZ_SERVICES[service].port];
  }

  /** The document the service serves (the admin one with the admin token); the checked-in copy if it serves none. */
  async operations(service: FuzzService): Promise<{ operations: FuzzOperation[]; source: string }> {
    const url = `${this.baseUrl(service)}${FUZZ_SERVICES[service].document}`;
    const served = await http(url, service === 'admin' ? { token: this.adminToken } : {});
    if (served.status === 200 && served.json && typeof served.json === 'object') {
      return { operations: operationsOf(service, served.json as OpenApiDocument), source: url };
    }
    const file = join(root, 'docs/api', `${service}.openapi.json`);
    return { operations: operationsOf(service, JSON.parse(readFileSync(file, 'utf8')) as OpenApiDocument), source: file };
  }

  private admin(method: string, path: string, body?: unknown): Promise<HttpAnswer> {
    return http(`${this.urls.admin}${path}`, { method, token: this.adminToken, ...(body !== undefined ? { body } : {}) });
  }

  private async seed(): Promise<void> {
    for (const id of [PROTECTED_TENANT, FUZZ_TENANT]) {
      expectStatus(await this.admin('POST', '/admin/tenants', { id, display_name: id }), 201, `creating tenant ${id}`);
    }
    // B, on the protected tenant: a keystore, vault records with tags, a v1 credential.
    this.clientB = new PasskeyTestClient({ baseUrl: this.urls.wallet, tenant: PROTECTED_TENANT });
    this.userB = await this.clientB.registered({ displayName: 'Protected B', privateData: blob('B keystore') });
    const bRecords: string[] = [];
    for (let i = 0; i < 4; i++) {
      const id = `b-record-${i}`;
      const record = { id, category: 'credential', blob: Buffer.from(`B secret ${i}`).toString('base64url'), tags: { [b64u(`type${i % 2}`)]: b64u('x'), '~added': `2026-0${i + 1}-01` } };
      expectStatus(await http(`${this.urls.wallet}/storage/vault/records`, { method: 'POST', token: this.userB.appToken, body: record }), 201, 'storing a record of B');
      bRecords.push(id);
    }
    const vc = { credentials: [{ credentialIdentifier: 'b-vc-1', credential: 'eyJhbGciOiJFUzI1NiJ9.eyJ2Y3QiOiJ1cm46ZnV6eiJ9.c2ln', format: 'dc+sd-jwt' }] };
    const stored = await http(`${this.urls.wallet}/storage/vc`, { method: 'POST', token: this.userB.appToken, body: vc });
    if (stored.status >= 300) throw new Error(`storing a v1 credential of B answered ${stored.status}: ${stored.text.slice(0, 300)}`);
    // A, the caller, on the default tenant, with records of its own the fuzzer may read and change.
    await this.renewA();
    this.knownIds = {
      id: ['a-record-0', 'a-record-1', ...bRecords, 'app', PROTECTED_TENANT, FUZZ_TENANT, this.userB.uuid],
      tenant: [FUZZ_TENANT, PROTECTED_TENANT, 'default'],
      'x-tenant-id': [PROTECTED_TENANT, 'default', FUZZ_TENANT, 'no-such-tenant'],
      serviceid: ['app', 'no-such-service'],
      credential_identifier: ['b-vc-1', 'a-vc-1'],
      presentation_identifier: ['b-vp-1'],
      category: ['credential', 'v1.vc'],
    };
  }

  /** Registers a fresh user A (the fuzzed caller) and gives it two vault records. */
  async renewA(): Promise<void> {
    this.clientA = new PasskeyTestClient({ baseUrl: this.urls.wallet });
    this.userA = await this.clientA.registered({ displayName: 'Fuzzer A', privateData: blob('A keystore') });
    this.vaultOfA = 0;
    await this.fillVaultOfA(2);
    this.staleA = false;
  }

  private vaultOfA = 0;

  /**
   * Gives A at least `count` vault records, each with the tag names the WQL generator uses
   * (`a`, `t0`..`t9`, `~n`, `~s`), so that generated queries span the whole vault.
   */
  async fillVaultOfA(count: number): Promise<void> {
    for (let i = this.vaultOfA; i < count; i++) {
      const tags: Record<string, string> = { a: i % 2 ? 'x' : 'y', '~n': String(i % 10), '~s': `s${i}` };
      for (let t = 0; t < 10; t++) tags[`t${t}`] = 'x';
      const record = { id: `a-record-${i}`, category: 'credential', blob: Buffer.from(`A ${i}`).toString('base64url'), tags };
      expectStatus(await http(`${this.urls.wallet}/storage/vault/records`, { method: 'POST', token: this.userA.appToken, body: record }), 201, 'storing a record of A');
      this.vaultOfA = i + 1;
    }
  }

  /** A fresh session of A or B (a passkey login): the engine fuzzing runs with short-lived access tokens. */
  async login(who: 'A' | 'B'): Promise<AuthSession> {
    const answer = await (who === 'A' ? this.clientA : this.clientB).login();
    if (answer.status !== 200) throw new Error(`${who} can no longer log in: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
    return answer.body;
  }

  /** Whether A's token still works (a fuzzed logout, session delete or credential delete may have ended it). */
  async checkA(): Promise<void> {
    const answer = await http(`${this.urls.wallet}/user/session/account-info`, { token: this.userA.appToken });
    if (answer.status !== 200) this.staleA = true;
  }

  /** Reads everything of B and of the protected tenant, through B's own fresh login and the admin API. */
  async snapshot(): Promise<ProtectedSnapshot> {
    const login = await this.clientB.login();
    if (login.status !== 200) throw new Error(`B can no longer log in: ${login.status} ${JSON.stringify(login.body).slice(0, 300)}`);
    const token = login.body.appToken;
    const get = async (url: string, what: string) => expectStatus(await http(url, { token }), 200, what);
    const privateData = await get(`${this.urls.wallet}/user/session/private-data`, 'B private data');
    const account = (await get(`${this.urls.wallet}/user/session/account-info`, 'B account')).json as Record<string, unknown>;
    const sync = (await get(`${this.urls.wallet}/storage/vault/sync?limit=1000`, 'B sync')).json as { changes: unknown[]; hasMore: boolean };
    return {
      tenant: expectStatus(await this.admin('GET', `/admin/tenants/${PROTECTED_TENANT}`), 200, 'tenant beta').json,
      tenantUsers: expectStatus(await this.admin('GET', `/admin/tenants/${PROTECTED_TENANT}/users`), 200, 'users of beta').json,
      privateData: privateData.json,
      privateDataEtag: privateData.headers.get('x-private-data-etag'),
      account: { uuid: account['uuid'], displayName: account['displayName'] ?? account['display_name'] ?? null },
      // B's own login for this snapshot moves lastUseTime; everything else of a passkey must stay.
      credentials: ((await get(`${this.urls.wallet}/user/session/webauthn/credentials`, 'B passkeys')).json as { webauthnCredentials: Array<Record<string, unknown>> }).webauthnCredentials.map(
        ({ lastUseTime: _lastUse, ...rest }) => rest,
      ),
      vault: sync,
      vc: (await get(`${this.urls.wallet}/storage/vc`, 'B v1 credentials')).json,
    };
  }
}
