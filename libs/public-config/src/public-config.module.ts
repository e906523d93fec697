import { Module } from '@nestjs/common';
import { ServiceApi } from '@wallet/platform';
import { PublicConfigController } from './public-config.controller';

/**
 * `GET /tenant/:id/config`, `GET /issuer/all`, `GET /verifier/all` (and their
 * `/t/{tenant}/...` forms): public read-only configuration, imported by the
 * auth service and the all-in-one wallet server.
 */
@ServiceApi('auth')
@Module({ controllers: [PublicConfigController] })
export class PublicConfigModule {}
