import { Module, type DynamicModule, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { WalletConfig } from '@wallet/config';
import type { KeyRing, SigningAlg } from '@wallet/crypto';
import type { Store } from '@wallet/persistence';
import { Logger } from '@nestjs/common';
import { WALLET_CONFIG, WALLET_STORE } from '../tokens';
import { openServiceKeyRing } from './service-key-ring';

/** Re-reads the key ring now and then, so every replica picks up rotations and rotates on schedule. */
class KeyRingRefresher implements OnModuleInit, OnModuleDestroy {
  private timer: NodeJS.Timeout | null = null;
  private readonly logger = new Logger('service-keys');

  constructor(
    private readonly ring: KeyRing,
    private readonly intervalMs: number,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => {
      this.ring.refresh().catch((error: unknown) => {
        this.logger.warn({ msg: 'key ring refresh failed', error: error instanceof Error ? error.message : 'unknown' });
      });
    }, this.intervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/**
 * Provides a loaded `KeyRing` for one purpose under `token`, refreshed every
 * `refreshMs` (default: an hour, or a tenth of the rotation interval if shorter).
 */
@Module({})
export class ServiceKeysModule {
  /** `alg`: the algorithm of keys this ring creates (default `crypto.signingAlg`). */
  static forPurpose(token: symbol, purpose: string, refreshMs?: number, alg?: (config: WalletConfig) => SigningAlg): DynamicModule {
    const refresher = Symbol(`${purpose}-refresher`);
    return {
      module: ServiceKeysModule,
      providers: [
        {
          provide: token,
          inject: [WALLET_STORE, WALLET_CONFIG],
          useFactory: (store: Store, config: WalletConfig) => openServiceKeyRing(store, config, purpose, undefined, alg?.(config)),
        },
        {
          provide: refresher,
          inject: [token, WALLET_CONFIG],
          useFactory: (ring: KeyRing, config: WalletConfig) =>
            new KeyRingRefresher(ring, refreshMs ?? Math.min(3_600_000, Math.max(1000, config.crypto.keyRotationIntervalMs / 10))),
        },
      ],
      exports: [token],
    };
  }
}

