import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { AdminClient, ApiError, ConnectionError } from './admin-client';
import type { Change } from './apply';
import { render, type OutputFormat } from './output';

/** Exit codes, documented in `--help` and docs/admin.md. */
export const EXIT = { ok: 0, apiError: 1, usage: 2, connection: 3, unauthorized: 4 } as const;

export const DEFAULT_URL = 'http://localhost:8081';

export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
}

type OptionSpec = {
  type: 'string' | 'boolean';
  short?: string;
  description: string;
  /** An older name still accepted; not shown in help. */
  hidden?: boolean;
};
type Values = Record<string, string | boolean | undefined>;

interface Context {
  client: AdminClient;
  values: Values;
  args: string[];
  tenant: string;
}

interface Command {
  resource: string;
  action: string;
  args: string[];
  summary: string;
  options: Record<string, OptionSpec>;
  columns?: string[];
  run(ctx: Context): Promise<unknown>;
  /** Table output for this command (default: the result rendered as table/record). */
  text?(result: unknown): string;
}

class UsageError extends Error {}

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  url: { type: 'string', short: 'u', description: `Admin API base URL (default: WALLET_ADMIN_URL or ${DEFAULT_URL})` },
  token: { type: 'string', short: 't', description: 'Admin bearer token (default: WALLET_ADMIN_TOKEN)' },
  output: { type: 'string', short: 'o', description: 'Output format: table (default) or json' },
  actor: { type: 'string', description: 'Name recorded as the actor in the audit log (default: the local user name)' },
  help: { type: 'boolean', short: 'h', description: 'Show help' },
};

const TENANT_OPTION: Record<string, OptionSpec> = {
  tenant: { type: 'string', short: 'T', description: 'Tenant id (default: default)' },
};

