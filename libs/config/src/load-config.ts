import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './config-error';
import { CONFIG_FILE_ENV, ENV_PREFIX, FIELD_INDEX, suggestName, type ConfigField } from './config-fields';
import { withDerivedDefaults, zConfig, type WalletConfig } from './config.schema';

/** Where a setting's value came from. Later sources win: default < file < env < flag. */
export type ConfigSource = 'default' | 'file' | 'env' | 'flag';

export interface LoadConfigOptions {
  /** Command-line arguments after the script name. Default: `process.argv.slice(2)`. */
  argv?: readonly string[];
  /** Environment. Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Directory a relative `--config` / `WALLET_CONFIG` path is resolved against. Default: `process.cwd()`. */
  cwd?: string;
}

export interface LoadedConfig {
  /** The validated configuration, deeply frozen. */
  config: WalletConfig;
  /** For every setting (dotted path), the source its value came from. */
  sources: Record<string, ConfigSource>;
  /** Absolute path of the YAML file that was read, if any. */
  configFile: string | undefined;
  /**
   * Things worth logging at start that do not stop it: unknown `WALLET_*`
   * variables (ignored), risky production settings. Never contain secret values.
   */
  warnings: string[];
}

/** A value for one setting, before validation. */
interface RawValue {
  value: unknown;
  source: ConfigSource;
  /** For error messages: `flag --storage.type`, `the environment`, `file /etc/wallet.yaml`. */
  origin: string;
}

type RawValues = Map<string, RawValue>;

const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = { true: true, '1': true, false: false, '0': false };
const NUMBER_PATTERN = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function issueFor(field: ConfigField, message: string, origin?: string): ConfigIssue {
  return { path: field.path, env: field.env, message, ...(origin === undefined ? {} : { origin }) };
}

/** Shows a rejected value in a message, unless the setting is secret. */
function shown(field: ConfigField, raw: string): string {
  if (field.secret) return '';
  const text = raw.length > 64 ? `${raw.slice(0, 64)}...` : raw;
  return `, got ${JSON.stringify(text)}`;
}

/**
 * Coerces an environment or flag string to the setting's type. Range and
 * enum checks are left to the schema, so every source gets the same messages.
 */
function coerce(field: ConfigField, raw: string): { ok: true; value: unknown } | { ok: false; message: string } {
  switch (field.type) {
    case 'string':
    case 'enum':
      return { ok: true, value: raw };
    case 'integer':
    case 'number': {
      const trimmed = raw.trim();
      if (!NUMBER_PATTERN.test(trimmed)) {
        return { ok: false, message: `expected ${field.type === 'integer' ? 'an integer' : 'a number'}${shown(field, raw)}` };
      }
      return { ok: true, value: Number(trimmed) };
    }
    case 'boolean': {
      const word = raw.trim().toLowerCase();
      const value = Object.hasOwn(BOOLEAN_WORDS, word) ? BOOLEAN_WORDS[word] : undefined;
      if (value === undefined) return { ok: false, message: `expected true, false, 1 or 0${shown(field, raw)}` };
      return { ok: true, value };
    }
    case 'string[]':
      return {
        ok: true,
        value: raw
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== ''),
      };
  }
}

interface ParsedArgv {
  configFile: string | undefined;
  values: RawValues;
}

function parseArgv(argv: readonly string[], issues: ConfigIssue[]): ParsedArgv {
  const values: RawValues = new Map();
  let configFile: string | undefined;
  /** The argument after `i` when it is a value rather than another flag. */
  const valueAfter = (i: number): string | undefined => {
    const next = argv[i + 1];
    return next !== undefined && !next.startsWith('--') ? next : undefined;
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === undefined) continue;
    if (!arg.startsWith('--') || arg === '--') {
      // The argument itself is not shown: it may be a stray secret.
      issues.push({ path: `argument ${i + 1}`, env: undefined, message: 'unexpected argument: flags look like --storage.type=sqlite' });
      continue;
    }
    const body = arg.slice(2);
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    let inline: string | undefined = eq === -1 ? undefined : body.slice(eq + 1);

    if (name === 'config') {
      if (inline === undefined) {
        inline = valueAfter(i);
        if (inline !== undefined) i++;
      }
      if (inline === undefined || inline === '') {
        issues.push({ path: 'config', env: CONFIG_FILE_ENV, message: '--config needs a file path', origin: 'flag --config' });
      } else {
        configFile = inline;
      }
      continue;
    }

    const field = FIELD_INDEX.byPath.get(name);
    if (!field) {
      if (inline === undefined && valueAfter(i) !== undefined) i++; // skip its value, so it is not reported as a stray argument
      const hint = suggestName(name, FIELD_INDEX.byPath.keys());
      issues.push({
        path: `--${name}`,
        env: undefined,
        message: `unknown flag${hint ? ` (did you mean --${hint}?)` : ''}`,
      });
      continue;
    }

    const origin = `flag --${name}`;
    if (inline === undefined) {
      if (field.type === 'boolean') {
        // `--server.trustProxy` alone means true; `--server.trustProxy false` also works.
        const next = argv[i + 1];
        if (next !== undefined && Object.hasOwn(BOOLEAN_WORDS, next.toLowerCase())) {
          inline = next;
          i++;
        } else {
          inline = 'true';
        }
      } else {
        inline = valueAfter(i);
        if (inline === undefined) {
          issues.push(issueFor(field, 'flag needs a value', origin));
          continue;
        }
        i++;
      }
    }
    const coerced = coerce(field, inline);
    if (coerced.ok) values.set(field.path, { value: coerced.value, source: 'flag', origin });
    else issues.push(issueFor(field, coerced.message, origin));
  }
  return { configFile, values };
}

