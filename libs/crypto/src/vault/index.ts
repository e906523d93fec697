export * from './vault-keys';
export * from './record-cipher';
