describe('createCache', () => {
  afterEach(() => {
    jest.resetModules();
  });

  it('creates the memory driver without loading ioredis', async () => {
    let ioredisLoaded = false;
    jest.doMock('ioredis', () => {
      ioredisLoaded = true;
      return jest.requireActual('ioredis');
    });
    const { createCache } = await import('./index');
    const cache = await createCache({ type: 'memory' });
    try {
      expect(cache.driver).toBe('memory');
      await cache.set('k', 'v');
      expect(await cache.get('k')).toBe('v');
      expect(ioredisLoaded).toBe(false);
    } finally {
      await cache.close();
    }
  });

  it('loads ioredis for the redis driver, connecting in the background', async () => {
    let ioredisLoaded = false;
    jest.doMock('ioredis', () => {
      ioredisLoaded = true;
      return jest.requireActual('ioredis');
    });
    const { createCache } = await import('./index');
    // Port 1 on loopback: nothing listens there, so the cache is created but unavailable.
    const cache = await createCache({ type: 'redis', url: 'redis://127.0.0.1:1', commandTimeoutMs: 200 });
    try {
      expect(ioredisLoaded).toBe(true);
      expect(cache.driver).toBe('redis');
      const started = Date.now();
      // A fresh module registry has its own error classes: match on name and code.
      await expect(cache.ping()).rejects.toMatchObject({ name: 'UnavailableError', code: 'unavailable' });
      await expect(cache.get('k')).rejects.toMatchObject({ code: 'unavailable' });
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await cache.close();
    }
  });

  it('rejects a URL that is not redis:// or rediss:// without echoing it', async () => {
    const { createCache } = await import('./index');
    for (const url of ['http://cache:6379', 'not a url', '']) {
      const attempt = createCache({ type: 'redis', url });
      await expect(attempt).rejects.toMatchObject({ code: 'validation_failed' });
    }
    const error: unknown = await createCache({ type: 'redis', url: 'mongodb://user:s3cret@host' }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'validation_failed' });
    const { message, details } = error as Error & { details?: unknown };
    expect(JSON.stringify({ message, details })).not.toContain('s3cret');
  });

  it('rejects a command timeout that is not a positive integer', async () => {
    const { createCache } = await import('./index');
    await expect(
      createCache({ type: 'redis', url: 'redis://127.0.0.1:1', commandTimeoutMs: 0 }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
  });
});
