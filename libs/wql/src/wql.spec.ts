import { ValidationError } from '@wallet/domain';
import { likeToGlob, likeToRegExp, mapWql, matchesWql, parseWql, toWqlJson, type WqlNode } from './wql';

function issue(query: unknown, limits = {}): { path: string; message: string } {
  try {
    parseWql(query, limits, '/query');
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    const issues = (error as ValidationError).issues;
    expect(issues).toHaveLength(1);
    return issues[0]!;
  }
  throw new Error('expected the query to be refused');
}

describe('parseWql', () => {
  it('parses implicit AND, equality and every operator into an AST', () => {
    const ast = parseWql({
      type: 'pid',
      status: { $neq: 'revoked' },
      issuer: { $in: ['a', 'b'] },
      '~added': { $gte: '2024-01-01' },
      $or: [{ '~name': { $like: 'Ann%' } }, { $not: { $exist: ['expired'] } }],
    });
    expect(ast).toEqual({
      op: 'and',
      clauses: [
        { op: 'eq', name: 'type', value: 'pid' },
        { op: 'neq', name: 'status', value: 'revoked' },
        { op: 'in', name: 'issuer', values: ['a', 'b'] },
        { op: 'gte', name: '~added', value: '2024-01-01' },
        {
          op: 'or',
          clauses: [
            { op: 'like', name: '~name', value: 'Ann%' },
            { op: 'not', clause: { op: 'exist', names: ['expired'] } },
          ],
        },
      ],
    });
  });

  it('a single condition is returned as itself, {} as an empty AND, $exist accepts one name', () => {
    expect(parseWql({ a: 'b' })).toEqual({ op: 'eq', name: 'a', value: 'b' });
    expect(parseWql({})).toEqual({ op: 'and', clauses: [] });
    expect(parseWql({ $exist: 'a' })).toEqual({ op: 'exist', names: ['a'] });
  });

  it('round-trips through toWqlJson', () => {
    const query = { $and: [{ a: 'b' }, { '~n': { $lt: '5' } }, { $or: [{ c: { $in: ['x'] } }, { $exist: ['d'] }] }] };
    expect(toWqlJson(parseWql(query))).toEqual(query);
    expect(parseWql(toWqlJson(parseWql(query)))).toEqual(parseWql(query));
  });

  it.each([
    [{ a: { $gt: '1' } }, '/query/a/$gt', '$gt is only allowed on plaintext tags'],
    [{ a: { $like: 'x%' } }, '/query/a/$like', '$like is only allowed on plaintext tags'],
    [{ a: { $regex: '.*' } }, '/query/a/$regex', 'unknown operator $regex'],
    [{ $nor: [] }, '/query/$nor', 'unknown operator $nor'],
    [{ a: 1 }, '/query/a', 'must be a string or an operator object'],
    [{ a: { $in: ['x', 2] } }, '/query/a/$in/1', 'must be a string'],
    [{ a: { $in: [] } }, '/query/a/$in', '$in takes a non-empty array'],
    [{ a: { $neq: 'x', $in: ['y'] } }, '/query/a', 'exactly one operator'],
    [{ $and: { a: 'b' } }, '/query/$and', '$and takes an array'],
    [{ $or: [{ a: 'b' }, 'c'] }, '/query/$or/1', 'must be an object'],
    [{ $not: [] }, '/query/$not', 'must be an object'],
    [{ $exist: [] }, '/query/$exist', 'non-empty array'],
    [{ $exist: ['a', 3] }, '/query/$exist/1', 'tag name must be a non-empty string'],
    [{ '': 'x' }, '/query/', 'tag name must be a non-empty string'],
    [[], '/query', 'must be an object'],
    [null, '/query', 'must be an object'],
    [{ 'a/b~': { $neq: 5 } }, '/query/a~1b~0/$neq', 'must be a string'],
  ])('refuses %j at %s', (query, path, message) => {
    const found = issue(query);
    expect(found.path).toBe(path);
    expect(found.message).toContain(message);
  });

  it('enforces depth, clause count and lengths', () => {
    let deep: Record<string, unknown> = { a: 'b' };
    for (let i = 0; i < 8; i++) deep = { $not: deep };
    expect(issue(deep)).toMatchObject({ path: `/query${'/$not'.repeat(8)}`, message: expect.stringContaining('nested too deeply') });
    let ok: Record<string, unknown> = { a: 'b' };
    for (let i = 0; i < 7; i++) ok = { $not: ok };
    expect(() => parseWql(ok)).not.toThrow();

    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`t${i}`, 'v']));
    expect(issue(many)).toMatchObject({ path: '/query/t64', message: 'too many conditions (at most 64)' });
    expect(issue({ a: { $in: Array.from({ length: 10 }, () => 'v') } }, { maxClauses: 5 })).toMatchObject({
      path: '/query/a/$in',
    });
    expect(issue({ a: 'x'.repeat(1025) })).toMatchObject({ path: '/query/a', message: 'value longer than 1024 characters' });
    expect(issue({ ['n'.repeat(257)]: 'x' }).message).toBe('tag name longer than 256 characters');
  });

  it('counts every part of a query, empty clauses included, so no shape expands without bound', () => {
    // No conditions at all, yet each element would become a set operation in the store.
    const empties = { $or: Array.from({ length: 200 }, () => ({})) };
    expect(issue(empties)).toMatchObject({ message: 'too many parts (at most 128 objects, operators and conditions)' });
    const nots = { $and: Array.from({ length: 70 }, () => ({ $not: {} })) };
    expect(issue(nots).message).toContain('too many parts');
    expect(() => parseWql({ $or: Array.from({ length: 100 }, () => ({})) })).not.toThrow();
    expect(issue({ $or: [{}, {}, {}] }, { maxNodes: 3 })).toMatchObject({ path: '/query/$or/1' });
  });

  it('puts the path in the error message as well', () => {
    expect(() => parseWql({ a: { $gt: '1' } }, {}, '/query')).toThrow(/at \/query\/a\/\$gt/);
  });
});

