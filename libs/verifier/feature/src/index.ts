export * from './verifier-feature.module';
export * from './verifier-keys';
export * from './relying-party-registry';
export * from './issuer-keys';
