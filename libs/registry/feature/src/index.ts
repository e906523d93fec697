export * from './registry-feature.module';
export * from './type-metadata/verify-integrity';
export * from './type-metadata/type-metadata.resolver';
export * from './issuer-metadata/issuer-metadata.service';
export * from './local/local-type-metadata.store';
export * from './local/source-list.poller';
