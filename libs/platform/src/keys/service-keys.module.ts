import { Logger, Module, type DynamicModule, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { WalletConfig } from '@wallet/config';
import type { KeyRing, SigningAlg } from '@wallet/crypto';
import type { Store } from '@wallet/persistence';
import { WALLET_CONFIG, WALLET_STORE } from '../tokens';
import { openServiceKeyRing, type KeyRingTimings } from './service-key-ring';

/** Starts the ring's periodic re-read with the application and stops it on shutdown. */
class KeyRingRefresher implements OnModuleInit, OnModuleDestroy {
  constructor(private readonly ring: KeyRing) {}

  onModuleInit(): void {
    this.ring.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.ring.stop();
  }
}

/**
 * Provides a loaded `KeyRing` for one purpose under `token`. Every replica
 * re-reads it periodically (`keyRingTimings`: a tenth of the rotation interval,
 * 1 s to 1 h, unless `timings` says otherwise); creation and rotation are
 * compare-and-set in the store, so replicas agree on the keys (ADR 0014).
 */
@Module({})
export class ServiceKeysModule {
  /** `alg`: the algorithm of keys this ring creates (default `crypto.signingAlg`). */
  static forPurpose(token: symbol, purpose: string, timings?: KeyRingTimings, alg?: (config: WalletConfig) => SigningAlg): DynamicModule {
    const refresher = Symbol(`${purpose}-refresher`);
    const logger = new Logger('service-keys');
    return {
      module: ServiceKeysModule,
      providers: [
        {
          provide: token,
          inject: [WALLET_STORE, WALLET_CONFIG],
          useFactory: (store: Store, config: WalletConfig) =>
            openServiceKeyRing(store, config, purpose, undefined, alg?.(config), timings, (error: unknown) => {
              // The ring keeps serving its last view; the message names the purpose and the cause, never key material.
              logger.warn({ msg: 'key ring refresh failed', purpose, error: error instanceof Error ? error.message : 'unknown' });
            }),
        },
        { provide: refresher, inject: [token], useFactory: (ring: KeyRing) => new KeyRingRefresher(ring) },
      ],
      exports: [token],
    };
  }
}