describe('matchesWql', () => {
  const tags = { type: 'pid', '~n': '5', '~name': 'Ann*Lee', status: 'active' };
  it.each<[unknown, boolean]>([
    [{}, true],
    [{ $or: [] }, false],
    [{ type: 'pid' }, true],
    [{ type: 'pid', status: 'revoked' }, false],
    [{ status: { $neq: 'revoked' } }, true],
    [{ missing: { $neq: 'x' } }, false],
    [{ $not: { missing: 'x' } }, true],
    [{ type: { $in: ['x', 'pid'] } }, true],
    [{ $exist: ['type', '~n'] }, true],
    [{ $exist: ['type', 'nope'] }, false],
    [{ '~n': { $gt: '4' } }, true],
    [{ '~n': { $gte: '5' } }, true],
    [{ '~n': { $lt: '5' } }, false],
    [{ '~n': { $lte: '5' } }, true],
    [{ '~name': { $like: 'Ann%' } }, true],
    [{ '~name': { $like: 'ann%' } }, false],
    [{ '~name': { $like: 'Ann_Lee' } }, true],
    [{ '~name': { $like: 'Ann*%' } }, true],
    [{ '~name': { $like: 'A%e' } }, true],
    [{ '~name': { $like: 'A%x' } }, false],
  ])('%j -> %s', (query, expected) => {
    expect(matchesWql(parseWql(query), tags)).toBe(expected);
  });
});

describe('helpers', () => {
  it('likeToRegExp and likeToGlob treat only % and _ as wildcards', () => {
    expect(likeToRegExp('a.b%').test('a.bcd')).toBe(true);
    expect(likeToRegExp('a.b%').test('axbcd')).toBe(false);
    expect(likeToRegExp('(x)_').test('(x)y')).toBe(true);
    expect(likeToGlob('a*b?c[%_')).toBe('a[*]b[?]c[[]*?');
  });

  it('mapWql rewrites names and values and keeps the structure', () => {
    const ast = parseWql({ a: 'x', $not: { $exist: ['b'] }, c: { $in: ['y', 'z'] } });
    const mapped: WqlNode = mapWql(ast, (n) => n.toUpperCase(), (n, v) => `${n}:${v}`);
    expect(toWqlJson(mapped)).toEqual({
      $and: [{ A: 'a:x' }, { $not: { $exist: ['B'] } }, { C: { $in: ['c:y', 'c:z'] } }],
    });
  });
});
