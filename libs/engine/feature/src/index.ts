export * from './engine-feature.module';
export * from './engine.tokens';
export * from './guarded-fetch';
export * from './registry-client';
export * from './cluster-bridge';
export * from './wallet.gateway';
export * from './deferred-poller';
