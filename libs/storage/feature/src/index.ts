export * from './storage-feature.module';