const bool = (values: Values, name: string): boolean | undefined => {
  const value = values[name];
  if (value === undefined) return undefined;
  if (value === 'true' || value === true) return true;
  if (value === 'false') return false;
  throw new UsageError(`--${name} must be true or false`);
};
const int = (values: Values, name: string): number | undefined => {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number`);
  return Number(value);
};
const str = (values: Values, name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
const defined = (value: Record<string, unknown>) => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
const seg = encodeURIComponent;

/** `--old-name`, accepted as before but no longer shown: option names follow the API's fields. */
const alias = (of: string): OptionSpec => ({ type: 'string', description: `Same as --${of}`, hidden: true });

/** The value of an option given by its name or by its older alias (both at once: a usage error). */
const either = (values: Values, name: string, old: string): string | undefined => {
  const value = str(values, name);
  const oldValue = str(values, old);
  if (value !== undefined && oldValue !== undefined) throw new UsageError(`--${old} is another name for --${name}: give one of them`);
  return value ?? oldValue;
};

// Option names are the API's field names in kebab case (display_name: --display-name).
const tenantFields: Record<string, OptionSpec> = {
  'display-name': { type: 'string', description: 'Display name' },
  enabled: { type: 'string', description: 'true or false' },
  'require-invite': { type: 'string', description: 'true or false' },
  'pdp-url': { type: 'string', description: 'AuthZEN PDP URL overriding the default, none, or default (trust_config.pdp_url)' },
  'allowed-protocols': { type: 'string', description: 'Allowed protocols, comma-separated (e.g. oid4vci,oid4vp)' },
  name: alias('display-name'),
  protocols: alias('allowed-protocols'),
};
const tenantBody = (values: Values) => {
  const pdp = str(values, 'pdp-url');
  return defined({
    display_name: either(values, 'display-name', 'name'),
    enabled: bool(values, 'enabled'),
    require_invite: bool(values, 'require-invite'),
    trust_config: pdp === undefined ? undefined : { pdp_url: pdp === 'default' ? null : pdp },
    allowed_protocols: either(values, 'allowed-protocols', 'protocols')
      ?.split(',')
      .map((p) => p.trim())
      .filter(Boolean),
  });
};

const issuerFields: Record<string, OptionSpec> = {
  'credential-issuer-identifier': { type: 'string', description: 'Credential issuer identifier (https URL)' },
  'client-id': { type: 'string', description: 'OAuth client id at the issuer' },
  visible: { type: 'string', description: 'true or false: shown to wallets' },
  'client-private-key-file': { type: 'string', description: 'File with the client private key (write-only; never shown)' },
  identifier: alias('credential-issuer-identifier'),
  'private-key-file': alias('client-private-key-file'),
};
const issuerBody = (values: Values) => {
  const keyFile = either(values, 'client-private-key-file', 'private-key-file');
  let key: string | undefined;
  if (keyFile !== undefined) {
    try {
      key = readFileSync(keyFile, 'utf8').trim();
    } catch {
      throw new UsageError(`cannot read the client private key file ${keyFile}`);
    }
  }
  return defined({
    credential_issuer_identifier: either(values, 'credential-issuer-identifier', 'identifier'),
    client_id: str(values, 'client-id'),
    visible: bool(values, 'visible'),
    client_private_key: key,
  });
};

const verifierFields: Record<string, OptionSpec> = {
  name: { type: 'string', description: 'Display name' },
  'verifier-url': { type: 'string', description: 'Verifier URL (https)' },
};
const verifierBody = (values: Values) => defined({ name: str(values, 'name'), url: str(values, 'verifier-url') });

/** Every item of a listing, all pages, in the listing's shape. */
const listAll = async (ctx: Context, path: string) => ({ items: await ctx.client.listAll<Record<string, unknown>>(path), next_cursor: null });

const idOpt: Record<string, OptionSpec> = { id: { type: 'string', description: 'Record id (default: generated)' } };

function crud(
  resource: 'issuer' | 'verifier',
  plural: string,
  fields: Record<string, OptionSpec>,
  body: (values: Values) => Record<string, unknown>,
  columns: string[],
): Command[] {
  const base = (ctx: Context) => `/admin/tenants/${seg(ctx.tenant)}/${plural}`;
  return [
    { resource, action: 'list', args: [], summary: `List ${plural} of a tenant`, options: TENANT_OPTION, columns, run: (ctx) => listAll(ctx, base(ctx)) },
    { resource, action: 'create', args: [], summary: `Create ${resource === 'issuer' ? 'an' : 'a'} ${resource}`, options: { ...TENANT_OPTION, ...idOpt, ...fields }, run: (ctx) => ctx.client.call('POST', base(ctx), defined({ id: str(ctx.values, 'id'), ...body(ctx.values) })) },
    { resource, action: 'get', args: ['id'], summary: `Show ${resource === 'issuer' ? 'an' : 'a'} ${resource}`, options: TENANT_OPTION, run: (ctx) => ctx.client.call('GET', `${base(ctx)}/${seg(ctx.args[0] ?? '')}`) },
    { resource, action: 'update', args: ['id'], summary: `Change ${resource === 'issuer' ? 'an' : 'a'} ${resource}`, options: { ...TENANT_OPTION, ...fields }, run: (ctx) => ctx.client.call('PATCH', `${base(ctx)}/${seg(ctx.args[0] ?? '')}`, body(ctx.values)) },
    { resource, action: 'delete', args: ['id'], summary: `Delete ${resource === 'issuer' ? 'an' : 'a'} ${resource}`, options: TENANT_OPTION, run: async (ctx) => { await ctx.client.call('DELETE', `${base(ctx)}/${seg(ctx.args[0] ?? '')}`); return { deleted: ctx.args[0] }; } },
  ];
}

export const COMMANDS: Command[] = [
  { resource: 'tenant', action: 'list', args: [], summary: 'List tenants', options: {}, columns: ['id', 'display_name', 'enabled', 'require_invite', 'allowed_protocols'], run: (ctx) => listAll(ctx, '/admin/tenants') },
  { resource: 'tenant', action: 'create', args: ['id'], summary: 'Create a tenant', options: tenantFields, run: (ctx) => ctx.client.call('POST', '/admin/tenants', { id: ctx.args[0], ...tenantBody(ctx.values) }) },
  { resource: 'tenant', action: 'get', args: ['id'], summary: 'Show a tenant', options: {}, run: (ctx) => ctx.client.call('GET', `/admin/tenants/${seg(ctx.args[0] ?? '')}`) },
  { resource: 'tenant', action: 'update', args: ['id'], summary: 'Change a tenant', options: tenantFields, run: (ctx) => ctx.client.call('PATCH', `/admin/tenants/${seg(ctx.args[0] ?? '')}`, tenantBody(ctx.values)) },
  {
    resource: 'tenant',
    action: 'delete',
    args: ['id'],
    summary: 'Delete a tenant (refused while it has users unless --force, which deletes all its records)',
    options: { force: { type: 'boolean', description: 'Also delete every record of the tenant' } },
    run: (ctx) => ctx.client.call('DELETE', `/admin/tenants/${seg(ctx.args[0] ?? '')}${ctx.values['force'] ? '?force=true' : ''}`),
  },
  { resource: 'user', action: 'list', args: [], summary: 'List users of a tenant', options: TENANT_OPTION, columns: ['id', 'handle', 'display_name', 'status', 'role'], run: (ctx) => listAll(ctx, `/admin/tenants/${seg(ctx.tenant)}/users`) },
  {
    resource: 'user',
    action: 'add',
    args: [],
    summary: 'Add a user with a membership, or (--id of an existing user) set their membership',
    options: {
      ...TENANT_OPTION,
      ...idOpt,
      handle: { type: 'string', description: 'WebAuthn user handle (base64url; default: generated)' },
      'display-name': { type: 'string', description: 'Display name' },
      role: { type: 'string', description: 'member (default) or admin' },
      name: alias('display-name'),
    },
    run: async (ctx) => {
      const id = str(ctx.values, 'id');
      const role = str(ctx.values, 'role') ?? 'member';
      const base = `/admin/tenants/${seg(ctx.tenant)}/users`;
      if (id !== undefined) {
        try {
          await ctx.client.call('GET', `${base}/${seg(id)}`);
          return await ctx.client.call('PUT', `${base}/${seg(id)}/membership`, { role });
        } catch (error) {
          if (!(error instanceof ApiError && error.status === 404)) throw error;
        }
      }
      return ctx.client.call('POST', base, defined({ id, handle: str(ctx.values, 'handle'), display_name: either(ctx.values, 'display-name', 'name'), role }));
    },
  },
  {
    resource: 'user',
    action: 'remove',
    args: ['id'],
    summary: 'Remove a user and their records (--membership-only: only the membership)',
    options: { ...TENANT_OPTION, 'membership-only': { type: 'boolean', description: 'Keep the account, remove only the membership' } },
    run: async (ctx) => {
      const path = `/admin/tenants/${seg(ctx.tenant)}/users/${seg(ctx.args[0] ?? '')}${ctx.values['membership-only'] ? '/membership' : ''}`;
      await ctx.client.call('DELETE', path);
      return { removed: ctx.args[0] };
    },
  },
  { resource: 'user', action: 'suspend', args: ['id'], summary: 'Suspend a user (revokes all their access tokens and sessions at once)', options: TENANT_OPTION, run: (ctx) => ctx.client.call('PATCH', `/admin/tenants/${seg(ctx.tenant)}/users/${seg(ctx.args[0] ?? '')}`, { status: 'suspended' }) },
  { resource: 'user', action: 'unsuspend', args: ['id'], summary: 'Reactivate a suspended user', options: TENANT_OPTION, run: (ctx) => ctx.client.call('PATCH', `/admin/tenants/${seg(ctx.tenant)}/users/${seg(ctx.args[0] ?? '')}`, { status: 'active' }) },
  ...crud('issuer', 'issuers', issuerFields, issuerBody, ['id', 'credential_issuer_identifier', 'client_id', 'visible', 'client_private_key_set']),
  ...crud('verifier', 'verifiers', verifierFields, verifierBody, ['id', 'name', 'url']),
  { resource: 'invite', action: 'list', args: [], summary: 'List invites (codes are never shown again)', options: TENANT_OPTION, columns: ['id', 'status', 'uses', 'max_uses', 'expires_at'], run: (ctx) => listAll(ctx, `/admin/tenants/${seg(ctx.tenant)}/invites`) },
  {
    resource: 'invite',
    action: 'create',
    args: [],
    summary: 'Create invite codes; they are printed once',
    options: {
      ...TENANT_OPTION,
      count: { type: 'string', description: 'How many codes (default 1)' },
      'max-uses': { type: 'string', description: 'Uses per code (default 1)' },
      'expires-in': { type: 'string', description: 'Lifetime in seconds (default: no expiry)' },
    },
    columns: ['id', 'code', 'max_uses', 'expires_at'],
    run: (ctx) =>
      ctx.client.call('POST', `/admin/tenants/${seg(ctx.tenant)}/invites`, defined({ count: int(ctx.values, 'count'), max_uses: int(ctx.values, 'max-uses'), expires_in: int(ctx.values, 'expires-in') })),
  },
  { resource: 'invite', action: 'revoke', args: ['id'], summary: 'Revoke an invite', options: TENANT_OPTION, run: (ctx) => ctx.client.call('POST', `/admin/tenants/${seg(ctx.tenant)}/invites/${seg(ctx.args[0] ?? '')}/revoke`) },
  {
    resource: 'invite',
    action: 'renew',
    args: ['id'],
    summary: 'Renew an invite (new expiry; un-revokes)',
    options: { ...TENANT_OPTION, 'expires-in': { type: 'string', description: 'Lifetime in seconds (default: no expiry)' }, 'max-uses': { type: 'string', description: 'New use limit' } },
    run: (ctx) =>
      ctx.client.call('POST', `/admin/tenants/${seg(ctx.tenant)}/invites/${seg(ctx.args[0] ?? '')}/renew`, defined({ expires_in: int(ctx.values, 'expires-in'), max_uses: int(ctx.values, 'max-uses') })),
  },
  {
    resource: 'audit',
    action: 'list',
    args: [],
    summary: 'Show the audit log (a tenant\'s changes with --tenant, else tenant-level changes)',
    options: {
      tenant: { type: 'string', short: 'T', description: 'Tenant whose changes to list (default: tenant-level changes)' },
      action: { type: 'string', description: 'Only this action, e.g. issuer.update' },
      resource: { type: 'string', description: 'Only this resource type, e.g. issuer' },
      'resource-id': { type: 'string', description: 'Only this resource id' },
      'by-actor': { type: 'string', description: 'Only changes by this actor' },
      since: { type: 'string', description: 'From this time (ISO 8601)' },
      until: { type: 'string', description: 'Up to this time (ISO 8601)' },
      limit: { type: 'string', description: 'Page size (default 100)' },
      cursor: { type: 'string', description: 'next_cursor of the previous page' },
    },
    columns: ['at', 'tenant', 'actor', 'action', 'resource', 'resource_id'],
    run: (ctx) => {
      const query = new URLSearchParams(
        defined({
          tenant: str(ctx.values, 'tenant'),
          action: str(ctx.values, 'action'),
          resource: str(ctx.values, 'resource'),
          resource_id: str(ctx.values, 'resource-id'),
          actor: str(ctx.values, 'by-actor'),
          since: str(ctx.values, 'since'),
          until: str(ctx.values, 'until'),
          limit: str(ctx.values, 'limit'),
          cursor: str(ctx.values, 'cursor'),
        }) as Record<string, string>,
      );
      return ctx.client.call('GET', `/admin/audit${query.size ? `?${query.toString()}` : ''}`);
    },
  },
  {
    resource: 'apply',
    action: '',
    args: [],
    summary: 'Bring the server to the state a YAML file describes (tenants, their issuers and verifiers); prints what changed',
    options: {
      file: { type: 'string', short: 'f', description: 'The YAML file (required)' },
      prune: { type: 'boolean', description: 'Also delete tenants, issuers and verifiers the file does not list' },
    },
    run: async (ctx) => {
      const path = str(ctx.values, 'file');
      if (!path) throw new UsageError('apply needs -f <file>');
      // Loaded on demand: YAML and zod are only needed here, and a CLI should start fast.
      const { applyFile, readApplyFile } = await import('./apply');
      const changes = await applyFile(ctx.client, readApplyFile(path), Boolean(ctx.values['prune']));
      return { changes };
    },
    text: (result) => {
      const { changes } = result as { changes: Change[] };
      return changes.length === 0 ? 'no changes\n' : `${changes.map(describeChange).join('\n')}\n`;
    },
  },
];

const RESOURCES = [...new Set(COMMANDS.map((c) => c.resource))];

function optionHelp(options: Record<string, OptionSpec>): string {
  return Object.entries(options)
    .filter(([, spec]) => !spec.hidden)
    .map(([name, spec]) => {
      const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ' <value>' : ''}`;
      return `  ${flag.padEnd(30)} ${spec.description}`;
    })
    .join('\n');
}

