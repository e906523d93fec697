/** One problem found while loading or validating the configuration. */
export interface ConfigIssue {
  /** Dotted path of the setting (`storage.type`), or the unknown key or flag as given. */
  path: string;
  /** The setting's environment variable, when `path` names a known setting. */
  env: string | undefined;
  /** What is wrong. Never contains the value of a secret setting. */
  message: string;
  /** Where the offending value came from (`flag --storage.type`, `the environment`, `file /etc/wallet.yaml`), when known. */
  origin?: string;
}

/**
 * The configuration is invalid; services must not start. The message names
 * every bad key (dotted path and environment variable) and says what is
 * wrong, without echoing the value of any secret setting.
 */
export class ConfigError extends Error {
  readonly code = 'invalid_config' as const;
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options: { cause?: unknown } = {}) {
    super(formatIssues(issues), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.issues = issues;
  }
}

function formatIssues(issues: readonly ConfigIssue[]): string {
  // One line per key, so a key with two problems is still named once.
  const byKey = new Map<string, { issue: ConfigIssue; messages: string[] }>();
  for (const issue of issues) {
    const key = `${issue.path}\u0000${issue.origin ?? ''}`;
    const entry = byKey.get(key);
    if (entry) {
      if (!entry.messages.includes(issue.message)) entry.messages.push(issue.message);
    } else {
      byKey.set(key, { issue, messages: [issue.message] });
    }
  }
  const lines = [...byKey.values()].map(({ issue, messages }) => {
    const env = issue.env ? ` / ${issue.env}` : '';
    const origin = issue.origin ? ` (from ${issue.origin})` : '';
    return `  - ${issue.path}${env}${origin}: ${messages.join('; ')}`;
  });
  const count = lines.length === 1 ? '1 problem' : `${lines.length} problems`;
  return `Invalid configuration (${count}):\n${lines.join('\n')}`;
}
