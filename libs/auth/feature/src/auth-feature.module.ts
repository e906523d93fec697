import { Module } from '@nestjs/common';
import { ServiceKeysModule } from '@wallet/platform';
import { AUTH_ACCESS_TOKEN_KEYS, AUTH_ACCESS_TOKEN_PURPOSE } from './auth-keys';
import { JwksController } from './jwks.controller';

/** Auth: passkey accounts, tokens and JWKS. Routes live under `/user` and `/auth`. */
@Module({
  imports: [ServiceKeysModule.forPurpose(AUTH_ACCESS_TOKEN_KEYS, AUTH_ACCESS_TOKEN_PURPOSE)],
  controllers: [JwksController],
})
export class AuthFeatureModule {}
