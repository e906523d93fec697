export * from './auth-feature.module';
export * from './auth-keys';
