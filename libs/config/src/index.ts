/**
 * `@wallet/config`: the one configuration schema of every service, its
 * loader (defaults < YAML file < `WALLET_*` environment < flags), redaction
 * for logging and the field list the docs are generated from.
 */
export { zConfig, CONDITIONAL_RULES } from './config.schema';
export type { WalletConfig, WalletConfigInput, ConfigMeta, ConditionalRule } from './config.schema';
export { ConfigError } from './config-error';
export type { ConfigIssue } from './config-error';
export { ENV_PREFIX, CONFIG_FILE_ENV, toEnvName, describeConfig, describeConfigSections } from './config-fields';
export type { ConfigField, ConfigFieldType, ConfigSection } from './config-fields';
export { loadConfig, parseConfig } from './load-config';
export type { LoadConfigOptions, LoadedConfig, ConfigSource } from './load-config';
export { redactConfig, REDACTED } from './redact-config';
export { resolveSqlitePath } from './resolve-sqlite-path';
export { renderConfigReference, CONFIG_REFERENCE_PATH } from './config-reference';
