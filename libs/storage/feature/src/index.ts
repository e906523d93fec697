export * from './storage-feature.module';
export { VAULT_STORE } from './vault-http';
export { VAULT_ARCHIVE_CONTENT_TYPE } from './vault.controller';
export { vaultTombstonesJob } from './vault-tombstones.job';
