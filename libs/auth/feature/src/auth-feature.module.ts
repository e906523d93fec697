import { Module } from '@nestjs/common';
import type { Cache } from '@wallet/cache';
import type { WalletConfig } from '@wallet/config';
import type { KeyRing } from '@wallet/crypto';
import type { Store } from '@wallet/persistence';
import {
  AccessTokenRevocations,
  AuditLog,
  ServiceKeysModule,
  TenantDirectory,
  WALLET_CACHE,
  WALLET_CONFIG,
  WALLET_STORE,
  ServiceApi,
} from '@wallet/platform';
import { AccountService } from './account.service';
import { AUTH_ACCESS_TOKEN_KEYS, AUTH_ACCESS_TOKEN_PURPOSE } from './auth-keys';
import { ChallengeStore } from './challenge-store';
import { InviteService } from './invite.service';
import { JwksController } from './jwks.controller';
import { PasskeyCeremonyService } from './passkey-ceremony.service';
import { SessionController } from './session.controller';
import { TokenController } from './token.controller';
import { TokenService } from './token.service';
import { UserAuthController } from './user-auth.controller';

/** Auth: passkey accounts, tokens and JWKS. Routes live under `/user` and `/auth`. */
@ServiceApi('auth')
@Module({
  imports: [ServiceKeysModule.forPurpose(AUTH_ACCESS_TOKEN_KEYS, AUTH_ACCESS_TOKEN_PURPOSE)],
  controllers: [JwksController, UserAuthController, SessionController, TokenController],
  providers: [
    { provide: AuditLog, inject: [WALLET_STORE], useFactory: (store: Store) => new AuditLog(store) },
    {
      provide: ChallengeStore,
      inject: [WALLET_CACHE, WALLET_CONFIG],
      useFactory: (cache: Cache, config: WalletConfig) => new ChallengeStore(cache, config.auth.challengeTtlMs),
    },
    {
      provide: TokenService,
      inject: [WALLET_STORE, AUTH_ACCESS_TOKEN_KEYS, AccessTokenRevocations, AuditLog, WALLET_CONFIG, TenantDirectory],
      useFactory: (store: Store, ring: KeyRing, revocations: AccessTokenRevocations, audit: AuditLog, config: WalletConfig, tenants: TenantDirectory) =>
        new TokenService(store, ring, revocations, audit, config, tenants),
    },
    { provide: InviteService, inject: [WALLET_STORE], useFactory: (store: Store) => new InviteService(store) },
    {
      provide: AccountService,
      inject: [WALLET_STORE, TokenService, AuditLog],
      useFactory: (store: Store, tokens: TokenService, audit: AuditLog) => new AccountService(store, tokens, audit),
    },
    {
      provide: PasskeyCeremonyService,
      inject: [WALLET_CONFIG, ChallengeStore, AccountService, TokenService, InviteService, TenantDirectory, AuditLog],
      useFactory: (
        config: WalletConfig,
        challenges: ChallengeStore,
        accounts: AccountService,
        tokens: TokenService,
        invites: InviteService,
        tenants: TenantDirectory,
        audit: AuditLog,
      ) => new PasskeyCeremonyService({ config, challenges, accounts, tokens, invites, tenants, audit }),
    },
  ],
})
export class AuthFeatureModule {}
