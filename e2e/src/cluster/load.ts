import { clientAddresses, ClusterClient, statusOf, type LocalCluster } from '@wallet/testing';
import { createKeyring, VaultConflictError, VaultError } from '@wallet/wallet-client';
import { engineClientFor, type ClusterHarness, type WalletUser } from './harness';

/**
 * Load for the disruption tests, through the proxy only, as real clients
 * behave: every request that fails for a reason a client cannot tell from
 * a lost connection (no answer, 502, 503, 504) is tried again, a few times,
 * with a short back-off. A vault write is acknowledged when the client got
 * its 2xx, or, after an answer was lost, when reading the record back shows
 * the client's own content (the first attempt was applied). Counts: every
 * attempt, the failed ones by reason, the operations that gave up, and the
 * acknowledged writes, which the tests read back afterwards.
 */

export type LoadKind = 'vault-write' | 'auth-read' | 'auth-ceremony' | 'registry-read' | 'verifier-session' | 'engine-handshake' | 'admin-read';

export interface KindStats {
  operations: number;
  attempts: number;
  /** Failed attempts by reason: an HTTP status, `network` (no answer) or `other`. */
  failures: Record<string, number>;
  /** Operations that still failed after every retry. */
  gaveUp: number;
  /** Operations that succeeded only after a retry. */
  retried: number;
}

export interface LoadResult {
  kinds: Record<LoadKind, KindStats>;
  /** Vault record id -> its acknowledged content, per user. */
  acknowledged: Array<Map<string, string>>;
  /** Writes acknowledged by reading them back after a lost answer. */
  acknowledgedOnReadBack: number;
  durationMs: number;
}

const RETRIES = 6;
const retryable = (status: number) => status === 0 || status === 502 || status === 503 || status === 504;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const bytes = (value: string) => new Uint8Array(Buffer.from(value, 'utf8'));
export const text = (value: Uint8Array) => Buffer.from(value).toString('utf8');

function emptyStats(): KindStats {
  return { operations: 0, attempts: 0, failures: {}, gaveUp: 0, retried: 0 };
}

/** The status of a failed client call: the HTTP status when it had one, 0 for no answer. */
function statusOfError(error: unknown): number {
  if (error instanceof VaultError) return error.status;
  if (error && typeof error === 'object' && 'status' in error && typeof (error as { status: unknown }).status === 'number') return (error as { status: number }).status;
  return 0;
}

export class Load {
  readonly stats: Record<LoadKind, KindStats> = {
    'vault-write': emptyStats(),
    'auth-read': emptyStats(),
    'auth-ceremony': emptyStats(),
    'registry-read': emptyStats(),
    'verifier-session': emptyStats(),
    'engine-handshake': emptyStats(),
    'admin-read': emptyStats(),
  };
  readonly acknowledged: Array<Map<string, string>>;
  acknowledgedOnReadBack = 0;
  private running = false;
  private workers: Promise<void>[] = [];
  private started = 0;
  private readonly reader: ClusterClient;
  /** Passkey ceremonies come from many addresses, under auth's per-address rate limit (30 a minute). */
  private readonly ceremonyClients = clientAddresses(40, 150).map((address) => new ClusterClient(address));
  private ceremonies = 0;

  constructor(
    private readonly h: ClusterHarness,
    private readonly writers: WalletUser[],
    readerAddress: string,
    private readonly label: string,
  ) {
    this.acknowledged = writers.map(() => new Map());
    this.reader = new ClusterClient(readerAddress);
  }

  get cluster(): LocalCluster {
    return this.h.cluster;
  }

  start(): void {
    this.running = true;
    this.started = Date.now();
    this.workers = [
      ...this.writers.map((user, u) => this.writerLoop(user, u)),
      // An authenticated read: the token's revocation check (Redis) and the account (the store).
      this.loop('auth-read', async () => {
        const token = await this.writers[0]!.auth.accessToken();
        return (await this.reader.get(`${this.cluster.urls.wallet}/user/session/account-info`, { authorization: `Bearer ${token}` })).status;
      }),
      // The start of a passkey registration: a challenge kept in Redis.
      this.loop('auth-ceremony', async () => {
        const client = this.ceremonyClients[this.ceremonies++ % this.ceremonyClients.length]!;
        return (await client.request('POST', `${this.cluster.urls.wallet}/user/register-webauthn-begin`, { json: {} })).status;
      }),
      this.loop('registry-read', async () => {
        const answer = await this.reader.get(`${this.cluster.urls.wallet}/registry/issuer-metadata?issuer=${encodeURIComponent(this.h.issuer.url)}`);
        return answer.status;
      }),
      this.loop('verifier-session', async () => (await this.reader.get(`${this.cluster.urls.verifier}/api/v1/startsiop?client_id=shop&state=load`)).status),
      this.loop('admin-read', async () => {
        // The admin API has no Ingress route: in-cluster callers use its Service.
        const response = await fetch(`${this.cluster.serviceUrl('admin')}/admin/tenants`, { headers: { authorization: `Bearer ${this.cluster.adminToken}` } });
        await response.arrayBuffer();
        return response.status;
      }),
      this.loop('engine-handshake', async () => {
        const engine = engineClientFor(this.h, this.writers[0]!, { sign: createKeyring().sign }, { reconnect: { attempts: 1, baseDelayMs: 50, maxDelayMs: 50 } });
        try {
          await engine.connect();
          return 200;
        } catch {
          return 0;
        } finally {
          await engine.close();
        }
      }),
    ];
  }

