export * from './registry-feature.module';
