import type { PresentedCredential } from '../dcql/evaluate-dcql-query';
import {
  evaluatePresentationExchange,
  parseJsonPath,
  parsePresentationDefinition,
  parsePresentationSubmission,
  selectSubmitted,
} from './presentation-exchange';

const PID = 'https://credentials.example.com/pid';
const definition = parsePresentationDefinition({
  id: 'pd-1',
  input_descriptors: [
    {
      id: 'pid',
      format: { 'vc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'] } },
      constraints: {
        limit_disclosure: 'required',
        fields: [
          { path: ['$.vct'], filter: { type: 'string', const: PID } },
          { path: ['$.given_name'] },
          { path: ['$.address.country', "$['address']['country_code']"], filter: { type: 'string', enum: ['DE', 'AT'] } },
          { path: ['$.age_over_18'], filter: { type: 'boolean', const: true }, optional: true },
          { path: ['$.birth_year'], filter: { type: 'integer', minimum: 1900, maximum: 2010 }, optional: true },
        ],
      },
    },
  ],
});
const credential = (claims: Record<string, unknown>, vct = PID): PresentedCredential => ({ format: 'dc+sd-jwt', vct, claims, holderBound: true });
const submission = (ids = ['pid'], definitionId = 'pd-1') =>
  parsePresentationSubmission(JSON.stringify({ id: 's', definition_id: definitionId, descriptor_map: ids.map((id) => ({ id, format: 'vc+sd-jwt', path: '$' })) }));

describe('parseJsonPath', () => {
  it.each<[string, unknown]>([
    ['$', []],
    ['$.a.b', ['a', 'b']],
    ["$['a b'].c", ['a b', 'c']],
    ['$.a[0]', ['a', 0]],
    ['$.a[*].b', ['a', null, 'b']],
    ['$..a', null],
    ['$.a[?(@.b)]', null],
    ['a.b', null],
  ])('%s', (path, expected) => expect(parseJsonPath(path)).toEqual(expected));
});

describe('Presentation Exchange', () => {
  it('accepts a credential that meets every required field, through any of a field’s paths', () => {
    expect(() => evaluatePresentationExchange(definition, submission(), new Map([['pid', credential({ given_name: 'E', address: { country: 'DE' } })]]))).not.toThrow();
    expect(() => evaluatePresentationExchange(definition, submission(), new Map([['pid', credential({ given_name: 'E', address: { country_code: 'AT' } })]]))).not.toThrow();
  });

  it.each<[string, Record<string, unknown>, string | undefined, RegExp]>([
    ['a missing required claim', { address: { country: 'DE' } }, undefined, /given_name/],
    ['a value outside the enum', { given_name: 'E', address: { country: 'FR' } }, undefined, /address\.country/],
    ['another credential type', { given_name: 'E', address: { country: 'DE' } }, 'https://evil.example', /\$\.vct/],
  ])('refuses %s', (_name, claims, vct, message) => {
    const run = () => evaluatePresentationExchange(definition, submission(), new Map([['pid', credential(claims, vct)]]));
    expect(run).toThrow(expect.objectContaining({ code: 'query_not_satisfied', message: expect.stringMatching(message) }));
  });

  it('refuses a submission for another definition, an unknown or repeated descriptor, and an unanswered one', () => {
    const good = new Map([['pid', credential({ given_name: 'E', address: { country: 'DE' } })]]);
    expect(() => evaluatePresentationExchange(definition, submission(['pid'], 'other'), good)).toThrow(/another presentation definition/);
    expect(() => evaluatePresentationExchange(definition, submission(['pid', 'x']), good)).toThrow(/not asked/);
    expect(() => evaluatePresentationExchange(definition, submission(['pid', 'pid']), good)).toThrow(/twice/);
    expect(() => evaluatePresentationExchange(definition, submission(), new Map())).toThrow(/not answered/);
  });

  it('validates definitions and submissions with the path of the problem', () => {
    expect(() => parsePresentationDefinition({ id: 'x', input_descriptors: [] })).toThrow(/input_descriptors/);
    expect(() => parsePresentationDefinition({ ...definition, submission_requirements: [] })).toThrow(/submission_requirements/);
    expect(() =>
      parsePresentationDefinition({ id: 'x', input_descriptors: [{ id: 'a', constraints: { fields: [{ path: ['$..a'] }] } }] }),
    ).toThrow(/input_descriptors\/0\/constraints\/fields\/0\/path\/0: unsupported JSONPath/);
    expect(() => parsePresentationDefinition({ id: 'x', input_descriptors: [{ id: 'a', constraints: { fields: [{ path: ['$.a'], filter: { pattern: '(' } }] } }] })).toThrow(/pattern/);
    expect(() => parsePresentationSubmission('{')).toThrow(/not JSON/);
    expect(() => parsePresentationSubmission({ id: 's' })).toThrow(/malformed/);
  });

  it('selects the submitted presentation by path', () => {
    expect(selectSubmitted(['a'], true, '$')).toBe('a');
    expect(selectSubmitted(['a', 'b'], false, '$[1]')).toBe('b');
    expect(() => selectSubmitted(['a'], false, '$[3]')).toThrow(/names no presentation/);
    expect(() => selectSubmitted(['a'], false, '$.x')).toThrow(/names no presentation/);
  });
});
