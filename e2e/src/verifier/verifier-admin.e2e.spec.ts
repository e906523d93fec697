import {
  createTestSdJwtHolder,
  startBuiltApp,
  type ServiceProcess,
  createDidJwkSdJwtIssuer,
} from '@wallet/testing';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { APP_CALLBACK, runWallet } from './verifier-fixtures';

const TOKEN = 'e2e-admin-token-'.padEnd(40, 'v');
const VCT = 'https://credentials.example.com/membership';

/** The admin API manages the verifier's services; the verifier serves them within seconds, no restart. */
describe('verifier services managed through the admin API (all-in-one bundle)', () => {
  let proc: ServiceProcess;
  let admin: string;
  let verifier: string;

  beforeAll(async () => {
    proc = await startBuiltApp('all-in-one', { WALLET_SERVER_ADMIN_TOKEN: TOKEN });
    admin = proc.servers.get('admin')!;
    verifier = proc.servers.get('verifier')!;
  });

  afterAll(async () => {
    await proc?.stop('SIGTERM');
  });

  const put = (id: string, body: unknown) =>
    fetch(`${admin}/admin/verifier-services/${id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  /** Polls until the verifier answers `status` for the service (admin announces the change; the verifier reloads). */
  async function startWhen(serviceId: string, status: number): Promise<Response> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const response = await fetch(`${verifier}/api/v1/startsiop?client_id=${serviceId}&client_callback=${encodeURIComponent(APP_CALLBACK)}`);
      if (response.status === status || Date.now() > deadline) return response;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('runs a flow for a service created through the admin API, and stops when it is deleted', async () => {
    const issuer = await createDidJwkSdJwtIssuer();
    const did = issuer.did;
    const holder = await createTestSdJwtHolder();
    const credential = await issuer.issue({ member_id: 'M-42', level: 'gold' }, { _sd: ['member_id', 'level'] }, { vct: VCT, holderJwk: holder.publicJwk });

    expect((await startWhen('club', 400)).status).toBe(400);
    const created = await put('club', {
      id: 'club',
      defaultScope: 'member',
      redirectUris: [APP_CALLBACK],
      scopes: {
        member: {
          dcql: { credentials: [{ id: 'card', format: 'dc+sd-jwt', meta: { vct_values: [VCT] }, claims: [{ path: ['level'], values: ['gold'] }] }] },
          trust: [{ type: VCT, issuers: [{ id: did }] }],
          token: { type: 'mapping', claims: { tier: 'card.level' } },
        },
      },
    });
    expect(created.status).toBe(200);

    const started = await startWhen('club', 200);
    expect(started.status).toBe(200);
    const sessionId = started.headers.get('x-session-id')!;
    const result = await runWallet({
      walletUrl: await started.text(),
      credential,
      holderPrivateJwk: holder.privateJwk,
      disclose: { level: true },
    });
    expect(result).toMatchObject({ status: 200 });
    const answered = (await (await fetch(`${verifier}/api/v1/sessions/${sessionId}/status`)).json()) as { redirectTo: string };
    const token = await fetch(`${verifier}/services/club/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: new URL(answered.redirectTo).searchParams.get('code')! }),
    });
    const { access_token: accessToken } = (await token.json()) as { access_token: string };
    const jwks = createLocalJWKSet((await (await fetch(`${verifier}/.well-known/jwks`)).json()) as JSONWebKeySet);
    expect((await jwtVerify(accessToken, jwks, { audience: 'club' })).payload).toMatchObject({ tier: 'gold' });

    const removed = await fetch(`${admin}/admin/verifier-services/club`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(removed.status).toBe(204);
    expect((await startWhen('club', 400)).status).toBe(400);
  });
});
