export * from './ports';
export { createStore } from './create-store';
export { Collections, type CollectionName } from './collections';
export { DEFAULT_LIMIT, MAX_LIMIT } from './collection-plan';
export * from './vault/vault-ports';
export { vaultTombstonesJob, type VaultTombstonesJobConfig, type VaultTombstonesJobContext, type VaultTombstonesResult } from './vault/vault-tombstones.job';
export { encodeVaultArchive, decodeVaultArchive, type VaultArchive, type VaultArchiveHeader } from './vault/vault-archive';
export { eraseUserData, userDataErasers, userOwnedCollections, type UserDataEraser } from './user-data';
