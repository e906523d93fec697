import { loadConfig } from '@wallet/config';
import { describeListenError, type ServerSpec } from './run-service';
import { startNotices } from './start-notices';

const config = (env: Record<string, string> = {}) => loadConfig({ argv: [], env }).config;
const verifier = { info: { name: 'verifier', services: ['verifier'] }, url: 'http://127.0.0.1:8090' };
const wallet = { info: { name: 'wallet', services: ['auth', 'storage'] }, url: 'http://127.0.0.1:8080' };

describe('start notices', () => {
  it('warns that a phone cannot reach the QR code when the verifier has no public URL in development', () => {
    const [notice, ...rest] = startNotices(config(), [wallet, verifier]);
    expect(rest).toEqual([]);
    expect(notice!.fields).toMatchObject({ server: 'verifier', setting: 'verifier.publicUrl', env: 'WALLET_VERIFIER_PUBLIC_URL' });
    expect(notice!.message).toMatch(/verifier\.publicUrl is unset.*phone cannot reach.*WALLET_VERIFIER_PUBLIC_URL.*:8090/);
  });

  it('warns when the configured public URL is a loopback address, whichever setting provides it', () => {
    const envs: Array<Record<string, string>> = [
      { WALLET_VERIFIER_PUBLIC_URL: 'http://127.0.0.1:8090' },
      { WALLET_VERIFIER_PUBLIC_URL: 'http://localhost:8090' },
      { WALLET_VERIFIER_PUBLIC_URL: 'http://[::1]:8090' },
      { WALLET_SERVER_PUBLIC_URL: 'http://127.0.0.2' },
    ];
    for (const env of envs) {
      const notices = startNotices(config(env), [verifier]);
      expect({ env, messages: notices.map((n) => n.message) }).toEqual({ env, messages: [expect.stringMatching(/is a loopback address.*verifier\.publicUrl/)] });
    }
  });

  it('stays quiet for a reachable public URL, for production without one, and without a verifier', () => {
    expect(startNotices(config({ WALLET_VERIFIER_PUBLIC_URL: 'http://192.168.1.20:8090' }), [verifier])).toEqual([]);
    expect(startNotices(config({ WALLET_SERVER_PUBLIC_URL: 'https://verifier.example.com' }), [verifier])).toEqual([]);
    const production = config({ WALLET_MODE: 'production', WALLET_SERVER_ADMIN_TOKEN: 'x'.repeat(32), WALLET_CRYPTO_KEY_ENCRYPTION_KEY: 'A'.repeat(43) });
    expect(startNotices(production, [verifier])).toEqual([]);
    expect(startNotices(config(), [wallet])).toEqual([]);
  });
});

describe('describeListenError', () => {
  const error = (code: string) => Object.assign(new Error(`listen ${code}`), { code });
  const admin: ServerSpec = {
    info: { name: 'admin', services: ['admin'] },
    imports: [],
    port: (c) => c.allInOne.adminPort,
    portKey: 'allInOne.adminPort',
    listenHost: (c) => c.allInOne.adminHost,
    hostKey: 'allInOne.adminHost',
  };
  const auth: ServerSpec = { info: { name: 'auth', services: ['auth'] }, imports: [], port: (c) => c.services.auth.port };

  it('names the port and the setting that changes it when the port is taken', () => {
    expect(describeListenError(error('EADDRINUSE'), config(), admin)).toBe(
      'port 8081 (the admin server) is already in use by another program or another wallet process; stop that one, or choose another port with allInOne.adminPort (WALLET_ALL_IN_ONE_ADMIN_PORT=... or --allInOne.adminPort=...)',
    );
    expect(describeListenError(error('EADDRINUSE'), config({ WALLET_SERVICES_AUTH_PORT: '4000' }), auth)).toMatch(
      /^port 4000 \(the auth server\) is already in use.*services\.auth\.port \(WALLET_SERVICES_AUTH_PORT=\.\.\. or --services\.auth\.port=\.\.\.\)$/,
    );
    expect(describeListenError(error('EACCES'), config(), auth)).toMatch(/port 3001 .*privileges.*services\.auth\.port/);
  });

  it('names the interface setting when the address does not exist here, and keeps other messages', () => {
    expect(describeListenError(error('EADDRNOTAVAIL'), config({ WALLET_ALL_IN_ONE_ADMIN_HOST: '192.0.2.1' }), admin)).toMatch(
      /cannot listen on 192\.0\.2\.1.*allInOne\.adminHost \(WALLET_ALL_IN_ONE_ADMIN_HOST/,
    );
    expect(describeListenError(error('EADDRNOTAVAIL'), config(), auth)).toMatch(/server\.host \(WALLET_SERVER_HOST/);
    expect(describeListenError(new Error('store unreachable'), config(), auth)).toBe('store unreachable');
  });
});
