import { AdminFeatureModule } from '@wallet/admin-feature';
import { AuthFeatureModule } from '@wallet/auth-feature';
import { EngineFeatureModule } from '@wallet/engine-feature';
import type { ServerSpec } from '@wallet/platform';
import { PublicConfigModule } from '@wallet/public-config';
import { RegistryFeatureModule } from '@wallet/registry-feature';
import { StorageFeatureModule } from '@wallet/storage-feature';
import { VerifierFeatureModule } from '@wallet/verifier-feature';

/**
 * The all-in-one's servers: the four wallet-facing services share the wallet
 * port (their routes carry distinct path prefixes), the admin API and the
 * verifier have their own ports; the admin API listens on loopback only
 * unless `allInOne.adminHost` says otherwise. Every service app composes the same feature
 * modules, so walking these walks every route of every app.
 */
export const ALL_IN_ONE_SERVERS: ServerSpec[] = [
  {
    info: { name: 'wallet', services: ['auth', 'storage', 'engine', 'registry'] },
    imports: [AuthFeatureModule, StorageFeatureModule, EngineFeatureModule, RegistryFeatureModule, PublicConfigModule],
    port: (config) => config.allInOne.walletPort,
    portKey: 'allInOne.walletPort',
    websockets: true,
  },
  {
    info: { name: 'admin', services: ['admin'] },
    imports: [AdminFeatureModule],
    port: (config) => config.allInOne.adminPort,
    portKey: 'allInOne.adminPort',
    // Loopback unless configured otherwise: the admin API must not face the network by accident.
    listenHost: (config) => config.allInOne.adminHost,
    hostKey: 'allInOne.adminHost',
  },
  {
    info: { name: 'verifier', services: ['verifier'] },
    imports: [VerifierFeatureModule],
    port: (config) => config.allInOne.verifierPort,
    portKey: 'allInOne.verifierPort',
  },
];
