import type { HeldCredential } from '../held-credential';
import { parseDcqlQuery } from './dcql-query';
import { evaluateDcqlQuery, selectClaimEntries, type PresentedCredential } from './evaluate-dcql-query';
import { checkDcqlSelection, defaultDcqlSelection, matchDcqlQuery } from './match-dcql-query';

const PID = 'urn:eu.europa.ec.eudi:pid:1';
const MDL = 'urn:example:mdl';

const pid: HeldCredential = {
  id: 'w-pid',
  format: 'dc+sd-jwt',
  vct: PID,
  claims: {
    iss: 'https://issuer.example',
    vct: PID,
    given_name: 'Erika',
    family_name: 'Mustermann',
    birthdate: '1964-08-12',
    age_equal_or_over: { '18': true, '21': true },
    nationalities: ['DE', 'FR'],
    address: { street_address: 'Heidestraße 17', locality: 'Köln', country: 'DE' },
    degrees: [
      { type: 'Bachelor', year: 2000 },
      { type: 'Master', year: 2002 },
    ],
  },
};
const otherPid: HeldCredential = { ...pid, id: 'w-pid-2', claims: { ...pid.claims, given_name: 'Max', nationalities: ['AT'] } };
const mdl: HeldCredential = { id: 'w-mdl', format: 'dc+sd-jwt', vct: MDL, claims: { vct: MDL, driving_privileges: [{ category: 'B' }] } };
const jwtVc: HeldCredential = {
  id: 'w-diploma',
  format: 'jwt_vc_json',
  types: ['VerifiableCredential', 'UniversityDegreeCredential'],
  claims: { degree: { type: 'BachelorDegree', name: 'Bachelor of Science' } },
};
const unbound: HeldCredential = { ...pid, id: 'w-unbound', holderBound: false };

const held = [pid, otherPid, mdl, jwtVc];

/** The verifier's own check, on exactly the claims the wallet would disclose. */
function presentedAs(credential: HeldCredential, paths: readonly (string | number)[][]): PresentedCredential {
  const claims: Record<string, unknown> = {};
  for (const path of paths) {
    const value = selectClaimEntries(credential.claims, path)[0]!.value;
    let target: Record<string, unknown> | unknown[] = claims;
    path.forEach((component, i) => {
      const container = target as Record<string | number, unknown>;
      if (i === path.length - 1) container[component] = value;
      else target = (container[component] ??= typeof path[i + 1] === 'number' ? [] : {}) as Record<string, unknown>;
    });
  }
  return { format: credential.format, ...(credential.vct ? { vct: credential.vct } : {}), claims, holderBound: true };
}

