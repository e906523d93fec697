import {
  ClusterClient,
  createTestPki,
  LocalCluster,
  localClusterMissing,
  newAuthenticator,
  startTestIssuer,
  startTestPdp,
  type TestIssuer,
  type TestPdp,
  type TestPki,
} from '@wallet/testing';
import {
  AuthClient,
  EngineClient,
  generateVaultKeySet,
  VaultClient,
  type AuthenticationResponseJSON,
  type EngineClientOptions,
  type RegistrationResponseJSON,
  type VaultKeySet,
  type WebAuthnPort,
} from '@wallet/wallet-client';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type WebAuthnEmulator from 'nid-webauthn-emulator';
import { ISSUER, servicesYaml } from '../verifier/verifier-fixtures';

/**
 * The local cluster (libs/testing/src/cluster: the chart rendered, every
 * service twice as processes of their own, nginx in front, its own Redis and
 * FerretDB) for the tests of e2e/src/cluster, with the peers they need on
 * loopback: an OpenID4VCI issuer and an AuthZEN PDP for the engine (allowed
 * through the chart's `config`), the verifier's relying-party services and
 * trusted roots (through the chart's `files`). Clients reach the services
 * through the proxy only.
 */

/**
 * Base ports of the test files' clusters, 100 apart (each uses B..B+46), clear
 * of `npm run cluster` (18400-18446): a file may run beside another in a
 * second Jest worker. `WALLET_CLUSTER_TEST_BASE_PORT` moves them (18500 by
 * default, at most 18800), e.g. for a second checkout on the same machine.
 */
const testBase = Number(process.env['WALLET_CLUSTER_TEST_BASE_PORT'] ?? 18500);
if (!Number.isInteger(testBase) || testBase < 18000 || testBase > 18800) throw new Error('WALLET_CLUSTER_TEST_BASE_PORT must be from 18000 to 18800');
export const TEST_BASE_PORTS = { proxy: testBase, disruption: testBase + 100 } as const;

export { localClusterMissing };

export interface ClusterHarness {
  cluster: LocalCluster;
  issuer: TestIssuer;
  pdp: TestPdp;
  /** The PKI whose leaf signs the verifier tests' SD-JWT credentials (issuer ISSUER). */
  issuerPki: TestPki;
  /** What the cluster printed while starting. */
  log: string[];
  /** The WebAuthn origin of the wallet host (the front end's origin). */
  origin: string;
  stop(): Promise<void>;
}

export async function startClusterHarness(basePort: number): Promise<ClusterHarness> {
  const log: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'wallet-cluster-e2e-'));
  const issuer = await startTestIssuer({ dpop: 'nonce' });
  const pdp = await startTestPdp((query) => query.subject.id === issuer.url);
  const issuerPki = createTestPki({ leafSan: `URI:${ISSUER}` });
  const services = readFileSync(servicesYaml(dir, issuerPki.rootPem), 'utf8');
  let cluster: LocalCluster;
  try {
    cluster = await LocalCluster.start({
      basePort,
      log: (message) => log.push(message),
      values: {
        setJson: {
          // The engine fetches from the test issuer and asks the test PDP, both on loopback over http.
          config: {
            WALLET_OUTBOUND_ALLOW_HTTP: 'true',
            WALLET_OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8',
            WALLET_TRUST_PDP_URL: pdp.url,
            WALLET_TRUST_PDP_ALLOW_HTTP: 'true',
            WALLET_TRUST_PDP_ALLOW_CIDRS: '127.0.0.0/8',
          },
          'files.verifierServices.content': services,
          'files.verifierTrustedRoots.content': issuerPki.rootPem,
        },
      },
    });
  } catch (error) {
    await Promise.all([issuer.close(), pdp.close()]);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    cluster,
    issuer,
    pdp,
    issuerPki,
    log,
    origin: cluster.urls.wallet,
    async stop() {
      await cluster.stop();
      await Promise.all([issuer.close(), pdp.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A software authenticator as a front end's WebAuthn port, at the wallet host's origin. */
export function webauthnAt(origin: string, authenticator: WebAuthnEmulator = newAuthenticator()): WebAuthnPort & { authenticator: WebAuthnEmulator } {
  return {
    authenticator,
    create: async (options) => authenticator.createJSON(origin, options as never) as unknown as RegistrationResponseJSON,
    get: async (options) => authenticator.getJSON(origin, options as never) as unknown as AuthenticationResponseJSON,
  };
}

/** One user of the wallet front end: a client address, a passkey, an auth session, a vault. */
export interface WalletUser {
  client: ClusterClient;
  webauthn: ReturnType<typeof webauthnAt>;
  auth: AuthClient;
  keys: VaultKeySet;
  vault: VaultClient;
}

/** A user's device; `from`: another device of the same user (its passkey and vault keys, as a synced passkey and keystore would give). */
export function walletUser(h: ClusterHarness, address: string, from?: Pick<WalletUser, 'webauthn' | 'keys'>): WalletUser {
  const client = new ClusterClient(address);
  const webauthn = webauthnAt(h.origin, from?.webauthn.authenticator);
  const auth = new AuthClient({ baseUrl: h.cluster.urls.wallet, webauthn, fetch: client.fetch });
  const keys = from?.keys ?? generateVaultKeySet();
  const vault = new VaultClient({ baseUrl: h.cluster.urls.wallet, accessToken: auth.accessToken, keys, fetch: client.fetch });
  return { client, webauthn, auth, keys, vault };
}

/** An engine client through the proxy (ws://wallet.localhost:<port>/api/v2/wallet); `onSocket` hears the replica of each connection. */
export function engineClientFor(
  h: ClusterHarness,
  user: { client: ClusterClient; auth: AuthClient },
  handlers: EngineClientOptions['handlers'],
  options: { onSocket?: (upstream: string) => void; reconnect?: EngineClientOptions['reconnect'] } = {},
): EngineClient {
  return new EngineClient({
    url: `${h.cluster.urls.wallet.replace(/^http/, 'ws')}/api/v2/wallet`,
    WebSocket: user.client.webSocketClass(options.onSocket) as unknown as NonNullable<EngineClientOptions['WebSocket']>,
    getToken: user.auth.accessToken,
    handlers,
    reconnect: options.reconnect ?? { attempts: 8, baseDelayMs: 100, maxDelayMs: 1000 },
  });
}
