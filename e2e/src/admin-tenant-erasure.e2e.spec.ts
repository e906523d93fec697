import { blob, PasskeyTestClient, type AuthSession } from '@wallet/testing';
import { jsonCall as call, rowsMentioning, rowsOutsideAudit, useAllInOneWithAdmin } from './admin-fixtures';
import { randomBytes } from 'node:crypto';

const ADMIN_TOKEN = 'e2e-admin-token-tenant-erasure-0123456789abc';
const DOOMED = 'erased-tenant';
const SPARED = 'spared-tenant';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/**
 * Force-deleting a tenant through the admin API erases everything each of its
 * users owns, as removing one user does: the vault (records, tombstones,
 * blinded and `~` plaintext tags, sync state), the keystore blob, passkeys,
 * refresh tokens and every other collection with their `userId`. Checked in
 * the built all-in-one's SQLite file itself, table by table, while the users
 * of another tenant keep every record, tag, change and their keystore.
 */
describe('admin force-deletion of a tenant erases everything its users own (built all-in-one, SQLite read directly)', () => {
  const env = useAllInOneWithAdmin(ADMIN_TOKEN);
  let wallet: string;
  let admin: string;
  beforeAll(() => ({ wallet, admin } = env));


  const rowsOf = (needle: string) => rowsOutsideAudit(env.app.dataDir, needle);

  /** A user of `tenant` with a keystore, vault records with blinded and plaintext tags (one deleted: a tombstone) and a v1 credential. */
  async function userWithData(tenant: string, name: string) {
    const secret = `${name}-${randomBytes(6).toString('hex')}`;
    const client = new PasskeyTestClient({ baseUrl: wallet, tenant });
    const session: AuthSession = await client.registered({ displayName: `User ${name}`, privateData: blob(`keystore v1 of ${secret}`) });
    const as = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      call(wallet, session.appToken, method, path, body, { 'x-tenant-id': tenant, ...headers });
    expect((await as('POST', '/user/session/private-data', blob(`keystore v2 of ${secret}`), { 'if-match': session.privateDataEtag ?? '*' })).status).toBe(204);
    for (const n of ['1', '2', '3']) {
      const created = await as('POST', '/storage/vault/records', {
        id: `rec-${n}`,
        category: b64('credential'),
        blob: b64(`ciphertext ${n} of ${secret}`),
        tags: { '~label': `plain label ${n} of ${secret}`, [b64('type')]: b64(`pid ${n}`) },
      });
      expect(created.status).toBe(201);
    }
    expect((await as('DELETE', '/storage/vault/records/rec-3')).status).toBe(204);
    const v1 = await as('POST', '/storage/vc', {
      credentials: [{ credentialIdentifier: `vc-of-${secret}`, credential: `eyJ.${b64(secret)}`, format: 'dc+sd-jwt' }],
    });
    expect(v1.status).toBe(200);
    return { session, secret, as };
  }

  /** What the user sees of their data through the services. */
  async function seenBy(as: Awaited<ReturnType<typeof userWithData>>['as']) {
    const records = await as('GET', '/storage/vault/records');
    const byTag = await as('POST', '/storage/vault/query', { query: { '~label': { $like: 'plain label%' } } });
    const sync = await as('GET', '/storage/vault/sync');
    const usage = await as('GET', '/storage/vault/usage');
    const keystore = await as('GET', '/user/session/private-data');
    const vc = await as('GET', '/storage/vc');
    return { records: records.body, byTag: byTag.body, sync: sync.body, usage: usage.body, keystore: keystore.body, vc: vc.body };
  }

  it("leaves nothing of the deleted tenant's users in any table of the store; the users of another tenant keep everything", async () => {
    for (const id of [DOOMED, SPARED]) expect((await call(admin, ADMIN_TOKEN, 'POST', '/admin/tenants', { id, display_name: id })).status).toBe(201);
    const gone = [await userWithData(DOOMED, 'first'), await userWithData(DOOMED, 'second')];
    const kept = await userWithData(SPARED, 'kept');
    const keptSeen = await seenBy(kept.as);
    expect(keptSeen.sync).toMatchObject({ changes: [{ id: 'rec-1' }, { id: 'rec-2' }, { id: 'rec-3', deleted: true }, expect.anything()] });
    const keptInStore = rowsOf(kept.session.uuid);

    // The scan finds every kind of row each user has before: account, passkey, session, vault records (the
    // tombstone too), their tags, the vault's sync state.
    for (const user of gone) {
      expect(rowsOf(user.session.uuid)).toEqual(
        expect.objectContaining({ users: 1, passkeys: 1, refresh_tokens: 1, vault_records: 4, vault_tags: 6, vault_users: 1 }),
      );
      expect(rowsMentioning(env.app.dataDir, `plain label 1 of ${user.secret}`)).toMatchObject({ vault_records: 1, vault_tags: 1 });
    }

    expect((await call(admin, ADMIN_TOKEN, 'DELETE', `/admin/tenants/${DOOMED}`)).status).toBe(412);
    const deleted = await call(admin, ADMIN_TOKEN, 'DELETE', `/admin/tenants/${DOOMED}?force=true`);
    // vault: each user's two records and the v1 credential (kept in the vault).
    expect(deleted).toMatchObject({ status: 200, body: { deleted: expect.objectContaining({ users: 2, passkeys: 2, refresh_tokens: 2, vault: 6 }) } });
    expect((await call(admin, ADMIN_TOKEN, 'GET', `/admin/tenants/${DOOMED}`)).status).toBe(404);

    // No table but the audit log has a row of the deleted tenant's users; no table at all (the audit log
    // included) has their plaintext tags, ciphertexts, keystores or credentials.
    for (const user of gone) {
      expect({ user: user.secret, rows: rowsOf(user.session.uuid) }).toEqual({ user: user.secret, rows: {} });
      for (const secret of [
        `plain label 1 of ${user.secret}`,
        b64(`ciphertext 1 of ${user.secret}`),
        blob(`keystore v2 of ${user.secret}`).$b64u,
        blob(`keystore v1 of ${user.secret}`).$b64u,
        user.secret,
      ]) {
        const found = rowsMentioning(env.app.dataDir, secret);
        expect({ secret, found }).toEqual({ secret, found: Object.fromEntries(Object.keys(found).map((table) => [table, 0])) });
      }
      // Their access tokens no longer open anything.
      expect((await user.as('GET', '/storage/vault/records')).status).not.toBe(200);
    }
    // Nor any row of the tenant itself, but the audit log.
    expect(rowsOf(`"${DOOMED}"`)).toEqual({});

    // The other tenant's user: every row, record, tag, change and the keystore as before.
    expect(rowsOf(kept.session.uuid)).toEqual(keptInStore);
    expect(await seenBy(kept.as)).toEqual(keptSeen);
    expect(keptSeen.keystore).toEqual({ privateData: blob(`keystore v2 of ${kept.secret}`) });
    expect((keptSeen.byTag?.['items'] as unknown[]).length).toBe(2);
  });
});