const EXIT_HELP = 'Exit codes: 0 success, 1 the API refused the request, 2 usage error, 3 server unreachable, 4 unauthorized (token).';

function mainHelp(): string {
  const lines = COMMANDS.map((c) => `  ${`${c.resource} ${c.action}`.trim().padEnd(20)} ${c.summary}`);
  return `Usage: wallet-admin <command> [options]\n\nClient for the wallet admin API.\n\nCommands:\n${lines.join('\n')}\n\nGlobal options:\n${optionHelp(GLOBAL_OPTIONS)}\n\n${EXIT_HELP}\nRun \`wallet-admin <command> --help\` for the options of a command.\n`;
}

function resourceHelp(resource: string): string {
  const lines = COMMANDS.filter((c) => c.resource === resource).map((c) => `  ${`${c.resource} ${c.action}`.padEnd(20)} ${c.summary}`);
  return `Usage: wallet-admin ${resource} <action> [options]\n\n${lines.join('\n')}\n\nGlobal options:\n${optionHelp(GLOBAL_OPTIONS)}\n`;
}

function commandHelp(command: Command): string {
  const name = `${command.resource} ${command.action}`.trim();
  const args = command.args.map((a) => ` <${a}>`).join('');
  return `Usage: wallet-admin ${name}${args} [options]\n\n${command.summary}.\n\nOptions:\n${optionHelp({ ...command.options, ...GLOBAL_OPTIONS })}\n\n${EXIT_HELP}\n`;
}

