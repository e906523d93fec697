import { parseClientFrame } from './parse-client-frame';

describe('parseClientFrame', () => {
  it('accepts a handshake', () => {
    const result = parseClientFrame(JSON.stringify({ type: 'handshake', token: 'a.b.c' }));
    expect(result).toEqual({ ok: true, message: { type: 'handshake', token: 'a.b.c' } });
  });

  it('refuses junk JSON, non-objects and frames without a type', () => {
    expect(parseClientFrame('{nope')).toEqual({ ok: false, refusal: { code: 'invalid_message', message: 'the frame is not valid JSON' } });
    expect(parseClientFrame('[1]')).toMatchObject({ ok: false, refusal: { code: 'invalid_message', message: 'a message must be a JSON object' } });
    expect(parseClientFrame('{"message_id":"m1"}')).toMatchObject({ ok: false, refusal: { code: 'invalid_message', path: '/type', message_id: 'm1' } });
  });

  it('names an unknown type as unsupported and echoes the ids', () => {
    const result = parseClientFrame(JSON.stringify({ type: 'fetch_any_url', message_id: 'm7', url: 'http://127.0.0.1/' }));
    expect(result).toEqual({
      ok: false,
      refusal: { code: 'unsupported_message', message: 'message type "fetch_any_url" is not supported', path: '/type', message_id: 'm7' },
    });
  });

  it('names the field that breaks the schema', () => {
    const missing = parseClientFrame(JSON.stringify({ type: 'flow_start', message_id: 'm1', protocol: 'oid4vci', params: {} }));
    expect(missing).toMatchObject({ ok: false, refusal: { code: 'invalid_message', message_id: 'm1' } });
    const extra = parseClientFrame(JSON.stringify({ type: 'ping', surprise: 1 }));
    expect(extra).toMatchObject({ ok: false, refusal: { code: 'invalid_message', message: 'the message has unknown field surprise' } });
    const badId = parseClientFrame(JSON.stringify({ type: 'flow_resume', flow_id: 'short' }));
    expect(badId).toMatchObject({ ok: false, refusal: { code: 'invalid_message', path: '/flow_id' } });
  });

  it('does not echo ids that are not ids', () => {
    const result = parseClientFrame(JSON.stringify({ type: 'nope', message_id: '<script>' }));
    if (result.ok) throw new Error('accepted');
    expect(result.refusal.code).toBe('unsupported_message');
    expect(result.refusal.message_id).toBeUndefined();
  });
});
