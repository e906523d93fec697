import { parseDcqlQuery } from './dcql-query';
import { evaluateDcqlQuery, selectClaim, type PresentedCredential } from './evaluate-dcql-query';

const PID = 'https://credentials.example.com/pid';
const pid = (claims: Record<string, unknown>, extra: Partial<PresentedCredential> = {}): PresentedCredential => ({
  format: 'dc+sd-jwt',
  vct: PID,
  claims,
  holderBound: true,
  ...extra,
});

describe('parseDcqlQuery', () => {
  it('accepts the OpenID4VP examples and applies defaults', () => {
    const query = parseDcqlQuery({
      credentials: [
        {
          id: 'my_credential',
          format: 'dc+sd-jwt',
          meta: { vct_values: [PID] },
          claims: [{ path: ['last_name'] }, { path: ['address', 'street_address'] }],
        },
      ],
    });
    expect(query.credentials[0]).toMatchObject({ multiple: false, require_cryptographic_holder_binding: true });
  });

  it.each([
    [{}, /credentials/],
    [{ credentials: [] }, /credentials/],
    [{ credentials: [{ id: 'a b', format: 'dc+sd-jwt', meta: {} }] }, /credentials\/0\/id/],
    [{ credentials: [{ id: 'a', format: 'dc+sd-jwt', meta: {}, bogus: 1 }] }, /bogus|Unrecognized/],
    [{ credentials: [{ id: 'a', format: 'dc+sd-jwt', meta: {}, claims: [{ path: [] }] }] }, /claims\/0\/path/],
    [{ credentials: [{ id: 'a', format: 'dc+sd-jwt', meta: {}, claims: [{ path: [-1] }] }] }, /claims\/0\/path\/0/],
    [{ credentials: [{ id: 'a', format: 'f', meta: {} }, { id: 'a', format: 'f', meta: {} }] }, /unique/],
    [{ credentials: [{ id: 'a', format: 'f', meta: {}, claims: [{ id: 'x', path: ['x'] }], claim_sets: [['y']] }] }, /claim_sets\/0\/0.*unknown claim id/],
    [{ credentials: [{ id: 'a', format: 'f', meta: {} }], credential_sets: [{ options: [['b']] }] }, /credential_sets\/0\/options\/0\/0/],
  ])('refuses %j with the path of the problem', (input, message) => {
    expect(() => parseDcqlQuery(input)).toThrow(expect.objectContaining({ code: 'query_invalid', message: expect.stringMatching(message) }));
  });
});

describe('selectClaim', () => {
  const claims = { a: { b: [{ c: 1 }, { c: 2 }, { d: 3 }] }, n: null };
  it('follows names, indexes and wildcards', () => {
    expect(selectClaim(claims, ['a', 'b', 1, 'c'])).toEqual([2]);
    expect(selectClaim(claims, ['a', 'b', null, 'c'])).toEqual([1, 2]);
    expect(selectClaim(claims, ['a', 'b', 5])).toEqual([]);
    expect(selectClaim(claims, ['a', 'x'])).toEqual([]);
    expect(selectClaim(claims, ['n'])).toEqual([null]);
    expect(selectClaim(claims, ['a', null])).toEqual([]);
  });
});

describe('evaluateDcqlQuery', () => {
  const query = parseDcqlQuery({
    credentials: [
      {
        id: 'pid',
        format: 'dc+sd-jwt',
        meta: { vct_values: [PID] },
        claims: [
          { id: 'given', path: ['given_name'] },
          { id: 'country', path: ['address', 'country'], values: ['DE', 'AT'] },
          { id: 'birth', path: ['birthdate'] },
        ],
        claim_sets: [['given', 'country'], ['birth']],
      },
      { id: 'diploma', format: 'dc+sd-jwt', meta: { vct_values: ['https://diploma.example'] } },
      { id: 'other_diploma', format: 'jwt_vc_json', meta: { type_values: [['VerifiableCredential', 'Diploma']] } },
    ],
    credential_sets: [{ options: [['pid']] }, { options: [['diploma'], ['other_diploma']], required: false }],
  });
  const answer = (entries: Array<[string, PresentedCredential[]]>) => () => evaluateDcqlQuery(query, new Map(entries));

  it('accepts a response that satisfies one claim set and the required credential set', () => {
    expect(answer([['pid', [pid({ given_name: 'E', address: { country: 'DE' } })]]])).not.toThrow();
    expect(answer([['pid', [pid({ birthdate: '1963-08-12' })]]])).not.toThrow();
    expect(
      answer([
        ['pid', [pid({ birthdate: 'x' })]],
        ['other_diploma', [{ format: 'jwt_vc_json', types: ['VerifiableCredential', 'Diploma'], claims: {}, holderBound: true }]],
      ]),
    ).not.toThrow();
  });

  it.each<[string, Array<[string, PresentedCredential[]]>, RegExp]>([
    ['a value that was not allowed', [['pid', [pid({ given_name: 'E', address: { country: 'FR' } })]]], /no claim set/],
    ['no claim set satisfied', [['pid', [pid({ given_name: 'E' })]]], /no claim set/],
    ['another credential type', [['pid', [pid({ birthdate: 'x' }, { vct: 'https://evil.example' })]]], /vct/],
    ['another format', [['pid', [pid({ birthdate: 'x' }, { format: 'jwt_vc_json' })]]], /format/],
    ['no holder binding', [['pid', [pid({ birthdate: 'x' }, { holderBound: false })]]], /holder binding/],
    ['the required set unanswered', [['diploma', [pid({}, { vct: 'https://diploma.example' })]]], /credential set 0/],
    ['an id that was not asked', [['pid', [pid({ birthdate: 'x' })]], ['passport', [pid({})]]], /not asked/],
    ['two credentials where one is allowed', [['pid', [pid({ birthdate: 'x' }), pid({ birthdate: 'y' })]]], /several/],
    ['W3C types that do not match', [['pid', [pid({ birthdate: 'x' })]], ['other_diploma', [{ format: 'jwt_vc_json', types: ['VerifiableCredential'], claims: {}, holderBound: true }]]], /types/],
  ])('refuses %s', (_name, entries, message) => {
    expect(answer(entries)).toThrow(expect.objectContaining({ code: 'query_not_satisfied', message: expect.stringMatching(message) }));
  });

  it('requires every credential query when there are no credential sets', () => {
    const simple = parseDcqlQuery({
      credentials: [
        { id: 'a', format: 'dc+sd-jwt', meta: { vct_values: [PID] }, claims: [{ path: ['given_name'] }] },
        { id: 'b', format: 'dc+sd-jwt', meta: { vct_values: [PID] } },
      ],
    });
    expect(() => evaluateDcqlQuery(simple, new Map([['a', [pid({ given_name: 'E' })]]]))).toThrow(/no credential for "b"/);
    expect(() => evaluateDcqlQuery(simple, new Map([['a', [pid({})]], ['b', [pid({})]]]))).toThrow(/claim given_name/);
    expect(() => evaluateDcqlQuery(simple, new Map([['a', [pid({ given_name: 'E' })]], ['b', [pid({})]]]))).not.toThrow();
  });
});
