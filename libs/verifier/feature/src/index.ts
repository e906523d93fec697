export * from './verifier-feature.module';
export * from './verifier-keys';