interface ParsedEnv {
  configFile: string | undefined;
  values: RawValues;
}

function parseEnv(
  env: Readonly<Record<string, string | undefined>>,
  issues: ConfigIssue[],
  warnings: string[],
): ParsedEnv {
  const values: RawValues = new Map();
  let configFile: string | undefined;
  for (const name of Object.keys(env).sort()) {
    const raw = env[name];
    // Empty counts as unset: orchestrators often render absent values as "".
    if (!name.startsWith(ENV_PREFIX) || raw === undefined || raw === '') continue;
    if (name === CONFIG_FILE_ENV) {
      configFile = raw;
      continue;
    }
    const field = FIELD_INDEX.byEnv.get(name);
    if (!field) {
      const hint = suggestName(name, FIELD_INDEX.byEnv.keys());
      warnings.push(`ignored unknown environment variable ${name}${hint ? ` (did you mean ${hint}?)` : ''}`);
      continue;
    }
    const coerced = coerce(field, raw);
    if (coerced.ok) values.set(field.path, { value: coerced.value, source: 'env', origin: 'the environment' });
    else issues.push(issueFor(field, coerced.message, 'the environment'));
  }
  return { configFile, values };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Flattens the YAML tree to settings; unknown keys are errors, `null` means "not set". */
function flattenFile(
  node: Record<string, unknown>,
  prefix: string,
  origin: string,
  values: RawValues,
  issues: ConfigIssue[],
): void {
  for (const [key, value] of Object.entries(node)) {
    // Dotted keys (`storage.type: sqlite`) work too, since paths are compared as strings.
    const path = prefix ? `${prefix}.${key}` : key;
    if (FIELD_INDEX.sectionPaths.has(path)) {
      if (isPlainObject(value)) flattenFile(value, path, origin, values, issues);
      else if (value !== null) issues.push({ path, env: undefined, message: 'expected a mapping of settings', origin });
      continue;
    }
    const field = FIELD_INDEX.byPath.get(path);
    if (!field) {
      const hint = suggestName(path, [...FIELD_INDEX.byPath.keys(), ...FIELD_INDEX.sectionPaths]);
      issues.push({ path, env: undefined, message: `unknown key${hint ? ` (did you mean ${hint}?)` : ''}`, origin });
      continue;
    }
    if (value !== null) values.set(path, { value, source: 'file', origin });
  }
}

function readConfigFile(file: string, issues: ConfigIssue[]): RawValues {
  const values: RawValues = new Map();
  const origin = `file ${file}`;
  const fail = (message: string) => issues.push({ path: 'config', env: CONFIG_FILE_ENV, message, origin });

  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    fail(`cannot read the configuration file${code ? ` (${code})` : ''}`);
    return values;
  }

  // Messages only, no source excerpts: the file may hold secrets.
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      fail(`invalid YAML at line ${line}, column ${col}: ${error.message}`);
    }
    return values;
  }
  let tree: unknown;
  try {
    tree = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    fail(`invalid YAML: ${error instanceof Error ? error.message : String(error)}`);
    return values;
  }
  if (tree === null || tree === undefined) return values; // empty file
  if (!isPlainObject(tree)) {
    fail('the file must contain a mapping of settings');
    return values;
  }
  flattenFile(tree, '', origin, values, issues);
  return values;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const dot = path.lastIndexOf('.');
  let node = target;
  for (const key of dot === -1 ? [] : path.slice(0, dot).split('.')) {
    if (!isPlainObject(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.slice(dot + 1)] = value;
}

/** The setting an issue path points into (`server.corsOrigins.2` -> `server.corsOrigins`). */
function fieldFor(path: readonly PropertyKey[]): { field: ConfigField | undefined; rest: PropertyKey[] } {
  for (let n = path.length; n > 0; n--) {
    const field = FIELD_INDEX.byPath.get(path.slice(0, n).join('.'));
    if (field) return { field, rest: path.slice(n) };
  }
  return { field: undefined, rest: [] };
}

/** Belt and braces: whatever produced a message, a secret value never leaves in it. */
function scrubSecrets(message: string, raw: unknown): string {
  let out = message;
  for (const field of FIELD_INDEX.fields) {
    if (!field.secret || !isPlainObject(raw)) continue;
    const value = field.path.split('.').reduce<unknown>((node, key) => (isPlainObject(node) ? node[key] : undefined), raw);
    if (typeof value === 'string' && value.length >= 4) out = out.split(value).join('[redacted]');
  }
  return out;
}

/** Turns zod issues into config issues that name the setting and its environment variable. */
function toConfigIssues(
  zodIssues: readonly z.core.$ZodIssue[],
  raw: unknown,
  origins: ReadonlyMap<string, RawValue>,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const zodIssue of zodIssues) {
    const paths =
      zodIssue.code === 'unrecognized_keys'
        ? zodIssue.keys.map((key) => [...zodIssue.path, key])
        : [zodIssue.path];
    for (const path of paths) {
      const { field, rest } = fieldFor(path);
      const dotted = field ? field.path : path.map(String).join('.') || '(root)';
      const where = rest.length > 0 ? `item ${rest.map(String).join('.')}: ` : '';
      const message =
        zodIssue.code === 'unrecognized_keys' ? 'unknown key' : scrubSecrets(`${where}${zodIssue.message}`, raw);
      const origin = field ? origins.get(field.path)?.origin : undefined;
      out.push({ path: dotted, env: field?.env, message, ...(origin === undefined ? {} : { origin }) });
    }
  }
  return out;
}

