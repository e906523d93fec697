import { ValidationError } from '@wallet/domain';
import { checkKeyPrefix, hashSlot, hashTagOf, resolveTopology, type RedisConnectionOptions } from './redis-topology';

/** The ValidationError `resolveTopology` throws, as text a log line could show. */
function rejection(options: RedisConnectionOptions): { error: ValidationError; text: string } {
  try {
    resolveTopology(options);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return { error, text: JSON.stringify({ message: error.message, issues: error.issues, details: error.details }) };
  }
  throw new Error('expected a ValidationError');
}

describe('resolveTopology', () => {
  describe('URLs', () => {
    it('redis:// and rediss:// are one server, read by ioredis itself', () => {
      expect(resolveTopology({ url: 'redis://:pw@cache:6380/2' })).toMatchObject({
        kind: 'single',
        url: 'redis://:pw@cache:6380/2',
        tls: false,
      });
      expect(resolveTopology({ url: 'rediss://cache' })).toMatchObject({ kind: 'single', tls: true });
    });

    it('redis+sentinel:// names the sentinels, the master, the database and both passwords', () => {
      const topology = resolveTopology({
        url: 'redis+sentinel://app:p%40ss@s1,s2:26380,[::1]:26381/my%20master/3?sentinelUsername=watch&sentinelPassword=s%26cret',
      });
      expect(topology).toEqual({
        kind: 'sentinel',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
          { host: '::1', port: 26381 },
        ],
        masterName: 'my master',
        auth: { username: 'app', password: 'p@ss' },
        sentinelAuth: { username: 'watch', password: 's&cret' },
        tls: false,
        database: 3,
      });
      expect(resolveTopology({ url: 'rediss+sentinel://s1/m' })).toMatchObject({ kind: 'sentinel', tls: true });
    });

    it('redis+cluster:// names some nodes (default port 6379)', () => {
      expect(resolveTopology({ url: 'redis+cluster://:pw@n1,n2:7001' })).toEqual({
        kind: 'cluster',
        nodes: [
          { host: 'n1', port: 6379 },
          { host: 'n2', port: 7001 },
        ],
        auth: { password: 'pw' },
        tls: false,
      });
      expect(resolveTopology({ url: 'rediss+cluster://n1' })).toMatchObject({ kind: 'cluster', tls: true });
    });

    it.each([
      ['an unknown scheme', 'http://cache:6379', '/url'],
      ['no host', 'redis+cluster://', '/url'],
      ['a bad port', 'redis+cluster://n1:70000', '/url'],
      ['a host with a space', 'redis+sentinel://bad host/m', '/url'],
      ['no master name', 'redis+sentinel://s1:26379', '/url'],
      ['more than a database after the master', 'redis+sentinel://s1/m/0/x', '/url'],
      ['an unknown query parameter', 'redis+sentinel://s1/m?password=x', '/url'],
      ['a cluster URL with a database', 'redis+cluster://n1/1', '/url'],
      ['a cluster URL with a query', 'redis+cluster://n1?tls=true', '/url'],
      ['a database that is not a number', 'redis://cache/abc', '/url'],
      ['a bad percent-encoding', 'redis+cluster://:%zz@n1', '/url'],
    ])('rejects %s, naming the setting', (_, url, path) => {
      const { error } = rejection({ url });
      expect(error.code).toBe('validation_failed');
      expect(error.issues[0]?.path).toBe(path);
    });
  });

  describe('settings instead of a URL', () => {
    it('nodes with a topology, credentials and TLS', () => {
      expect(
        resolveTopology({
          topology: 'sentinel',
          nodes: ['s1', 's2:26380'],
          password: 'pw',
          tls: true,
          database: 1,
          sentinel: { masterName: 'main', password: 'spw' },
        }),
      ).toEqual({
        kind: 'sentinel',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
        ],
        masterName: 'main',
        auth: { password: 'pw' },
        sentinelAuth: { password: 'spw' },
        tls: true,
        database: 1,
      });
      expect(resolveTopology({ nodes: ['cache:6380'] })).toMatchObject({
        kind: 'single',
        url: null,
        endpoint: { host: 'cache', port: 6380 },
      });
      expect(resolveTopology({ topology: 'cluster', nodes: ['n1', 'n2:7002'] })).toMatchObject({
        kind: 'cluster',
        nodes: [
          { host: 'n1', port: 6379 },
          { host: 'n2', port: 7002 },
        ],
      });
    });

    it('a password set beside a URL without one applies to the data nodes', () => {
      expect(resolveTopology({ url: 'redis+cluster://n1', password: 'pw' })).toMatchObject({ auth: { password: 'pw' } });
      expect(
        resolveTopology({ url: 'redis+sentinel://s1/m', password: 'pw', sentinel: { password: 'spw' } }),
      ).toMatchObject({ auth: { password: 'pw' }, sentinelAuth: { password: 'spw' } });
    });

    it.each<[string, RedisConnectionOptions, string]>([
      ['neither url nor nodes', {}, '/url'],
      ['an empty node list', { nodes: [] }, '/url'],
      ['both url and nodes', { url: 'redis://cache', nodes: ['cache:6379'] }, '/nodes'],
      ['a malformed node', { topology: 'cluster', nodes: ['n1', 'n2:port'] }, '/nodes/1'],
      ['two nodes for one server', { nodes: ['a:1', 'b:2'] }, '/nodes'],
      ['a sentinel without a master name', { topology: 'sentinel', nodes: ['s1'] }, '/sentinel/masterName'],
      ['sentinel settings on a cluster', { topology: 'cluster', nodes: ['n1'], sentinel: { masterName: 'm' } }, '/sentinel'],
      ['a database on a cluster', { topology: 'cluster', nodes: ['n1'], database: 1 }, '/database'],
      ['a negative database', { nodes: ['n1'], database: -1 }, '/database'],
      ['a topology the URL contradicts', { url: 'redis+cluster://n1', topology: 'sentinel' }, '/topology'],
      ['tls the URL contradicts', { url: 'redis+cluster://n1', tls: true }, '/tls'],
      ['a second password', { url: 'redis+cluster://:a@n1', password: 'b' }, '/password'],
      ['a second master name', { url: 'redis+sentinel://s1/m', sentinel: { masterName: 'n' } }, '/sentinel/masterName'],
    ])('rejects %s, naming the setting', (_, options, path) => {
      const { error } = rejection(options);
      expect(error.issues.map((issue) => issue.path)).toContain(path);
    });
  });

  it('never repeats a password, a URL or a node list in its errors', () => {
    const cases: RedisConnectionOptions[] = [
      { url: 'redis+sentinel://:data-s3cret@s1:99999/m?sentinelPassword=sent-s3cret' },
      { url: 'redis+sentinel://:data-s3cret@s1/m?sentinelPassword=sent-s3cret&other=sent-s3cret' },
      { url: 'redis+cluster://:data-s3cret@n1/0?x=sent-s3cret' },
      { url: 'mongodb://user:data-s3cret@host' },
      { url: 'redis+cluster://:data-s3cret@n1', password: 'sent-s3cret' },
      { topology: 'cluster', nodes: ['data-s3cret:port'], password: 'sent-s3cret', database: 2 },
    ];
    for (const options of cases) {
      const { text } = rejection(options);
      expect(text).not.toContain('s3cret');
    }
  });
});

describe('hash slots', () => {
  it('are CRC16/XMODEM of the key modulo 16384 (the values in the Redis Cluster specification)', () => {
    expect(hashSlot('123456789')).toBe(0x31c3);
    expect(hashSlot('foo')).toBe(12182);
  });

  it('use the first non-empty {...} of a key', () => {
    expect(hashTagOf('wallet:lock:{job}')).toBe('job');
    expect(hashTagOf('{}x{y}')).toBe('{}x{y}');
    expect(hashTagOf('a{b')).toBe('a{b');
    expect(hashTagOf('x{a}{b}')).toBe('a');
    expect(hashSlot('wallet:lock:{job}')).toBe(hashSlot('wallet:fence:{job}'));
  });
});

describe('checkKeyPrefix', () => {
  it('allows a prefix without braces or with one whole tag', () => {
    expect(checkKeyPrefix('wallet:')).toBeNull();
    expect(checkKeyPrefix('{wallet}:')).toBeNull();
  });

  it('refuses a prefix that opens a tag the rest of the key would close', () => {
    expect(checkKeyPrefix('wallet{')).toMatch(/hash tag/);
    expect(checkKeyPrefix('{}:')).toMatch(/hash tag/);
  });
});
