import { Module } from '@nestjs/common';
import { AuthFeatureModule } from '@wallet/auth-feature';

@Module({ imports: [AuthFeatureModule] })
export class AuthAppModule {}
