import { Module } from '@nestjs/common';
import { ServiceKeysModule } from '@wallet/platform';
import { VERIFIER_TOKEN_KEYS, VERIFIER_TOKEN_PURPOSE } from './verifier-keys';
import { VerifierJwksController } from './verifier-jwks.controller';

/** The OpenID4VP relying party. Its routes are at the root of its own host. */
@Module({
  imports: [ServiceKeysModule.forPurpose(VERIFIER_TOKEN_KEYS, VERIFIER_TOKEN_PURPOSE)],
  controllers: [VerifierJwksController],
})
export class VerifierFeatureModule {}