describe('matchDcqlQuery', () => {
  it('lists the candidates of a credential query with exactly the asked claims and their values', () => {
    const query = parseDcqlQuery({
      credentials: [
        { id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: [PID] }, claims: [{ path: ['given_name'] }, { path: ['address', 'locality'] }] },
      ],
    });
    const match = matchDcqlQuery(query, held);
    expect(match.satisfiable).toBe(true);
    expect(match.credentialSets).toBeNull();
    expect(match.credentials['pid']?.candidates).toEqual([
      {
        credentialId: 'w-pid',
        format: 'dc+sd-jwt',
        claims: [
          { path: ['given_name'], value: 'Erika' },
          { path: ['address', 'locality'], value: 'Köln' },
        ],
        disclosesEverything: false,
      },
      expect.objectContaining({ credentialId: 'w-pid-2', claims: [{ path: ['given_name'], value: 'Max' }, { path: ['address', 'locality'], value: 'Köln' }] }),
    ]);
    expect(match.credentials['pid']?.rejected).toEqual([
      { credentialId: 'w-mdl', reason: 'the credential type (vct) was not asked for' },
      { credentialId: 'w-diploma', reason: 'format jwt_vc_json was presented, dc+sd-jwt was asked for' },
    ]);
    // What the wallet discloses passes the verifier's check.
    const chosen = match.credentials['pid']!.candidates[0]!;
    expect(() => evaluateDcqlQuery(query, new Map([['pid', [presentedAs(pid, chosen.claims.map((c) => c.path))]]]))).not.toThrow();
  });

  it('discloses no claim for a credential query without claims', () => {
    const query = parseDcqlQuery({ credentials: [{ id: 'mdl', format: 'dc+sd-jwt', meta: { vct_values: [MDL] } }] });
    const match = matchDcqlQuery(query, held);
    expect(match.credentials['mdl']?.candidates).toEqual([{ credentialId: 'w-mdl', format: 'dc+sd-jwt', claims: [], disclosesEverything: false }]);
  });

  it('narrows values filters to the matching elements of array wildcards', () => {
    const query = parseDcqlQuery({
      credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: [PID] }, claims: [{ path: ['nationalities', null], values: ['FR', 'IT'] }] }],
    });
    const match = matchDcqlQuery(query, held);
    expect(match.credentials['pid']?.candidates.map((c) => [c.credentialId, c.claims])).toEqual([['w-pid', [{ path: ['nationalities', 1], value: 'FR' }]]]);
    expect(match.credentials['pid']?.rejected.find((r) => r.credentialId === 'w-pid-2')?.reason).toBe(
      'claim nationalities.* is missing or has a value that was not asked for',
    );
  });

  it('follows nested paths through null wildcards into objects of arrays', () => {
    const query = parseDcqlQuery({
      credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: [PID] }, claims: [{ path: ['degrees', null, 'type'] }, { path: ['age_equal_or_over', '18'], values: [true] }] }],
    });
    const [candidate] = matchDcqlQuery(query, [pid]).credentials['pid']!.candidates;
    expect(candidate?.claims).toEqual([
      { path: ['degrees', 0, 'type'], value: 'Bachelor' },
      { path: ['degrees', 1, 'type'], value: 'Master' },
      { path: ['age_equal_or_over', '18'], value: true },
    ]);
  });

  it('discloses the first satisfiable claim set, and only it', () => {
    const query = parseDcqlQuery({
      credentials: [
        {
          id: 'pid',
          format: 'dc+sd-jwt',
          meta: { vct_values: [PID] },
          claims: [
            { id: 'over21', path: ['age_equal_or_over', '21'], values: [true] },
            { id: 'over18', path: ['age_equal_or_over', '18'], values: [true] },
            { id: 'birth', path: ['birthdate'] },
            { id: 'nat', path: ['nationalities', null], values: ['AT'] },
          ],
          claim_sets: [['nat', 'over21'], ['over18'], ['birth']],
        },
      ],
    });
    const match = matchDcqlQuery(query, held);
    const byId = Object.fromEntries(match.credentials['pid']!.candidates.map((c) => [c.credentialId, c]));
    expect(byId['w-pid']).toMatchObject({ claimSet: 1, claims: [{ path: ['age_equal_or_over', '18'], value: true, claimId: 'over18' }] });
    expect(byId['w-pid-2']).toMatchObject({
      claimSet: 0,
      claims: [
        { path: ['nationalities', 0], value: 'AT', claimId: 'nat' },
        { path: ['age_equal_or_over', '21'], value: true, claimId: 'over21' },
      ],
    });
  });

  it('rejects a credential that satisfies no claim set', () => {
    const query = parseDcqlQuery({
      credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: {}, claims: [{ id: 'x', path: ['nope'] }], claim_sets: [['x']] }],
    });
    const match = matchDcqlQuery(query, [pid]);
    expect(match).toMatchObject({ satisfiable: false, credentials: { pid: { candidates: [], rejected: [{ credentialId: 'w-pid', reason: 'no claim set of the query is satisfied' }] } } });
    expect(defaultDcqlSelection(match)).toBeNull();
  });

  it('honours type_values, doctype and holder binding', () => {
    const query = parseDcqlQuery({
      credentials: [
        { id: 'degree', format: 'jwt_vc_json', meta: { type_values: [['VerifiableCredential', 'UniversityDegreeCredential']] }, claims: [{ path: ['degree', 'name'] }] },
        { id: 'other', format: 'jwt_vc_json', meta: { type_values: [['DriverLicense']] } },
        { id: 'bound', format: 'dc+sd-jwt', meta: { vct_values: [PID] } },
        { id: 'loose', format: 'dc+sd-jwt', meta: { vct_values: [PID] }, require_cryptographic_holder_binding: false },
        { id: 'mdoc', format: 'mso_mdoc', meta: { doctype_value: 'org.iso.18013.5.1.mDL' } },
      ],
    });
    const match = matchDcqlQuery(query, [jwtVc, unbound]);
    expect(match.credentials['degree']?.candidates).toEqual([
      { credentialId: 'w-diploma', format: 'jwt_vc_json', claims: [{ path: ['degree', 'name'], value: 'Bachelor of Science' }], disclosesEverything: true },
    ]);
    expect(match.credentials['other']?.candidates).toEqual([]);
    expect(match.credentials['bound']?.rejected).toContainEqual({ credentialId: 'w-unbound', reason: 'holder binding is required' });
    expect(match.credentials['loose']?.candidates.map((c) => c.credentialId)).toEqual(['w-unbound']);
    expect(match.credentials['mdoc']?.candidates).toEqual([]);
    expect(match.satisfiable).toBe(false);
  });

  describe('credential_sets', () => {
    const query = parseDcqlQuery({
      credentials: [
        { id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: [PID] }, claims: [{ path: ['given_name'] }] },
        { id: 'other_pid', format: 'dc+sd-jwt', meta: { vct_values: ['urn:other:pid'] } },
        { id: 'mdl', format: 'dc+sd-jwt', meta: { vct_values: [MDL] } },
        { id: 'degree', format: 'jwt_vc_json', meta: { type_values: [['UniversityDegreeCredential']] } },
        { id: 'loyalty', format: 'dc+sd-jwt', meta: { vct_values: ['urn:loyalty'] } },
      ],
      credential_sets: [
        { options: [['other_pid'], ['pid', 'mdl']], purpose: 'Identification' },
        { options: [['degree']], required: false },
        { options: [['loyalty']], required: false },
      ],
    });

    it('says which options can be met and whether the query can', () => {
      const match = matchDcqlQuery(query, held);
      expect(match.credentialSets).toEqual([
        {
          required: true,
          purpose: 'Identification',
          options: [
            { credentials: ['other_pid'], satisfiable: false },
            { credentials: ['pid', 'mdl'], satisfiable: true },
          ],
          satisfiable: true,
        },
        { required: false, options: [{ credentials: ['degree'], satisfiable: true }], satisfiable: true },
        { required: false, options: [{ credentials: ['loyalty'], satisfiable: false }], satisfiable: false },
      ]);
      expect(match.satisfiable).toBe(true);
      expect(matchDcqlQuery(query, [pid]).satisfiable).toBe(false);
    });

    it('suggests the first satisfiable option of each required set, and nothing optional', () => {
      expect(defaultDcqlSelection(matchDcqlQuery(query, held))).toEqual({ pid: ['w-pid'], mdl: ['w-mdl'] });
    });

    it('checks a selection against the sets', () => {
      const match = matchDcqlQuery(query, held);
      expect(checkDcqlSelection(match, { pid: ['w-pid'], mdl: ['w-mdl'] })).toBeNull();
      expect(checkDcqlSelection(match, { pid: ['w-pid-2'], mdl: ['w-mdl'], degree: ['w-diploma'] })).toBeNull();
      expect(checkDcqlSelection(match, { pid: ['w-pid'] })).toMatch(/credential set 0 is required/);
      expect(checkDcqlSelection(match, { pid: ['w-pid'], mdl: ['w-mdl'], loyalty: ['w-pid'] })).toMatch(/does not answer "loyalty"/);
      expect(checkDcqlSelection(match, { pid: ['w-pid', 'w-pid-2'], mdl: ['w-mdl'] })).toMatch(/takes one credential/);
      expect(checkDcqlSelection(match, { pid: ['w-pid'], mdl: ['w-mdl'], nope: ['w-pid'] })).toMatch(/not a credential query/);
    });

    it('refuses a stray credential outside any fully answered option', () => {
      const strays = parseDcqlQuery({
        credentials: [
          { id: 'a', format: 'dc+sd-jwt', meta: { vct_values: [PID] } },
          { id: 'b', format: 'dc+sd-jwt', meta: { vct_values: [MDL] } },
          { id: 'c', format: 'jwt_vc_json', meta: {} },
        ],
        credential_sets: [{ options: [['a'], ['b', 'c']] }],
      });
      const match = matchDcqlQuery(strays, held);
      expect(checkDcqlSelection(match, { a: ['w-pid'], b: ['w-mdl'] })).toMatch(/"b" is answered, but no credential set option/);
      expect(checkDcqlSelection(match, { b: ['w-mdl'], c: ['w-diploma'] })).toBeNull();
    });
  });

  it('without credential sets, every credential query must be answered; multiple allows several', () => {
    const query = parseDcqlQuery({
      credentials: [
        { id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: [PID] }, multiple: true },
        { id: 'mdl', format: 'dc+sd-jwt', meta: { vct_values: [MDL] } },
      ],
    });
    const match = matchDcqlQuery(query, held);
    expect(match.credentials['pid']?.multiple).toBe(true);
    expect(defaultDcqlSelection(match)).toEqual({ pid: ['w-pid'], mdl: ['w-mdl'] });
    expect(checkDcqlSelection(match, { pid: ['w-pid', 'w-pid-2'], mdl: ['w-mdl'] })).toBeNull();
    expect(checkDcqlSelection(match, { pid: ['w-pid'] })).toBe('credential query "mdl" is not answered');
    expect(checkDcqlSelection(match, { pid: [], mdl: ['w-mdl'] })).toBe('no credential is chosen for "pid"');
  });
});
