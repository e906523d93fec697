export * from './verifier-feature.module';
export * from './verifier-keys';
export * from './verifier-services';
export * from './issuer-keys';
