import type { ArgumentMetadata } from '@nestjs/common';
import { ValidationError } from '@wallet/domain';
import { IsString, MaxLength } from 'class-validator';
import { z } from 'zod';
import { CheckedBy } from './checked-by.decorator';
import { Omittable } from './omittable.decorator';
import { WalletValidationPipe } from './validation.pipe';
import { zodCheck } from './zod-input';

const zShape = z.object({ kind: z.literal('public-key'), response: z.object({ data: z.string().max(4) }) });

/** A check that throws, as a parser such as WQL's does. */
function noDollarKeys(value: unknown): never[] {
  if (typeof value !== 'object' || value === null) throw new ValidationError('bad', [{ path: '', message: 'must be an object' }]);
  const key = Object.keys(value).find((k) => k.startsWith('$'));
  if (key) throw new ValidationError('bad', [{ path: `/${key}`, message: `unknown operator ${key}` }]);
  return [];
}

class FinishDto {
  @IsString() @MaxLength(8) id!: string;
  @CheckedBy(zodCheck(zShape)) credential!: unknown;
  @Omittable() @CheckedBy(noDollarKeys) query?: unknown;
  @Omittable()
  @CheckedBy((value, object) => ((object as FinishDto).id === 'both' ? [{ path: '', message: 'not with id both' }] : value === 'x' ? [] : [{ path: '/', message: 'must be x' }]))
  other?: unknown;
}

const pipe = new WalletValidationPipe();
const body: ArgumentMetadata = { type: 'body', metatype: FinishDto };

async function issuesOf(value: unknown): Promise<unknown> {
  try {
    await pipe.transform(value, body);
    return 'valid';
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return error.issues;
  }
}

describe('@CheckedBy: a DTO field checked by an existing validator, issues at their own paths', () => {
  const credential = { kind: 'public-key', response: { data: 'abc' }, extra: 'zod keeps its own rules' };

  it('passes a valid value through untouched', async () => {
    const dto = (await pipe.transform({ id: 'a', credential, query: { name: 'v' } }, body)) as FinishDto;
    expect(dto).toBeInstanceOf(FinishDto);
    expect(dto.credential).toEqual(credential);
    expect(dto.query).toEqual({ name: 'v' });
  });

  it("reports a zod schema's issues below the field, together with the other fields' issues", async () => {
    expect(await issuesOf({ id: 'much too long', credential: { kind: 'x', response: { data: 'abcdef' } } })).toEqual([
      { path: '/id', message: 'must be shorter than or equal to 8 characters' },
      { path: '/credential/kind', message: expect.any(String) },
      { path: '/credential/response/data', message: expect.any(String) },
    ]);
    expect(await issuesOf({ id: 'a' })).toEqual([{ path: '/credential', message: expect.any(String) }]);
  });

  it('turns a thrown ValidationError into issues, and sees sibling fields', async () => {
    expect(await issuesOf({ id: 'a', credential, query: { $regex: 'x' } })).toEqual([{ path: '/query/$regex', message: 'unknown operator $regex' }]);
    expect(await issuesOf({ id: 'a', credential, query: 5 })).toEqual([{ path: '/query', message: 'must be an object' }]);
    expect(await issuesOf({ id: 'a', credential, other: 'y' })).toEqual([{ path: '/other', message: 'must be x' }]);
    expect(await issuesOf({ id: 'both', credential, other: 'x' })).toEqual([{ path: '/other', message: 'not with id both' }]);
  });

  it('keeps the issues of concurrent validations apart', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => issuesOf({ id: 'a', credential, query: { [`$op${i}`]: 'x' } })),
    );
    results.forEach((issues, i) => expect(issues).toEqual([{ path: `/query/$op${i}`, message: `unknown operator $op${i}` }]));
  });
});
