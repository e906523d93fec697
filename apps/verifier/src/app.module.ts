import { Module } from '@nestjs/common';
import { VerifierFeatureModule } from '@wallet/verifier-feature';

@Module({ imports: [VerifierFeatureModule] })
export class VerifierAppModule {}
