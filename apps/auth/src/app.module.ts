import { Module } from '@nestjs/common';
import { AuthFeatureModule } from '@wallet/auth-feature';
import { PublicConfigModule } from '@wallet/public-config';

@Module({ imports: [AuthFeatureModule, PublicConfigModule] })
export class AuthAppModule {}
