import { PasskeyTestClient, startTestIssuer, startTestPdp, type AuthSession, type TestIssuer, type TestPdp } from '@wallet/testing';
import { jsonCall, useAllInOneWithAdmin } from './admin-fixtures';
import { authenticatedSocket, engineUrl, loopbackEngineEnv, rawSocket, type RawSocket } from './engine/engine-fixtures';

const ADMIN_TOKEN = 'e2e-admin-token-tenant-disable-0123456789ab';

/**
 * An admin disabling or deleting a tenant stops its users at once, also where
 * the HTTP guard does not look: a refresh that names no tenant (the guard checks
 * only the default one) gets no new tokens, and an engine connection opened
 * before starts no flow, takes no answer for a flow under way (it may still
 * cancel one) and takes no new token in a re-handshake. Built
 * all-in-one: auth and the engine on the wallet port, the admin API on its own.
 */
describe('disabling or deleting a tenant stops refreshes and engine connections opened before (built all-in-one)', () => {
  // An issuer on loopback (trusted by the PDP) for flows that wait on a question when the tenant is disabled.
  let issuer: TestIssuer;
  let pdp: TestPdp;
  const env = useAllInOneWithAdmin(ADMIN_TOKEN, async () => {
    issuer = await startTestIssuer();
    pdp = await startTestPdp((query) => query.subject.id === issuer.url);
    return loopbackEngineEnv(pdp.url);
  });
  afterAll(async () => {
    await issuer?.close();
    await pdp?.close();
  });
  let wallet: string;
  let admin: string;
  beforeAll(() => ({ wallet, admin } = env));

  const adminCall = (method: string, path: string, body?: unknown) => jsonCall(admin, ADMIN_TOKEN, method, `/admin${path}`, body);

  /** Waits until the wallet port's tenant directory has taken the change admin announced (it evicts on the cache channel). */
  async function walletSees(tenant: string, status: 200 | 404): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const answer = await fetch(`${wallet}/tenant/${tenant}/config`);
      await answer.body?.cancel();
      if (answer.status === status) return;
      if (Date.now() > deadline) throw new Error(`the wallet port still answers ${answer.status} for tenant ${tenant}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** A refresh that names no tenant: the default one is what the guard checks. */
  const refresh = (refreshToken: string, tenant?: string) =>
    new PasskeyTestClient({ baseUrl: wallet, ...(tenant ? { tenant } : {}) }).call<{ appToken: string; refreshToken: string }>('POST', '/auth/token/refresh', {
      body: { refreshToken },
    });

  /** A by-value offer whose issuer is never contacted: the flow is refused before it starts. */
  const offer = { credential_issuer: 'http://127.0.0.1', credential_configuration_ids: ['pid_sd_jwt'] };

  async function expectNoFlowStart(socket: RawSocket, message = 'the tenant of the access token does not exist'): Promise<void> {
    socket.send({ type: 'flow_start', message_id: 's1', protocol: 'oid4vci', params: { offer } });
    const refused = await socket.next();
    expect(refused).toMatchObject({ type: 'error', code: 'unauthenticated', message_id: 's1', message });
    expect((await socket.closed).code).toBe(4401);
  }

  async function member(tenant: string, name: string): Promise<{ session: AuthSession; fresh: { appToken: string; refreshToken: string } }> {
    expect((await adminCall('POST', '/tenants', { id: tenant, display_name: name })).status).toBe(201);
    const session = await new PasskeyTestClient({ baseUrl: wallet, tenant }).registered({ displayName: `${name} user` });
    // A second access token, for a re-handshake later: rotated while the tenant is still enabled.
    const rotated = await refresh(session.refreshToken);
    expect(rotated.status).toBe(200);
    return { session, fresh: rotated.body };
  }

  async function disable(tenant: string): Promise<void> {
    expect(await adminCall('PATCH', `/tenants/${tenant}`, { enabled: false })).toMatchObject({ status: 200, body: { id: tenant, enabled: false } });
    await walletSees(tenant, 404);
  }

  it('disabling a tenant refuses a refresh that names no tenant; enabled again, the same refresh token works', async () => {
    const { fresh } = await member('paused', 'Paused');
    await disable('paused');

    const refused = await refresh(fresh.refreshToken);
    expect(refused).toMatchObject({ status: 401, body: { code: 'invalid_grant' } });
    expect(JSON.stringify(refused.body)).not.toContain(fresh.refreshToken);
    // Naming the tenant: the guard's 404, as on every route of a disabled tenant.
    expect((await refresh(fresh.refreshToken, 'paused')).status).toBe(404);

    // Enabled again: the refusals did not use the refresh token up.
    expect((await adminCall('PATCH', '/tenants/paused', { enabled: true })).status).toBe(200);
    await walletSees('paused', 200);
    const again = await refresh(fresh.refreshToken);
    expect(again.status).toBe(200);
    (await authenticatedSocket(engineUrl(wallet), again.body.appToken)).close();
  });

  it('disabling a tenant: an engine connection opened before starts no flow, and is closed', async () => {
    const { session } = await member('halted', 'Halted');
    const live = await authenticatedSocket(engineUrl(wallet), session.appToken);
    await disable('halted');
    await expectNoFlowStart(live);
  });

  it('disabling a tenant: a flow under way on a connection opened before takes no answer (typed error, closed) and the issuer hears nothing more; cancelling still works', async () => {
    const { session } = await member('stalled', 'Stalled');
    const live = await authenticatedSocket(engineUrl(wallet), session.appToken);
    const waiting = async (messageId: string) => {
      live.send({ type: 'flow_start', message_id: messageId, protocol: 'oid4vci', params: { offer: (await issuer.createOffer()).offer } });
      const { flow_id } = await live.next('flow_started');
      const consent = await live.next('consent_request', 15_000);
      expect(consent).toMatchObject({ flow_id });
      return { flowId: flow_id as string, question: consent['message_id'] as string };
    };
    const answered = await waiting('s1');
    const cancelled = await waiting('s2');
    await disable('stalled');
    const tokenCalls = issuer.requests.filter((r) => r.path === '/token').length;

    // Stopping a flow stays allowed: it makes the engine talk to nobody.
    live.send({ type: 'flow_cancel', message_id: 'c1', flow_id: cancelled.flowId });
    expect(await live.next('flow_error')).toMatchObject({ code: 'cancelled', flow_id: cancelled.flowId, message_id: 'c1' });

    live.send({ type: 'consent_response', flow_id: answered.flowId, message_id: answered.question, accept: true });
    expect(await live.next('error')).toMatchObject({
      code: 'unauthenticated',
      message: 'the tenant of the access token does not exist',
      flow_id: answered.flowId,
      message_id: answered.question,
    });
    expect((await live.closed).code).toBe(4401);
    expect(issuer.requests.filter((r) => r.path === '/token')).toHaveLength(tokenCalls);
  });

  it('disabling a tenant: an engine connection opened before takes no fresh token in a re-handshake, and is closed; a new one is refused as before', async () => {
    const { session, fresh } = await member('frozen', 'Frozen');
    const live = await authenticatedSocket(engineUrl(wallet), session.appToken);
    await disable('frozen');

    live.send({ type: 'handshake', token: fresh.appToken, message_id: 'h2' });
    const renewal = await live.next();
    expect(renewal).toMatchObject({ type: 'error', code: 'unauthenticated', message_id: 'h2', message: 'the tenant of the access token does not exist' });
    expect(JSON.stringify(renewal)).not.toContain(fresh.appToken);
    expect((await live.closed).code).toBe(4401);
    const newcomer = await rawSocket(engineUrl(wallet));
    newcomer.send({ type: 'handshake', token: fresh.appToken, message_id: 'h1' });
    expect(await newcomer.next()).toMatchObject({ type: 'error', code: 'unauthenticated', message_id: 'h1' });
    expect((await newcomer.closed).code).toBe(4401);
  });

  it('deleting a tenant: no refresh, and a connection opened before starts no flow', async () => {
    const { session, fresh } = await member('doomed', 'Doomed');
    const live = await authenticatedSocket(engineUrl(wallet), session.appToken);

    expect((await adminCall('DELETE', '/tenants/doomed?force=true')).status).toBe(200);
    await walletSees('doomed', 404);

    expect(await refresh(fresh.refreshToken)).toMatchObject({ status: 401, body: { code: 'invalid_grant' } });
    // A forced deletion removes every user as a user removal does, revoking their access tokens (ADR 0018).
    await expectNoFlowStart(live, 'the access token has been revoked');
  });
});
