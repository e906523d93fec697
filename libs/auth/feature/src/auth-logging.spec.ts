import { createCache } from '@wallet/cache';
import { loadConfig } from '@wallet/config';
import { createStore } from '@wallet/persistence';
import { createServiceApp, ensureDefaultTenant, REDACTED_PATHS } from '@wallet/platform';
import { blob, PasskeyTestClient } from '@wallet/testing';
import pino from 'pino';
import { Writable } from 'node:stream';
import { AuthFeatureModule } from './auth-feature.module';

class Capture extends Writable {
  raw = '';
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.raw += chunk.toString();
    done();
  }
}

describe('auth and the request log', () => {
  it('never logs the keystore, refresh tokens or access tokens, even with logging.logBodies on', async () => {
    const config = loadConfig({
      argv: [],
      env: { WALLET_STORAGE_TYPE: 'memory', WALLET_SERVER_HOST: '127.0.0.1', WALLET_LOGGING_LOG_BODIES: 'true' },
    }).config;
    const store = await createStore({ type: 'memory' });
    await ensureDefaultTenant(store);
    const capture = new Capture();
    const logger = pino({ level: 'info', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, capture);
    const runtime = { config, store, cache: await createCache({ type: 'memory' }), logger };
    const server = await createServiceApp({ info: { name: 'auth', services: ['auth'] }, imports: [AuthFeatureModule], runtime, port: 0 });
    try {
      const c = new PasskeyTestClient({ baseUrl: server.url });
      const secret = 'keystore-secret-content-1234';
      const session = await c.registered({ privateData: blob(secret) });
      await c.login();
      await c.call('POST', '/user/session/private-data', {
        token: session.appToken,
        body: blob(`${secret}-v2`),
        headers: { 'x-private-data-if-match': session.privateDataEtag! },
      });
      const refreshed = await c.call<{ refreshToken: string }>('POST', '/auth/token/refresh', { body: { refreshToken: session.refreshToken } });
      expect(refreshed.status).toBe(200);
      await c.call('GET', '/user/session/account-info', { token: session.appToken });
      await new Promise((r) => setTimeout(r, 50));
      expect(capture.raw).toContain('request completed');
      const encoded = Buffer.from(secret).toString('base64url');
      for (const needle of [encoded.slice(0, 20), session.refreshToken.split('.')[2]!, refreshed.body.refreshToken.split('.')[2]!, session.appToken.split('.')[2]!]) {
        expect(capture.raw).not.toContain(needle);
      }
    } finally {
      await server.close();
      await store.close();
      await runtime.cache.close();
    }
  });
});
