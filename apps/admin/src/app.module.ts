import { Module } from '@nestjs/common';
import { AdminFeatureModule } from '@wallet/admin-feature';

@Module({ imports: [AdminFeatureModule] })
export class AdminAppModule {}
