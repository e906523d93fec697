// The vault's public surface; the byte helpers of vault-keys (b64, unb64, constantTimeEqual) stay internal.
export {
  DEFAULT_ARGON2_PARAMS,
  VAULT_KEY_NAMES,
  VaultCryptoError,
  decodeWrappedVaultKeySet,
  defaultRandomBytes,
  encodeWrappedVaultKeySet,
  generateVaultKeySet,
  masterKeyFor,
  passphraseMasterKey,
  prfMasterKey,
  rawMasterKey,
  rewrapVaultKeySet,
  unwrapVaultKeySet,
  wrapVaultKeySet,
  type Argon2Params,
  type MasterKey,
  type RandomBytes,
  type VaultKeySet,
  type WrappedVaultKeySet,
} from './vault-keys';
export { VaultRecordCipher, type EncryptedVaultRecord, type PlainVaultRecord } from './record-cipher';
export * from './vault-client';
