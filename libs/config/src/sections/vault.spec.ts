import { ConfigError } from '../config-error';
import { loadConfig } from '../load-config';

const load = (env: Record<string, string>) => loadConfig({ argv: [], env });

describe('vault configuration section', () => {
  it('reads limits from the environment as integers', () => {
    const { vault } = load({ WALLET_VAULT_MAX_BLOB_BYTES: '1024', WALLET_VAULT_MAX_RECORDS_PER_USER: '50' }).config;
    expect(vault).toMatchObject({ maxBlobBytes: 1024, maxRecordsPerUser: 50, maxTagsPerRecord: 32 });
  });

  it('names the key of a value out of range', () => {
    let message = '';
    try {
      load({ WALLET_VAULT_MAX_TAGS_PER_RECORD: '0' });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      message = error.message;
    }
    expect(message).toMatch(/vault\.maxTagsPerRecord/);
  });
});
