import type { HeldCredential } from '../held-credential';
import {
  checkPresentationDefinitionSelection,
  defaultPresentationDefinitionSelection,
  matchPresentationDefinition,
} from './match-presentation-definition';
import { parsePresentationDefinition } from './presentation-exchange';

const PID = 'urn:eu.europa.ec.eudi:pid:1';

const pid: HeldCredential = {
  id: 'w-pid',
  format: 'dc+sd-jwt',
  vct: PID,
  claims: { vct: PID, iss: 'https://issuer.example', given_name: 'Erika', birthdate: '1964-08-12', age: 61, nationalities: ['DE', 'FR'], email: 'erika@example.com' },
};
const young: HeldCredential = { ...pid, id: 'w-young', claims: { ...pid.claims, given_name: 'Lea', age: 16, nationalities: ['AT'] } };
const jwtVc: HeldCredential = {
  id: 'w-diploma',
  format: 'jwt_vc_json',
  types: ['VerifiableCredential', 'UniversityDegreeCredential'],
  claims: { degree: 'BSc', given_name: 'Erika' },
};

describe('matchPresentationDefinition', () => {
  const definition = parsePresentationDefinition({
    id: 'pd-1',
    input_descriptors: [
      {
        id: 'pid',
        name: 'Person',
        purpose: 'Age check',
        format: { 'vc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'] } },
        constraints: {
          limit_disclosure: 'required',
          fields: [
            { path: ['$.vct'], filter: { type: 'string', const: PID } },
            { id: 'name', path: ['$.first_name', '$.given_name'], filter: { type: 'string', pattern: '^E' } },
            { id: 'age', path: ['$.age'], filter: { type: 'integer', minimum: 18 } },
            { id: 'nat', path: ['$.nationalities[*]'], filter: { enum: ['FR', 'IT'] } },
            { id: 'phone', path: ['$.phone'], optional: true },
            { id: 'mail', path: ['$.email'], optional: true },
          ],
        },
      },
    ],
  });

  it('lists candidates with the values of every field, the first path that matches, filters applied', () => {
    const match = matchPresentationDefinition(definition, [pid, young, jwtVc]);
    expect(match.satisfiable).toBe(true);
    expect(match.definitionId).toBe('pd-1');
    expect(match.descriptors['pid']).toEqual({
      id: 'pid',
      name: 'Person',
      purpose: 'Age check',
      limitDisclosure: 'required',
      candidates: [
        {
          credentialId: 'w-pid',
          format: 'dc+sd-jwt',
          disclosesEverything: false,
          claims: [
            { path: ['vct'], value: PID },
            { path: ['given_name'], value: 'Erika', claimId: 'name' },
            { path: ['age'], value: 61, claimId: 'age' },
            { path: ['nationalities', 1], value: 'FR', claimId: 'nat' },
            { path: ['email'], value: 'erika@example.com', claimId: 'mail' },
          ],
        },
      ],
      rejected: [
        { credentialId: 'w-young', reason: 'field $.first_name is missing or does not match its filter' },
        { credentialId: 'w-diploma', reason: 'format jwt_vc_json is not asked for' },
      ],
    });
    expect(defaultPresentationDefinitionSelection(match)).toEqual({ pid: 'w-pid' });
  });

  it('refuses formats that cannot disclose selectively when limit_disclosure is required', () => {
    const strict = parsePresentationDefinition({
      id: 'pd-2',
      input_descriptors: [{ id: 'any', constraints: { limit_disclosure: 'required', fields: [{ path: ['$.given_name'] }] } }],
    });
    const match = matchPresentationDefinition(strict, [jwtVc, pid]);
    expect(match.descriptors['any']?.rejected).toEqual([
      { credentialId: 'w-diploma', reason: 'limit_disclosure is required and format jwt_vc_json cannot disclose selectively' },
    ]);
    const relaxed = parsePresentationDefinition({ id: 'pd-3', input_descriptors: [{ id: 'any', constraints: { fields: [{ path: ['$.degree'], filter: { const: 'BSc' } }] } }] });
    expect(matchPresentationDefinition(relaxed, [jwtVc, pid]).descriptors['any']?.candidates).toEqual([
      { credentialId: 'w-diploma', format: 'jwt_vc_json', claims: [{ path: ['degree'], value: 'BSc' }], disclosesEverything: true },
    ]);
  });

  it('applies the definition-wide format and holder binding', () => {
    const definitionWide = parsePresentationDefinition({
      id: 'pd-4',
      format: { jwt_vp_json: { alg: ['ES256'] } },
      input_descriptors: [{ id: 'd', constraints: { fields: [{ path: ['$.given_name'] }] } }],
    });
    const match = matchPresentationDefinition(definitionWide, [pid, jwtVc, { ...jwtVc, id: 'w-unbound', holderBound: false }]);
    expect(match.descriptors['d']?.candidates.map((c) => c.credentialId)).toEqual(['w-diploma']);
    expect(match.descriptors['d']?.rejected.map((r) => r.reason)).toEqual(['format dc+sd-jwt is not asked for', 'holder binding is required']);
  });

  it('is not satisfiable when a descriptor has no candidate, and checks selections', () => {
    const two = parsePresentationDefinition({
      id: 'pd-5',
      input_descriptors: [
        { id: 'a', constraints: { fields: [{ path: ['$.given_name'], filter: { enum: ['Erika', 'Lea'] } }] } },
        { id: 'b', constraints: { fields: [{ path: ['$.degree'] }] } },
      ],
    });
    expect(matchPresentationDefinition(two, [pid]).satisfiable).toBe(false);
    expect(defaultPresentationDefinitionSelection(matchPresentationDefinition(two, [pid]))).toBeNull();
    const match = matchPresentationDefinition(two, [pid, young, jwtVc]);
    expect(match.descriptors['a']?.candidates.map((c) => c.credentialId)).toEqual(['w-pid', 'w-young', 'w-diploma']);
    expect(checkPresentationDefinitionSelection(match, { a: 'w-young', b: 'w-diploma' })).toBeNull();
    expect(checkPresentationDefinitionSelection(match, { a: 'w-young' })).toBe('input descriptor "b" is not answered');
    expect(checkPresentationDefinitionSelection(match, { a: 'w-young', b: 'w-pid' })).toBe('credential "w-pid" does not answer "b"');
    expect(checkPresentationDefinitionSelection(match, { a: 'w-young', b: 'w-diploma', c: 'w-pid' })).toBe('"c" is not an input descriptor of the request');
  });
});
