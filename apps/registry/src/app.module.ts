import { Module } from '@nestjs/common';
import { RegistryFeatureModule } from '@wallet/registry-feature';

@Module({ imports: [RegistryFeatureModule] })
export class RegistryAppModule {}
