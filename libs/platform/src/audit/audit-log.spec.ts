import { Collections, createStore } from '@wallet/persistence';
import { AuditLog, redactForAudit } from './audit-log';

describe('AuditLog', () => {
  it('stores events with time-ordered ids and secrets redacted at any depth', async () => {
    const store = await createStore({ type: 'memory' });
    let t = Date.parse('2030-01-01T00:00:00Z');
    const log = new AuditLog(store, () => new Date((t += 1000)));
    await log.record('acme', {
      actorType: 'admin',
      actorId: null,
      action: 'issuer.update',
      resourceType: 'issuer',
      resourceId: 'i1',
      before: { clientPrivateKey: 'PRIVATE-1', visible: true },
      after: { clientPrivateKey: 'PRIVATE-2', visible: false, nested: { client_secret: 's3cret', keep: 1 } },
    });
    await log.record('acme', { actorType: 'user', actorId: 'u1', action: 'passkey.remove', resourceType: 'passkey' });
    const page = await store.repository(Collections.auditEvents).list('acme');
    expect(page.items.map((e) => e.action)).toEqual(['issuer.update', 'passkey.remove']);
    const first = page.items[0]!;
    expect(first.id.startsWith('2030-01-01T00:00:01.000Z~')).toBe(true);
    expect(first.before).toEqual({ clientPrivateKey: '[redacted]', visible: true });
    expect(first.after).toEqual({ clientPrivateKey: '[redacted]', visible: false, nested: { client_secret: '[redacted]', keep: 1 } });
    expect(JSON.stringify(page.items)).not.toMatch(/PRIVATE|s3cret/);
    expect(page.items[1]).toMatchObject({ actorType: 'user', actorId: 'u1', resourceId: null, before: null, after: null });
    await store.close();
  });

  it('keeps a null secret as null, so "not set" stays visible', () => {
    expect(redactForAudit({ privateData: null, token: 'x', list: [{ code: 'c' }] })).toEqual({
      privateData: null,
      token: '[redacted]',
      list: [{ code: '[redacted]' }],
    });
  });
});