  async stop(): Promise<LoadResult> {
    this.running = false;
    await Promise.all(this.workers);
    await Promise.all([this.reader, ...this.ceremonyClients].map((client) => client.close()));
    return { kinds: this.stats, acknowledged: this.acknowledged, acknowledgedOnReadBack: this.acknowledgedOnReadBack, durationMs: Date.now() - this.started };
  }

  /** One kind of request, again and again, each with retries; `call` returns the HTTP status (0: no answer). */
  private async loop(kind: LoadKind, call: () => Promise<number>): Promise<void> {
    const stats = this.stats[kind];
    while (this.running) {
      stats.operations += 1;
      let done = false;
      for (let attempt = 0; attempt < RETRIES && !done; attempt++) {
        stats.attempts += 1;
        let status: number;
        try {
          status = await call();
        } catch {
          status = 0;
        }
        if (status >= 200 && status < 300) {
          done = true;
          if (attempt > 0) stats.retried += 1;
        } else {
          const reason = status === 0 ? 'network' : String(status);
          stats.failures[reason] = (stats.failures[reason] ?? 0) + 1;
          if (!retryable(status)) break;
          await sleep(100 * (attempt + 1));
        }
      }
      if (!done) stats.gaveUp += 1;
      await sleep(20);
    }
  }

  /** Vault writes of one user: new records `<label>-<user>-<n>`, each retried until acknowledged. */
  private async writerLoop(user: WalletUser, u: number): Promise<void> {
    const stats = this.stats['vault-write'];
    for (let n = 0; this.running; n++) {
      const id = `${this.label}-${u}-${n}`;
      const content = `${id} written at ${Date.now()}`;
      stats.operations += 1;
      let done = false;
      let lostAnswer = false;
      for (let attempt = 0; attempt < RETRIES && !done; attempt++) {
        stats.attempts += 1;
        try {
          await user.vault.put({ id, category: 'credential', tags: { load: this.label }, value: bytes(content) }, { version: 'new' });
          done = true;
        } catch (error) {
          const status = error instanceof VaultConflictError ? 409 : statusOfError(error);
          if (status === 409 && lostAnswer) {
            // An earlier attempt was applied and its answer lost: the record must hold this content.
            const stored = await user.vault.get(id).catch(() => null);
            if (stored && text(stored.value) === content) {
              done = true;
              this.acknowledgedOnReadBack += 1;
              break;
            }
          }
          const reason = status === 0 ? 'network' : String(status);
          stats.failures[reason] = (stats.failures[reason] ?? 0) + 1;
          if (!retryable(status)) break;
          lostAnswer = true;
          await sleep(100 * (attempt + 1));
        }
      }
      if (done) {
        this.acknowledged[u]!.set(id, content);
        if (lostAnswer) stats.retried += 1;
      } else stats.gaveUp += 1;
    }
  }
}

/** Readiness of every replica, called on the replica itself (as the kubelet does). */
export async function readiness(cluster: LocalCluster): Promise<Record<string, number>> {
  const entries = await Promise.all(cluster.replicas.map(async (r) => [r.name, await statusOf(`${r.url}${r.deployment.readinessPath}`, { timeoutMs: 4000 })] as const));
  return Object.fromEntries(entries);
}

/** A line per kind, for the test output and docs/deployment.md. */
export function describeLoad(title: string, result: LoadResult): string {
  const lines = [`${title} (${(result.durationMs / 1000).toFixed(1)} s):`];
  for (const [kind, s] of Object.entries(result.kinds)) {
    const failed = Object.values(s.failures).reduce((a, b) => a + b, 0);
    const rate = s.attempts ? ((100 * failed) / s.attempts).toFixed(1) : '0.0';
    lines.push(
      `  ${kind.padEnd(17)} ${String(s.operations).padStart(5)} operations, ${String(s.attempts).padStart(5)} attempts, ${String(failed).padStart(4)} failed (${rate}%: ${JSON.stringify(s.failures)}), ${s.retried} succeeded on a retry, ${s.gaveUp} gave up`,
    );
  }
  const acked = result.acknowledged.reduce((a, m) => a + m.size, 0);
  lines.push(`  acknowledged vault writes: ${acked} (${result.acknowledgedOnReadBack} confirmed by reading back after a lost answer)`);
  return lines.join('\n');
}
