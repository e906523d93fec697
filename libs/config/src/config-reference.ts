import { CONFIG_FILE_ENV, describeConfig, describeConfigSections, type ConfigField } from './config-fields';
import { CONDITIONAL_RULES } from './config.schema';
import { REDACTED } from './redact-config';

/** Path of the generated reference, relative to the workspace root. */
export const CONFIG_REFERENCE_PATH = 'docs/configuration.md';

/** The YAML example shown in the reference (a test checks that it loads). */
export const EXAMPLE_CONFIG_YAML = `mode: production
dataDir: /var/lib/wallet
server:
  publicUrl: https://wallet.example.com
  trustProxy: true
  corsOrigins: [https://wallet.example.com]
storage:
  type: mongodb
  mongodb:
    database: wallet
cache:
  type: redis
  redis:
    keyPrefix: "wallet-prod:"
logging:
  level: info
crypto:
  signingAlg: ES256
`;

/** Secrets for the example, passed in the environment rather than the file. */
export const EXAMPLE_CONFIG_ENV = [
  'WALLET_SERVER_ADMIN_TOKEN=<at least 32 random characters>',
  'WALLET_STORAGE_MONGODB_URI=mongodb://wallet:<password>@mongo:27017/?authSource=admin',
  // Redis behind Sentinel; the passwords beside the URL, so the URL holds none.
  'WALLET_CACHE_REDIS_URL=redis+sentinel://redis-sentinel-0:26379,redis-sentinel-1:26379,redis-sentinel-2:26379/wallet',
  'WALLET_CACHE_REDIS_PASSWORD=<password>',
  'WALLET_CACHE_REDIS_SENTINEL_PASSWORD=<password>',
  'WALLET_CRYPTO_KEY_ENCRYPTION_KEY=<base64url of 32 random bytes>',
];

const escapeCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function renderType(field: ConfigField): string {
  if (field.type === 'enum') return `one of ${(field.allowed ?? []).map((v) => `\`${v}\``).join(', ')}`;
  if (field.type === 'string[]') return 'list of strings';
  const { minimum, maximum } = field;
  if (minimum !== undefined && maximum !== undefined) return `${field.type} (${minimum} to ${maximum})`;
  if (minimum !== undefined) return `${field.type} (>= ${minimum})`;
  if (maximum !== undefined) return `${field.type} (<= ${maximum})`;
  return field.type;
}

function renderDefault(value: unknown): string {
  if (value === undefined) return 'unset';
  if (Array.isArray(value)) return value.length === 0 ? 'empty' : `\`${value.join(',')}\``;
  if (value === '') return '`""`';
  return `\`${String(value)}\``;
}

function renderTable(fields: readonly ConfigField[]): string[] {
  return [
    '| Key | Environment variable | Type | Default | Secret | Description |',
    '| --- | --- | --- | --- | --- | --- |',
    ...fields.map((f) =>
      [
        '',
        ` \`${f.path}\` `,
        ` \`${f.env}\` `,
        ` ${escapeCell(renderType(f))} `,
        ` ${escapeCell(renderDefault(f.default))} `,
        f.secret ? ' yes ' : ' ',
        ` ${escapeCell(f.description)} `,
        '',
      ].join('|'),
    ),
  ];
}

/**
 * Renders `docs/configuration.md` from the schema: sources and precedence,
 * conditional requirements, secrets, an example and one table per section.
 * Pure; `tools/docs/generate-config-reference.ts` writes or checks the file.
 */
export function renderConfigReference(): string {
  const fields = describeConfig();
  const topSections = describeConfigSections().filter((s) => !s.path.includes('.'));
  const secretFields = fields.filter((f) => f.secret);

  const lines: string[] = [
    '<!-- Generated from libs/config by tools/docs/generate-config-reference.ts. Do not edit: run `npm run docs:config`. -->',
    '',
    '# Configuration reference',
    '',
    'Every service (auth, storage, engine, registry, admin, verifier) and the all-in-one launcher read the same',
    'configuration, defined by one zod schema (`zConfig` in `libs/config`, imported as `@wallet/config`). It is',
    'loaded and validated once at start by `loadConfig()`. An invalid or missing value stops the process with an',
    'error that names every bad key, both as a dotted path and as an environment variable, and says what is wrong.',
    'See [ADR 0004](adr/0004-configuration.md) for the reasoning.',
    '',
    '## Sources and precedence',
    '',
    'Later sources win:',
    '',
    '1. The defaults listed below.',
    `2. A YAML file, named by \`--config <file>\`, \`--config=<file>\` or the \`${CONFIG_FILE_ENV}\` environment variable`,
    '   (the flag wins). A relative path is resolved against the working directory.',
    '3. Environment variables: `WALLET_`, then the dotted path with each camelCase segment in UPPER_SNAKE case,',
    '   joined with `_`: `storage.mongodb.uri` is `WALLET_STORAGE_MONGODB_URI`, `allInOne.walletPort` is',
    '   `WALLET_ALL_IN_ONE_WALLET_PORT`.',
    '4. Command-line flags named by the dotted path: `--storage.type=mongodb` or `--storage.type mongodb`. A boolean',
    '   flag on its own (`--server.trustProxy`) means `true`.',
    '',
    'Environment variables and flags are strings, coerced to the type of the setting: numbers in decimal, booleans',
    'as `true`, `false`, `1` or `0`, lists as comma-separated values. An empty environment variable counts as unset.',
    'In the YAML file, values keep their YAML types, and `null` or an empty value leaves a setting at its default.',
    '',
    'Unknown keys in the YAML file and unknown flags are errors. Unknown `WALLET_*` environment variables are',
    'ignored and reported as warnings at start, with a suggestion when the name is close to a known one.',
    '',
    '## Conditional requirements',
    '',
    '| Setting | Requirement | When |',
    '| --- | --- | --- |',
    ...CONDITIONAL_RULES.map((r) => `| \`${r.path}\` | ${escapeCell(r.requirement)} | ${escapeCell(r.when)} |`),
    '',
    '## Secrets',
    '',
    `Secret settings (${secretFields.map((f) => `\`${f.path}\``).join(', ')}) are marked in the schema.`,
    `\`redactConfig()\` replaces them with \`"${REDACTED}"\` (or \`null\` when unset) before the configuration is`,
    'logged, and error messages never repeat their values. Pass them as environment variables from a secret',
    'store, or keep them in a YAML file that only the service user can read.',
    '',
    '## Example',
    '',
    '```yaml',
    ...EXAMPLE_CONFIG_YAML.trimEnd().split('\n'),
    '```',
    '',
    'with the secrets in the environment and a flag for one run:',
    '',
    '```sh',
    `export ${CONFIG_FILE_ENV}=/etc/wallet/config.yaml`,
    ...EXAMPLE_CONFIG_ENV.map((line) => `export ${line}`),
    'node main.js --logging.level=debug',
    '```',
    '',
    '## Settings',
    '',
    '### General',
    '',
    ...renderTable(fields.filter((f) => !f.path.includes('.'))),
  ];

  for (const section of topSections) {
    lines.push(
      '',
      `### \`${section.path}\``,
      '',
      section.description,
      '',
      ...renderTable(fields.filter((f) => f.path.startsWith(`${section.path}.`))),
    );
  }
  lines.push('');
  return lines.join('\n');
}