const ALL_OPTIONS = Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options)) as Record<string, OptionSpec>;

/** Runs one CLI invocation; returns the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  try {
    // First pass: find the command; the second pass parses strictly with its options.
    const loose = parseArgs({ args: argv, options: ALL_OPTIONS, strict: false, allowPositionals: true });
    const [resource, action] = loose.positionals;
    if (!resource) {
      io[loose.values['help'] ? 'stdout' : 'stderr'](mainHelp());
      return loose.values['help'] ? EXIT.ok : EXIT.usage;
    }
    if (!RESOURCES.includes(resource)) throw new UsageError(`unknown command ${resource} (see wallet-admin --help)`);
    const command = COMMANDS.find((c) => c.resource === resource && (c.action === '' || c.action === action));
    if (!command) {
      if (loose.values['help']) {
        io.stdout(resourceHelp(resource));
        return EXIT.ok;
      }
      throw new UsageError(action ? `unknown action ${resource} ${action} (see wallet-admin ${resource} --help)` : `${resource} needs an action (see wallet-admin ${resource} --help)`);
    }
    const parsed = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...command.options }, strict: true, allowPositionals: true });
    if (parsed.values['help']) {
      io.stdout(commandHelp(command));
      return EXIT.ok;
    }
    const args = parsed.positionals.slice(command.action === '' ? 1 : 2);
    if (args.length !== command.args.length) {
      throw new UsageError(`${`${command.resource} ${command.action}`.trim()} expects ${command.args.length ? command.args.map((a) => `<${a}>`).join(' ') : 'no arguments'}`);
    }
    const values = parsed.values as Values;
    const format = (str(values, 'output') ?? 'table') as OutputFormat;
    if (format !== 'table' && format !== 'json') throw new UsageError('--output must be table or json');
    const url = str(values, 'url') ?? io.env['WALLET_ADMIN_URL'] ?? DEFAULT_URL;
    if (!/^https?:\/\/[^\s/]+/.test(url)) throw new UsageError('--url must be an http(s) URL');
    const token = str(values, 'token') ?? io.env['WALLET_ADMIN_TOKEN'];
    const actor = str(values, 'actor') ?? safeUserName();
    const client = new AdminClient({ url, token, actor });
    const result = await command.run({ client, values, args, tenant: str(values, 'tenant') ?? 'default' });
    io.stdout(format === 'json' ? render(result, 'json') : command.text ? command.text(result) : render(result, 'table', command.columns));
    return EXIT.ok;
  } catch (error) {
    return fail(error, io);
  }
}

function fail(error: unknown, io: CliIO): number {
  if (error instanceof UsageError || (error instanceof Error && error.name === 'ApplyFileError')) {
    io.stderr(`error: ${error.message}\n`);
    return EXIT.usage;
  }
  // parseArgs' errors: TypeErrors with an ERR_PARSE_ARGS_* code (checked by code, not class: realms differ under test runners).
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
    io.stderr(`error: ${parseArgsMessage(code, (error as Error).message)}\n`);
    return EXIT.usage;
  }
  if (error instanceof ConnectionError) {
    io.stderr(`error: ${error.message}\n`);
    return EXIT.connection;
  }
  if (error instanceof ApiError) {
    const issues = (error.problem.issues ?? []).map((i) => `\n  ${i.path}: ${i.message}`).join('');
    io.stderr(`error: ${error.status}${error.problem.code ? ` ${error.problem.code}` : ''}: ${error.message}${issues}\n`);
    if (error.status === 401) {
      io.stderr(`hint: pass --token or set WALLET_ADMIN_TOKEN (a development server keeps its generated token in <dataDir>/admin-token: export WALLET_ADMIN_TOKEN="$(cat data/admin-token)")\n`);
      return EXIT.unauthorized;
    }
    return EXIT.apiError;
  }
  io.stderr(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT.apiError;
}

/**
 * parseArgs' messages in this CLI's words: Node's quote the option oddly
 * (`Unknown option '--x'. ... as in '-- "--x"`, with unbalanced quotes).
 */
function parseArgsMessage(code: string, message: string): string {
  const option = /'(--?[^'\s,]+)/.exec(message)?.[1] ?? 'given';
  const long = /--[\w-]+/.exec(message)?.[0] ?? option;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option} (see --help for the options of this command)`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(message) ? `option ${long} needs a value` : `option ${long} takes no value`;
    default:
      return message.replace(/['"]/g, '');
  }
}

function describeChange(change: Change): string {
  const where = change.tenant ? `${change.tenant}/${change.id}` : change.id;
  return `${change.action} ${change.resource} ${where}${change.fields ? ` (${change.fields.join(', ')})` : ''}`;
}

function safeUserName(): string | undefined {
  try {
    const name = userInfo().username;
    return /^[A-Za-z0-9._@+-]{1,200}$/.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
}
