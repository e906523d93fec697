import { PasskeyTestClient, type AuthSession } from '@wallet/testing';
import { jsonCall, useAllInOneWithAdmin } from './admin-fixtures';
import { authenticatedSocket, engineUrl, rawSocket } from './engine/engine-fixtures';

const ADMIN_TOKEN = 'e2e-admin-token-revocation-0123456789abcdef';

/** The problem type the access-token guard answers a revoked token with (`RefusalError` reason `token_revoked`). */
const TOKEN_REVOKED = 'https://wallet.dev/problems/token_revoked';

/**
 * An admin suspending or deleting a user cuts that user off at once, not
 * when their access tokens expire: the same token that read the vault and
 * opened an engine session a moment before is refused by storage (401
 * `token_revoked`) and by the engine handshake (`unauthenticated`), and an
 * engine connection opened before starts no new flow. Built all-in-one: auth,
 * storage and the engine on the wallet port, the admin API on its own.
 */
describe('admin suspension and deletion revoke the user’s access tokens (built all-in-one)', () => {
  const env = useAllInOneWithAdmin(ADMIN_TOKEN);
  let wallet: string;
  let admin: string;
  beforeAll(() => ({ wallet, admin } = env));

  const adminCall = (method: string, path: string, body?: unknown) => jsonCall(admin, ADMIN_TOKEN, method, `/admin/tenants/default${path}`, body);

  async function storage(token: string, method = 'GET', path = '/storage/vault/records', body?: unknown) {
    const response = await fetch(`${wallet}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, type: response.headers.get('content-type') ?? '', text, body: (text ? JSON.parse(text) : null) as Record<string, unknown> | null };
  }

  /** Opens an engine connection and sends the handshake; the first answer, and the close code when it was refused. */
  async function handshake(token: string): Promise<{ frame: Record<string, unknown>; closeCode: number | null }> {
    const socket = await rawSocket(engineUrl(wallet));
    socket.send({ type: 'handshake', token, message_id: 'h1' });
    const frame = await socket.next();
    if (frame['type'] === 'handshake_ok') {
      socket.close();
      return { frame, closeCode: null };
    }
    return { frame, closeCode: (await socket.closed).code };
  }

  async function expectAccess(token: string, recordId: string): Promise<void> {
    const read = await storage(token, 'GET', `/storage/vault/records/${recordId}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: recordId });
    expect((await handshake(token)).frame).toMatchObject({ type: 'handshake_ok', message_id: 'h1' });
  }

  async function expectRefused(token: string): Promise<void> {
    const read = await storage(token);
    expect({ status: read.status, type: read.type, code: read.body?.['code'], problem: read.body?.['type'] }).toEqual({
      status: 401,
      type: expect.stringContaining('application/problem+json') as unknown as string,
      code: 'token_revoked',
      problem: TOKEN_REVOKED,
    });
    expect(read.text).not.toContain(token);
    const refused = await handshake(token);
    expect(refused.frame).toMatchObject({ type: 'error', code: 'unauthenticated', message_id: 'h1' });
    expect(JSON.stringify(refused.frame)).not.toContain(token);
    expect(refused.closeCode).toBe(4401);
  }

  /** A by-value offer whose issuer is never contacted: the flow is refused before it starts. */
  const offer = { credential_issuer: 'http://127.0.0.1', credential_configuration_ids: ['pid_sd_jwt'] };

  /** A user tokens are revoked for at a second's granularity (`iat`): the next token must come from a later second. */
  const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));

  it('suspending a user refuses their live access token on storage and the engine at once; unsuspending and a new login work again', async () => {
    const user = new PasskeyTestClient({ baseUrl: wallet });
    const session: AuthSession = await user.registered({ displayName: 'Sue Spended' });
    expect((await storage(session.appToken, 'POST', '/storage/vault/records', { id: 'r1', category: 'c', blob: 'AAAA', tags: {} })).status).toBe(201);
    await expectAccess(session.appToken, 'r1');
    const live = await authenticatedSocket(engineUrl(wallet), session.appToken);

    const suspended = await adminCall('PATCH', `/users/${session.uuid}`, { status: 'suspended' });
    expect(suspended).toMatchObject({ status: 200, body: { id: session.uuid, status: 'suspended' } });

    await expectRefused(session.appToken);
    // A connection opened before the suspension starts nothing more and is closed.
    live.send({ type: 'flow_start', message_id: 's1', protocol: 'oid4vci', params: { offer } });
    expect(await live.next('error')).toMatchObject({ code: 'unauthenticated', message_id: 's1' });
    expect((await live.closed).code).toBe(4401);
    // No way back in while suspended: the refresh token is revoked and a login refused.
    const refreshed = await user.call('POST', '/auth/token/refresh', { body: { refreshToken: session.refreshToken } });
    expect(refreshed).toMatchObject({ status: 401, body: { code: 'invalid_grant' } });
    expect(await user.login()).toMatchObject({ status: 403, body: { code: 'account_suspended' } });

    expect(await adminCall('PATCH', `/users/${session.uuid}`, { status: 'active' })).toMatchObject({ status: 200, body: { status: 'active' } });
    await nextSecond();
    const again = await user.login();
    expect(again.status).toBe(200);
    await expectAccess(again.body.appToken, 'r1');
    // The token from before the suspension stays refused.
    await expectRefused(session.appToken);
  });

  it('deleting a user refuses their live access token on storage and the engine at once', async () => {
    const user = new PasskeyTestClient({ baseUrl: wallet });
    const session = await user.registered({ displayName: 'Del Eted' });
    expect((await storage(session.appToken, 'POST', '/storage/vault/records', { id: 'r2', category: 'c', blob: 'AAAA', tags: {} })).status).toBe(201);
    await expectAccess(session.appToken, 'r2');
    const live = await authenticatedSocket(engineUrl(wallet), session.appToken);

    expect((await adminCall('DELETE', `/users/${session.uuid}`)).status).toBe(204);

    await expectRefused(session.appToken);
    live.send({ type: 'flow_start', message_id: 's1', protocol: 'oid4vci', params: { offer } });
    expect(await live.next('error')).toMatchObject({ code: 'unauthenticated', message_id: 's1' });
    expect((await live.closed).code).toBe(4401);
    expect((await user.call('POST', '/auth/token/refresh', { body: { refreshToken: session.refreshToken } })).status).toBe(401);
    expect((await user.login()).body).toMatchObject({ code: 'passkey_unknown' });
    expect((await adminCall('GET', `/users/${session.uuid}`)).status).toBe(404);
  });
});
