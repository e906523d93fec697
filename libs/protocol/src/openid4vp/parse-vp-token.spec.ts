import { PresentationError } from '@wallet/presentation-query';
import { MAX_PRESENTATIONS, parseDcqlVpToken, parsePexVpToken, readKeyBindingNonce } from './parse-vp-token';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const kbJwt = (payload: Record<string, unknown>) => `${b64({ alg: 'ES256', typ: 'kb+jwt' })}.${b64(payload)}.c2ln`;

/** The refusal's code and message, or a failure when nothing was thrown. */
function refusal(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof PresentationError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('parseDcqlVpToken', () => {
  it('reads an object (or its JSON) from query id to one presentation or a list of them', () => {
    expect([...parseDcqlVpToken('{"pid":"a~b~","mdl":["c~","d~"]}')]).toEqual([
      ['pid', ['a~b~']],
      ['mdl', ['c~', 'd~']],
    ]);
    expect([...parseDcqlVpToken({ pid: ['a~'] })]).toEqual([['pid', ['a~']]]);
    // A query id that is also an Object.prototype name is an ordinary key.
    expect([...parseDcqlVpToken('{"__proto__":["a~"]}')]).toEqual([['__proto__', ['a~']]]);
  });

  it('refuses anything else as malformed, naming the rule and never the presentation', () => {
    const notObject = { code: 'malformed', message: 'vp_token must be a JSON object keyed by credential query id' };
    expect(refusal(() => parseDcqlVpToken('{nope'))).toEqual(notObject);
    expect(refusal(() => parseDcqlVpToken('["a~"]'))).toEqual(notObject);
    expect(refusal(() => parseDcqlVpToken(undefined))).toEqual(notObject);
    expect(refusal(() => parseDcqlVpToken({ pid: [] }))).toEqual({ code: 'malformed', message: 'vp_token["pid"] must hold presentation strings' });
    expect(refusal(() => parseDcqlVpToken({ pid: ['secret~', 7] }))).toEqual({ code: 'malformed', message: 'vp_token["pid"] must hold presentation strings' });
    expect(refusal(() => parseDcqlVpToken({ pid: '' })).code).toBe('malformed');
    expect(refusal(() => parseDcqlVpToken({ ['x'.repeat(200)]: 1 })).message).toBe(`vp_token["${'x'.repeat(64)}"] must hold presentation strings`);
    expect(refusal(() => parseDcqlVpToken({}))).toEqual({ code: 'malformed', message: `vp_token must hold 1 to ${MAX_PRESENTATIONS} presentations` });
  });

  it(`accepts ${MAX_PRESENTATIONS} presentations over all queries and refuses one more`, () => {
    const many = (n: number) => ({ a: Array.from({ length: n - 1 }, (_, i) => `p${i}~`), b: 'last~' });
    expect([...parseDcqlVpToken(many(MAX_PRESENTATIONS)).values()].flat()).toHaveLength(MAX_PRESENTATIONS);
    expect(refusal(() => parseDcqlVpToken(many(MAX_PRESENTATIONS + 1))).message).toBe(`vp_token must hold 1 to ${MAX_PRESENTATIONS} presentations`);
  });
});

describe('parsePexVpToken', () => {
  it('reads one presentation, or a JSON array of 1 to 16', () => {
    expect(parsePexVpToken('a~b~')).toEqual({ list: ['a~b~'], single: true });
    expect(parsePexVpToken('["a~","b~"]')).toEqual({ list: ['a~', 'b~'], single: false });
    const full = JSON.stringify(Array.from({ length: MAX_PRESENTATIONS }, (_, i) => `p${i}~`));
    expect(parsePexVpToken(full).list).toHaveLength(MAX_PRESENTATIONS);
  });

  it('refuses a missing token, a broken array, an empty or too long one and non-strings', () => {
    expect(refusal(() => parsePexVpToken(undefined))).toEqual({ code: 'malformed', message: 'vp_token is required' });
    expect(refusal(() => parsePexVpToken(''))).toEqual({ code: 'malformed', message: 'vp_token is required' });
    expect(refusal(() => parsePexVpToken('[nope'))).toEqual({ code: 'malformed', message: 'vp_token is neither a presentation nor a JSON array of them' });
    const count = { code: 'malformed', message: `vp_token must hold 1 to ${MAX_PRESENTATIONS} presentation strings` };
    expect(refusal(() => parsePexVpToken('[]'))).toEqual(count);
    expect(refusal(() => parsePexVpToken('["a~",1]'))).toEqual(count);
    expect(refusal(() => parsePexVpToken(JSON.stringify(Array.from({ length: MAX_PRESENTATIONS + 1 }, () => 'p~'))))).toEqual(count);
  });
});

describe('readKeyBindingNonce', () => {
  const presentation = `issuer.jwt.sig~disclosure~${kbJwt({ nonce: 'n-1', aud: 'shop' })}`;

  it('reads the nonce of the first presentation in every vp_token form', () => {
    expect(readKeyBindingNonce(JSON.stringify({ pid: [presentation] }))).toBe('n-1');
    expect(readKeyBindingNonce(JSON.stringify({ pid: presentation }))).toBe('n-1');
    expect(readKeyBindingNonce(JSON.stringify([presentation]))).toBe('n-1');
    expect(readKeyBindingNonce(presentation)).toBe('n-1');
  });

  it('refuses a malformed vp_token as malformed, and a presentation without a KB-JWT nonce as key_binding_missing', () => {
    expect(refusal(() => readKeyBindingNonce(undefined))).toEqual({ code: 'malformed', message: 'vp_token is required' });
    expect(refusal(() => readKeyBindingNonce('x'.repeat(256_001))).code).toBe('malformed');
    expect(refusal(() => readKeyBindingNonce('{not json'))).toEqual({ code: 'malformed', message: 'vp_token is not valid JSON' });
    expect(refusal(() => readKeyBindingNonce(JSON.stringify({ pid: [] })))).toEqual({ code: 'malformed', message: 'vp_token holds no presentation' });
    const missing = { code: 'key_binding_missing', message: 'the presentation has no key-binding JWT with a nonce' };
    expect(refusal(() => readKeyBindingNonce('issuer.jwt.sig~disclosure~'))).toEqual(missing);
    expect(refusal(() => readKeyBindingNonce(`a~${kbJwt({ aud: 'shop' })}`))).toEqual(missing);
    expect(refusal(() => readKeyBindingNonce(`a~${kbJwt({ nonce: 'n'.repeat(257) })}`))).toEqual(missing);
    expect(refusal(() => readKeyBindingNonce(`a~${b64({ alg: 'ES256' })}.not-base64-json.c2ln`))).toEqual(missing);
  });
});
