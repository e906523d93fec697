import { MAX_FRAME_DEPTH, MAX_FRAME_MEMBERS } from './common';
import { frameIds, parseClientFrame, scanFrame } from './parse-client-frame';
import { zServerMessage } from './server-messages';

/** The error frame the engine sends for a refusal, as the gateway builds it. */
const errorFrame = (frame: string) => {
  const result = parseClientFrame(frame);
  if (result.ok) throw new Error(`accepted: ${frame.slice(0, 80)}`);
  const { code, message, path, message_id, flow_id } = result.refusal;
  return { type: 'error', code, message, ...(message_id ? { message_id } : {}), ...(flow_id ? { flow_id } : {}), ...(path ? { path } : {}) };
};

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

  // Found by the engine fuzzer: the error echoed any id-like flow_id ("kN"), and a client that
  // validates frames against zServerMessage refused the engine's own error.
  it('echoes only a well-formed flow_id, so the error is a valid server message', () => {
    const frames = [
      JSON.stringify({ type: 'presentation_response', flow_id: 'kN', message_id: 'm1', presentations: ['x'] }),
      JSON.stringify({ type: 'prototype', message_id: '_3:v', flow_id: 'cpr' }),
      JSON.stringify({ type: 'a'.repeat(70), flow_id: '1e999' }),
      JSON.stringify({ type: 'flow_resume', message_id: 'q3', flow_id: 'H', extra: 1 }),
      JSON.stringify({ type: 'flow_cancel', message_id: 'm2', flow_id: 'x:y.z' }),
    ];
    for (const frame of frames) {
      const error = errorFrame(frame);
      expect(zServerMessage.safeParse(error).success).toBe(true);
      expect(error).not.toHaveProperty('flow_id');
    }
    const valid = errorFrame(JSON.stringify({ type: 'flow_cancel', message_id: 'm3', flow_id: 'A'.repeat(24), extra: 1 }));
    expect(valid).toMatchObject({ message_id: 'm3', flow_id: 'A'.repeat(24) });
  });

  // Found by the engine fuzzer: an offer object nested 20,000 levels deep passed the schema and made
  // storing the flow overflow the stack (JSON.stringify), answered with `internal`; a 1 MiB frame
  // nested 500,000 levels deep held the event loop ~250 ms in JSON.parse, one of 70,000 members ~100 ms.
  it('refuses a frame nested deeper than MAX_FRAME_DEPTH, before parsing it, echoing its ids', () => {
    const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    const frame = (offer: string) => `{"type":"flow_start","message_id":"d1","protocol":"oid4vci","params":{"offer":${offer}}}`;
    expect(parseClientFrame(frame(deep(20_000)))).toEqual({
      ok: false,
      refusal: { code: 'invalid_message', message: `the frame nests arrays and objects more than ${MAX_FRAME_DEPTH} levels deep`, message_id: 'd1' },
    });
    // The frame and params are two levels: an offer of MAX_FRAME_DEPTH - 2 levels is within the bound.
    expect(parseClientFrame(frame(deep(MAX_FRAME_DEPTH - 2)))).toMatchObject({ ok: true });
    expect(parseClientFrame(frame(deep(MAX_FRAME_DEPTH - 1)))).toMatchObject({ ok: false, refusal: { code: 'invalid_message' } });
    const parse = jest.spyOn(JSON, 'parse');
    try {
      const n = 500_000;
      expect(parseClientFrame(`{"type":"ping","flow_id":"${'F'.repeat(22)}","pad":${'['.repeat(n)}${']'.repeat(n)},"message_id":"d2"}`)).toMatchObject({
        ok: false,
        refusal: { message_id: 'd2', flow_id: 'F'.repeat(22) },
      });
      // Only the two id strings were decoded, never the frame.
      expect(parse.mock.calls.every(([text]) => String(text).length < 40)).toBe(true);
    } finally {
      parse.mockRestore();
    }
  });

  it('refuses a frame of more than MAX_FRAME_MEMBERS object members, before parsing it', () => {
    const wide = (n: number) => `{"type":"ping","message_id":"w1",${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(',')}}`;
    expect(parseClientFrame(wide(70_000))).toEqual({
      ok: false,
      refusal: { code: 'invalid_message', message: `the frame has more than ${MAX_FRAME_MEMBERS} object members`, message_id: 'w1' },
    });
    // Within the bound it is parsed and refused by its schema (unknown fields), as before.
    expect(parseClientFrame(wide(MAX_FRAME_MEMBERS - 2))).toMatchObject({ ok: false, refusal: { code: 'invalid_message', message: expect.stringContaining('unknown fields') } });
    // Arrays of values are not members.
    expect(parseClientFrame(`{"type":"ping","message_id":"w2","pad":[${Array.from({ length: 100_000 }, () => '1').join(',')}]}`)).toMatchObject({ refusal: { message: 'the message has unknown field pad' } });
  });

  it('counts nesting and members outside strings only', () => {
    expect(scanFrame(JSON.stringify({ a: '[[[[[[{{{{{{:::,,,', b: ['x'] }))).toMatchObject({ depth: 2, members: 2 });
    expect(scanFrame(JSON.stringify({ a: 'quote \\" and [[[', b: [[['x']]] }))).toMatchObject({ depth: 4, members: 2 });
    expect(scanFrame(JSON.stringify({ a: 'ends in a backslash \\', b: [[{ c: 1 }]] }))).toMatchObject({ depth: 4, members: 3 });
    expect(scanFrame('[[1],[2],[3]]')).toMatchObject({ depth: 2, members: 0, ids: {} });
  });

  it('reads the top-level ids as JSON.parse would, without parsing the frame', () => {
    const flowId = 'B'.repeat(22);
    const frames = [
      JSON.stringify({ type: 'ping', message_id: 'p1' }),
      JSON.stringify({ type: 'flow_cancel', message_id: 'c1', flow_id: flowId }),
      JSON.stringify({ type: 'flow_cancel', message_id: '<x>', flow_id: 'short' }),
      JSON.stringify({ type: 'flow_start', params: { offer: { message_id: 'nested', flow_id: flowId } }, message_id: 'top' }),
      '{"type":"ping","message_id":"first","message_id":"last"}',
      '{"type":"ping","message_id":"first","message_id":7}',
      '{"type":"ping","message_id":"first","message_id":{"a":"b"}}',
      '{"type":"ping","message\u005fid":"escaped-key","flow\u005fid":"' + flowId + '"}',
      '{"type":"ping","message_id":"m\u0031"}',
      '{"type":"ping","x":["message_id","no"],"y":"message_id","message_id":"after"}',
      ' \n {"message_id" : "spaced" , "type":"ping"}',
    ];
    for (const frame of frames) {
      const parsed = JSON.parse(frame) as Record<string, unknown>;
      const expected: Record<string, string> = {};
      if (typeof parsed['message_id'] === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(parsed['message_id'])) expected['message_id'] = parsed['message_id'];
      if (typeof parsed['flow_id'] === 'string' && /^[A-Za-z0-9_-]{22,64}$/.test(parsed['flow_id'])) expected['flow_id'] = parsed['flow_id'];
      expect([frame, frameIds(frame)]).toEqual([frame, expected]);
    }
    for (const junk of ['{not json', '', '[{"message_id":"a"}]', 'null', '"m"']) expect(frameIds(junk)).toEqual({});
  });
});
