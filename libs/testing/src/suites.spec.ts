import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIfAvailable, SKIP_SUMMARY_ENV } from './suites';

describe('describeIfAvailable', () => {
  let dir: string;
  let log: string;
  const saved = { log: process.env['TEST_SKIP_LOG'], summarized: process.env[SKIP_SUMMARY_ENV], required: process.env['WALLET_REQUIRE_DRIVER_SUITES'] };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'suites-'));
    log = join(dir, 'skips.log');
    process.env['TEST_SKIP_LOG'] = log;
    delete process.env['WALLET_REQUIRE_DRIVER_SUITES'];
  });
  afterEach(() => {
    for (const [key, value] of [['TEST_SKIP_LOG', saved.log], [SKIP_SUMMARY_ENV, saved.summarized], ['WALLET_REQUIRE_DRIVER_SUITES', saved.required]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the suite when what it needs is there, and records nothing', () => {
    expect(describeIfAvailable('x:redis', true, 'redis')).toBe(describe);
    expect(() => readFileSync(log)).toThrow();
  });

  it('records a skip with what it needs, why and the command that enables it, quietly under npm test', () => {
    process.env[SKIP_SUMMARY_ENV] = '1';
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(describeIfAvailable('x:redis', false, 'set REDIS_URL or put redis-server on PATH')).toBe(describe.skip);
      describeIfAvailable('x:mongo', false, 'no MONGODB_URI, FerretDB or mongod found');
      describeIfAvailable('x:browser', false, 'chromium');
      expect(write).not.toHaveBeenCalled();
    } finally {
      write.mockRestore();
    }
    const entries = readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, string>);
    expect(entries).toEqual([
      { suite: 'x:redis', file: 'libs/testing/src/suites.spec.ts', needs: 'a Redis server', why: expect.stringContaining('REDIS_URL'), enable: expect.stringContaining('redis-server') },
      { suite: 'x:mongo', file: 'libs/testing/src/suites.spec.ts', needs: 'a MongoDB wire-protocol server', why: expect.any(String), enable: expect.stringContaining('tools/ferretdb/build.sh') },
      { suite: 'x:browser', file: 'libs/testing/src/suites.spec.ts', needs: 'Chromium', why: expect.stringContaining('CHROMIUM_PATH'), enable: expect.stringContaining('CHROMIUM_PATH') },
    ]);
  });

  it('says so on stderr when run outside npm test, and refuses to skip when driver suites are required', () => {
    delete process.env[SKIP_SUMMARY_ENV];
    const lines: string[] = [];
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((text) => {
      lines.push(String(text));
      return true;
    });
    try {
      describeIfAvailable('x:redis', false, 'redis');
    } finally {
      write.mockRestore();
    }
    expect(lines).toEqual([expect.stringMatching(/^SKIPPED suite "x:redis": .*; to run it: sudo apt-get install redis-server/)]);
    process.env['WALLET_REQUIRE_DRIVER_SUITES'] = '1';
    expect(() => describeIfAvailable('x:redis', false, 'redis')).toThrow(/forbids skipping/);
  });
});
