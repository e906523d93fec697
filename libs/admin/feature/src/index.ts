export * from './admin-feature.module';