function validate(raw: unknown, origins: ReadonlyMap<string, RawValue>, issues: ConfigIssue[]): WalletConfig | undefined {
  const result = zConfig.safeParse(raw);
  if (result.success) return withDerivedDefaults(result.data);
  issues.push(...toConfigIssues(result.error.issues, raw, origins));
  return undefined;
}

function productionWarnings(config: WalletConfig): string[] {
  if (config.mode !== 'production') return [];
  const warnings: string[] = [];
  if (config.storage.type === 'memory') {
    warnings.push('storage.type is memory in production: every record is lost when the process exits');
  }
  if (config.logging.logBodies) {
    warnings.push('logging.logBodies is on in production: logs will contain credentials and tokens');
  }
  return warnings;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Loads the configuration once, at start: defaults, then the YAML file named
 * by `--config <file>` (or `WALLET_CONFIG`), then `WALLET_*` environment
 * variables, then `--dotted.path=value` flags; later sources win.
 *
 * Throws {@link ConfigError} listing every problem at once (unknown flags or
 * file keys, values that do not coerce or validate, unmet conditional
 * requirements). Unknown `WALLET_*` variables are ignored and reported in
 * `warnings`. Services should call this in `main.ts` and pass the result
 * down; nothing else reads `process.env`.
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const argv = options.argv ?? process.argv.slice(2);
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];

  const flags = parseArgv(argv, issues);
  const fromEnv = parseEnv(env, issues, warnings);
  const fileName = flags.configFile ?? fromEnv.configFile;
  const configFile = fileName === undefined ? undefined : resolve(cwd, fileName);
  if (flags.configFile !== undefined && fromEnv.configFile !== undefined) {
    warnings.push(`--config overrides ${CONFIG_FILE_ENV}`);
  }
  const fromFile = configFile === undefined ? new Map<string, RawValue>() : readConfigFile(configFile, issues);

  const raw: Record<string, unknown> = {};
  const winners = new Map<string, RawValue>();
  for (const layer of [fromFile, fromEnv.values, flags.values]) {
    for (const [path, entry] of layer) {
      setPath(raw, path, entry.value);
      winners.set(path, entry);
    }
  }

  // Validate even when earlier steps failed, so one run reports every problem.
  const config = validate(raw, winners, issues);
  if (issues.length > 0 || config === undefined) throw new ConfigError(issues);

  const sources: Record<string, ConfigSource> = {};
  for (const field of FIELD_INDEX.fields) sources[field.path] = winners.get(field.path)?.source ?? 'default';

  return {
    config: deepFreeze(config),
    sources,
    configFile,
    warnings: [...warnings, ...productionWarnings(config)],
  };
}

/**
 * Validates a plain configuration object (every key optional; defaults and
 * conditional rules apply), e.g. to build a configuration in tests. Throws
 * {@link ConfigError}. The result is not frozen.
 */
export function parseConfig(input: unknown): WalletConfig {
  const issues: ConfigIssue[] = [];
  const config = validate(input ?? {}, new Map(), issues);
  if (config === undefined) throw new ConfigError(issues);
  return config;
}
