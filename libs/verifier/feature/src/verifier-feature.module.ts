import { Module } from '@nestjs/common';
import type { Cache } from '@wallet/cache';
import type { WalletConfig } from '@wallet/config';
import type { KeyRing } from '@wallet/crypto';
import { OutboundClient, OutboundModule, ServiceKeysModule, WALLET_CACHE, WALLET_CONFIG } from '@wallet/platform';
import { readFileSync } from 'node:fs';
import { createIssuerKeyResolver, outboundFetch, VERIFIER_FETCH, type VerifierFetch } from './issuer-keys';
import { VerifierFrontendController, VerifierTokenController } from './verifier.controllers';
import { VerifierCore } from './verifier.service';
import { VERIFIER_REQUEST_KEYS, VERIFIER_REQUEST_PURPOSE, VERIFIER_TOKEN_KEYS, VERIFIER_TOKEN_PURPOSE } from './verifier-keys';
import { VerifierJwksController } from './verifier-jwks.controller';
import { VerifierServices } from './verifier-services';
import { VerifierSessions } from './verifier-sessions';

/** The OpenID4VP relying party. Its routes are at the root of its own host. */
@Module({
  imports: [
    OutboundModule,
    ServiceKeysModule.forPurpose(VERIFIER_TOKEN_KEYS, VERIFIER_TOKEN_PURPOSE),
    ServiceKeysModule.forPurpose(VERIFIER_REQUEST_KEYS, VERIFIER_REQUEST_PURPOSE),
  ],
  controllers: [VerifierJwksController, VerifierFrontendController, VerifierTokenController],
  providers: [
    { provide: VERIFIER_FETCH, inject: [OutboundClient], useFactory: (client: OutboundClient) => outboundFetch(client) },
    {
      provide: VerifierServices,
      inject: [WALLET_CONFIG],
      useFactory: (config: WalletConfig) => VerifierServices.fromFile(config.verifier.servicesFile),
    },
    {
      provide: VerifierSessions,
      inject: [WALLET_CACHE, WALLET_CONFIG],
      useFactory: (cache: Cache, config: WalletConfig) =>
        new VerifierSessions(cache, { sessionMs: config.verifier.sessionTtlMs, codeMs: config.verifier.codeTtlMs }),
    },
    {
      provide: VerifierCore,
      inject: [WALLET_CONFIG, VerifierServices, VerifierSessions, VERIFIER_REQUEST_KEYS, VERIFIER_TOKEN_KEYS, VERIFIER_FETCH, WALLET_CACHE],
      useFactory: (
        config: WalletConfig,
        services: VerifierServices,
        sessions: VerifierSessions,
        requestKeys: KeyRing,
        tokenKeys: KeyRing,
        fetch: VerifierFetch,
        cache: Cache,
      ) => {
        const trustedRoots = config.verifier.trustedRootsFile ? [readFileSync(config.verifier.trustedRootsFile, 'utf8')] : [];
        const resolveIssuerKey = createIssuerKeyResolver({ trustedRoots, fetch });
        return new VerifierCore(config, services, sessions, requestKeys, tokenKeys, resolveIssuerKey, fetch, cache);
      },
    },
  ],
})
export class VerifierFeatureModule {}
