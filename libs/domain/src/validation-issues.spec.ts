import { z } from 'zod';
import { ValidationError } from './errors';
import { TENANT_ID_PATTERN, TENANT_ID_SOURCE, zTenantId } from './ids';
import { MAX_VALIDATION_ISSUES, pointerSegment, zodIssues, zodValidationError } from './validation-issues';

const failure = (schema: z.ZodType, value: unknown): z.ZodError => {
  const result = schema.safeParse(value);
  if (result.success) throw new Error('expected the value to be refused');
  return result.error;
};

describe('zod issues as validation issues', () => {
  it('gives JSON-pointer paths, escaped, below an optional base; the value itself is /', () => {
    const schema = z.object({ 'a/b': z.object({ 'c~d': z.string() }), list: z.array(z.number()) });
    const error = failure(schema, { 'a/b': { 'c~d': 1 }, list: [1, 'x'] });
    expect(zodIssues(error).map((i) => i.path)).toEqual(['/a~1b/c~0d', '/list/1']);
    expect(zodIssues(error, '/credential').map((i) => i.path)).toEqual(['/credential/a~1b/c~0d', '/credential/list/1']);
    expect(zodIssues(failure(z.string(), 1)).map((i) => i.path)).toEqual(['/']);
    expect(zodIssues(failure(z.string(), 1), '/credential').map((i) => i.path)).toEqual(['/credential']);
  });

  it('names unknown fields without their values, bounded, and keeps at most 20 issues', () => {
    const strict = z.object({}).strict();
    const [unknown] = zodIssues(failure(strict, { secret: 'hunter2', b: 1, c: 1, d: 1, e: 1, f: 1, ['x'.repeat(100)]: 1 }));
    expect(unknown?.message).toBe('unknown fields: secret, b, c, d, e');
    expect(JSON.stringify(unknown)).not.toContain('hunter2');
    const many = failure(z.array(z.string()), Array.from({ length: 50 }, () => 1));
    expect(zodIssues(many)).toHaveLength(MAX_VALIDATION_ISSUES);
  });

  it('builds the ValidationError (validation_failed) with the issues and the zod error as cause', () => {
    const error = failure(z.object({ n: z.number() }), { n: 'x' });
    const wrapped = zodValidationError('invalid thing', error);
    expect(wrapped).toBeInstanceOf(ValidationError);
    expect(wrapped.code).toBe('validation_failed');
    expect(wrapped.message).toBe('invalid thing');
    expect(wrapped.issues).toEqual([{ path: '/n', message: expect.any(String) }]);
    expect(wrapped.cause).toBe(error);
  });

  it('escapes pointer segments as RFC 6901 says', () => {
    expect(pointerSegment('~/x')).toBe('~0~1x');
  });
});

describe('the tenant id pattern', () => {
  it('accepts 1-63 lowercase letters, digits or inner hyphens, and nothing else', () => {
    for (const ok of ['a', '0', 'acme', 'a-b', 'x'.repeat(63)]) expect(TENANT_ID_PATTERN.test(ok)).toBe(true);
    for (const bad of ['', '-a', 'a-', 'A', 'a_b', '_global', 'x'.repeat(64), 'a/b', 'a\n']) expect(TENANT_ID_PATTERN.test(bad)).toBe(false);
    expect(zTenantId.safeParse('x'.repeat(64)).success).toBe(false);
    expect(new RegExp(`^/t/(${TENANT_ID_SOURCE})/`).exec('/t/acme/x')?.[1]).toBe('acme');
  });
});
