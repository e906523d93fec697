import { Module } from '@nestjs/common';
import { StorageFeatureModule } from '@wallet/storage-feature';

@Module({ imports: [StorageFeatureModule] })
export class StorageAppModule {}
