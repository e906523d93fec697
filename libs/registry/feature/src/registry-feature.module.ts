import { Module } from '@nestjs/common';

/**
 * Type and issuer metadata with trust results. Its routes (under `/registry`)
 * arrive with the registry issue; until then it serves health and metrics only.
 */
@Module({})
export class RegistryFeatureModule {}
