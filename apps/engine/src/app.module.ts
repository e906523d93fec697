import { Module } from '@nestjs/common';
import { EngineFeatureModule } from '@wallet/engine-feature';

@Module({ imports: [EngineFeatureModule] })
export class EngineAppModule {}
