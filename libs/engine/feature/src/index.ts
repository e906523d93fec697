export * from './engine-feature.module';
export * from './wallet-messages';
