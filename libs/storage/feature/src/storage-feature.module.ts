import { Inject, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { WalletConfig } from '@wallet/config';
import type { Store } from '@wallet/persistence';
import { WALLET_CONFIG, WALLET_STORE, ServiceApi } from '@wallet/platform';
import type { FastifyInstance } from 'fastify';
import { KeystoreAccess } from './keystore-access';
import { StorageV1Controller } from './storage-v1.controller';
import { VAULT_STORE } from './vault-http';
import { VAULT_ARCHIVE_CONTENT_TYPE, VaultController } from './vault.controller';

/**
 * The encrypted credential vault (`/storage/vault/...`) and the v1 routes
 * (`/storage/vc`, `/storage/vp`), both on the store's `VaultStore` with the
 * `vault.*` limits. See docs/vault.md.
 */
@ServiceApi('storage')
@Module({
  controllers: [VaultController, StorageV1Controller],
  providers: [
    KeystoreAccess,
    {
      provide: VAULT_STORE,
      inject: [WALLET_STORE, WALLET_CONFIG],
      useFactory: (store: Store, config: WalletConfig) => store.vault(config.vault),
    },
  ],
})
export class StorageFeatureModule implements OnModuleInit {
  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(WALLET_CONFIG) private readonly config: WalletConfig,
  ) {}

  /** Import archives arrive as `application/x-ndjson`, with their own size limit (`vault.maxArchiveBytes`). */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify || fastify.hasContentTypeParser(VAULT_ARCHIVE_CONTENT_TYPE)) return;
    const limit = this.config.vault.maxArchiveBytes;
    fastify.addContentTypeParser(VAULT_ARCHIVE_CONTENT_TYPE, { parseAs: 'string', bodyLimit: limit }, (_request, body, done) => {
      done(null, body);
    });
  }
}
