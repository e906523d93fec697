import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeConfig } from './config-fields';
import {
  CONFIG_REFERENCE_PATH,
  EXAMPLE_CONFIG_ENV,
  EXAMPLE_CONFIG_YAML,
  renderConfigReference,
} from './config-reference';
import { loadConfig } from './load-config';

const WORKSPACE_ROOT = join(__dirname, '..', '..', '..');

describe('docs/configuration.md', () => {
  it('is up to date with the schema (run `npm run docs:config` to regenerate)', () => {
    const committed = readFileSync(join(WORKSPACE_ROOT, CONFIG_REFERENCE_PATH), 'utf8');
    expect(committed).toBe(renderConfigReference());
  });

  it('has a row for every setting, with its variable and secret marker', () => {
    const text = renderConfigReference();
    const settings = text.slice(text.indexOf('## Settings'));
    for (const field of describeConfig()) {
      const row = settings.split('\n').find((line) => line.startsWith(`| \`${field.path}\` |`));
      expect(row).toContain(`\`${field.env}\``);
      expect(row?.split('|')[5]?.trim()).toBe(field.secret ? 'yes' : '');
    }
  });

  it('shows an example that loads as a valid production configuration', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wallet-config-example-'));
    try {
      writeFileSync(join(dir, 'config.yaml'), EXAMPLE_CONFIG_YAML);
      // Fill the placeholders (`<password>`, `<base64url of 32 random bytes>`) with real values.
      const env: Record<string, string> = { WALLET_CONFIG: 'config.yaml' };
      for (const line of EXAMPLE_CONFIG_ENV) {
        const [name, value] = [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)];
        env[name] = value.replace(/<[^>]+>/g, (placeholder) =>
          placeholder.includes('32 random bytes') ? randomBytes(32).toString('base64url') : 'p'.repeat(32),
        );
      }
      const { config, warnings } = loadConfig({ argv: [], env, cwd: dir });
      expect(config).toMatchObject({ mode: 'production', storage: { type: 'mongodb', mongodb: { database: 'wallet' } } });
      expect(warnings).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const secretEnv = describeConfig().filter((f) => f.secret).map((f) => f.env);
    expect(EXAMPLE_CONFIG_ENV.map((line) => line.split('=')[0]).sort()).toEqual(secretEnv.sort());
  });
});
