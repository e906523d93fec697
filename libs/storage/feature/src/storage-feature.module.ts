import { Module } from '@nestjs/common';

/**
 * The encrypted credential vault. Its routes (under `/storage`) arrive with the
 * storage issue; until then the service serves health and metrics only.
 */
@Module({})
export class StorageFeatureModule {}
