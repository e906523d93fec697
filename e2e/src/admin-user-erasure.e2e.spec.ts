import { blob, PasskeyTestClient, type AuthSession } from '@wallet/testing';
import { jsonCall as call, rowsMentioning, rowsOutsideAudit, useAllInOneWithAdmin } from './admin-fixtures';
import { randomBytes } from 'node:crypto';

const ADMIN_TOKEN = 'e2e-admin-token-user-erasure-0123456789abcdef';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/**
 * Removing a user through the admin API erases everything they own, as auth's
 * own account deletion does: the vault (records, tombstones, blinded and `~`
 * plaintext tags, sync state), the keystore blob, passkeys, refresh tokens
 * and every other collection with their `userId`. Checked in the built
 * all-in-one's SQLite file itself, table by table, while another user of the
 * same tenant keeps every record, tag, change and their keystore.
 */
describe('admin removal of a user erases everything they own (built all-in-one, SQLite read directly)', () => {
  const env = useAllInOneWithAdmin(ADMIN_TOKEN);
  let wallet: string;
  let admin: string;
  beforeAll(() => ({ wallet, admin } = env));


  /** The tables holding a row of the user, and how many; the audit log, which keeps who did what, left out. */
  const rowsOfUser = (userId: string) => rowsOutsideAudit(env.app.dataDir, userId);

  /** A user with a keystore, vault records with blinded and plaintext tags (one deleted: a tombstone) and a v1 credential. */
  async function userWithData(name: string) {
    const secret = `${name}-${randomBytes(6).toString('hex')}`;
    const client = new PasskeyTestClient({ baseUrl: wallet });
    const session: AuthSession = await client.registered({ displayName: `User ${name}`, privateData: blob(`keystore v1 of ${secret}`) });
    const keystore = await call(wallet, session.appToken, 'POST', '/user/session/private-data', blob(`keystore v2 of ${secret}`), {
      'if-match': session.privateDataEtag ?? '*',
    });
    expect(keystore.status).toBe(204);
    for (const n of ['1', '2', '3']) {
      const created = await call(wallet, session.appToken, 'POST', '/storage/vault/records', {
        id: `rec-${n}`,
        category: b64('credential'),
        blob: b64(`ciphertext ${n} of ${secret}`),
        tags: { '~label': `plain label ${n} of ${secret}`, [b64('type')]: b64(`pid ${n}`) },
      });
      expect(created.status).toBe(201);
    }
    expect((await call(wallet, session.appToken, 'DELETE', '/storage/vault/records/rec-3')).status).toBe(204);
    const v1 = await call(wallet, session.appToken, 'POST', '/storage/vc', {
      credentials: [{ credentialIdentifier: `vc-of-${secret}`, credential: `eyJ.${b64(secret)}`, format: 'dc+sd-jwt' }],
    });
    expect(v1.status).toBe(200);
    return { session, secret };
  }

  /** What the user sees of their data through the services. */
  async function seenBy(token: string) {
    const records = await call(wallet, token, 'GET', '/storage/vault/records');
    const byTag = await call(wallet, token, 'POST', '/storage/vault/query', { query: { '~label': { $like: 'plain label%' } } });
    const sync = await call(wallet, token, 'GET', '/storage/vault/sync');
    const usage = await call(wallet, token, 'GET', '/storage/vault/usage');
    const keystore = await call(wallet, token, 'GET', '/user/session/private-data');
    const vc = await call(wallet, token, 'GET', '/storage/vc');
    return { records: records.body, byTag: byTag.body, sync: sync.body, usage: usage.body, keystore: keystore.body, vc: vc.body };
  }

  it('leaves nothing of the removed user in any table of the store; the other user of the tenant keeps everything', async () => {
    const removed = await userWithData('removed');
    const kept = await userWithData('kept');
    const keptSeen = await seenBy(kept.session.appToken);
    expect(keptSeen.sync).toMatchObject({ changes: [{ id: 'rec-1' }, { id: 'rec-2' }, { id: 'rec-3', deleted: true }, expect.anything()] });
    const keptInStore = rowsOfUser(kept.session.uuid);

    // The scan finds every kind of row the user has before: account, passkey, session, vault records (the
    // tombstone too), their tags, the vault's sync state.
    expect(rowsOfUser(removed.session.uuid)).toEqual(
      expect.objectContaining({ users: 1, passkeys: 1, refresh_tokens: 1, vault_records: 4, vault_tags: 6, vault_users: 1 }),
    );
    expect(rowsMentioning(env.app.dataDir, `plain label 1 of ${removed.secret}`)).toMatchObject({ vault_records: 1, vault_tags: 1 });

    expect((await call(admin, ADMIN_TOKEN, 'DELETE', `/admin/tenants/default/users/${removed.session.uuid}`)).status).toBe(204);

    // No table but the audit log has a row of the removed user; no table at all (the audit log included)
    // has their plaintext tags, ciphertexts, keystore or credential.
    expect(rowsOfUser(removed.session.uuid)).toEqual({});
    for (const secret of [
      `plain label 1 of ${removed.secret}`,
      b64(`ciphertext 1 of ${removed.secret}`),
      blob(`keystore v2 of ${removed.secret}`).$b64u,
      blob(`keystore v1 of ${removed.secret}`).$b64u,
      removed.secret,
    ]) {
      const found = rowsMentioning(env.app.dataDir, secret);
      expect({ secret, found }).toEqual({ secret, found: Object.fromEntries(Object.keys(found).map((table) => [table, 0])) });
    }
    expect((await call(admin, ADMIN_TOKEN, 'GET', `/admin/tenants/default/users/${removed.session.uuid}`)).status).toBe(404);

    // The other user of the tenant: every row, record, tag, change and the keystore as before.
    expect(rowsOfUser(kept.session.uuid)).toEqual(keptInStore);
    expect(await seenBy(kept.session.appToken)).toEqual(keptSeen);
    expect(keptSeen.keystore).toEqual({ privateData: blob(`keystore v2 of ${kept.secret}`) });
    expect((keptSeen.byTag?.['items'] as unknown[]).length).toBe(2);
  });
});
