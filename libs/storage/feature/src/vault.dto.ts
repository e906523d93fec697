import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CheckedBy, Omittable } from '@wallet/platform';
import { DEFAULT_WQL_LIMITS, parseWql, type WqlLimits } from '@wallet/wql';
import { Transform } from 'class-transformer';
import { IsInt, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

/**
 * The vault API's inputs. The DTOs check types and the shapes that do not
 * depend on configuration; the `vault.*` limits (blob size, category and tag
 * lengths, tag counts, quotas) are the vault store's, checked in one place
 * with the record (see docs/vault.md).
 */

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const RECORD_ID = /^[\x21-\x7e]{1,200}$/;
const RECORD_ID_MESSAGE = 'must be 1-200 printable ASCII characters without spaces';
/** A page cursor is the base64url of a record id (at most 200 characters): 268 characters; more cannot be one. */
const MAX_CURSOR_LENGTH = 400;
const MAX_PAGE = 1000;

/**
 * The most any configuration allows (the `vault` section's maxima), for the
 * shape check of a WQL query in the DTO. The configured limits, never looser,
 * are applied by the controller with the same paths.
 */
const WQL_CEILINGS: WqlLimits = { ...DEFAULT_WQL_LIMITS, maxDepth: 32, maxClauses: 1000, maxNameLength: 4096, maxValueLength: 65_536 };

/** A query-string page size: `1`-`1000`; empty is left out. */
const QueryInteger = () =>
  Transform(({ value }: { value: unknown }) => (value === '' ? undefined : typeof value === 'string' && /^[0-9]{1,4}$/.test(value) ? Number(value) : value));

/*
 * The paging fields the list, sync and query requests share. The decorators
 * are listed bottom first: applyDecorators applies them in list order, a
 * stack of them bottom up, and the order of the checks is the order of the
 * problem's issues.
 */

/** An opaque cursor an earlier answer gave, at most `MAX_CURSOR_LENGTH` characters. */
const CursorField = (description: string, example: string) =>
  applyDecorators(MaxLength(MAX_CURSOR_LENGTH), IsString(), Omittable(), ApiProperty({ required: false, description, example }));

/** A query-string page size, `1`-`MAX_PAGE`. */
const QueryPageSize = (description: string) =>
  applyDecorators(
    Max(MAX_PAGE),
    Min(1),
    IsInt(),
    Omittable(),
    QueryInteger(),
    ApiProperty({ type: 'integer', required: false, description, example: 100 }),
  );

class VaultRecordFieldsDto {
  @ApiProperty({ description: 'The record category (often a blinded value), 1 to `vault.maxCategoryLength` (default 256) characters.', example: 'Y3JlZGVudGlhbA' })
  @IsString()
  category!: string;

  @ApiProperty({ description: 'The client ciphertext as base64url without padding, at most `vault.maxBlobBytes` decoded (default 256 KiB; larger is 413).', pattern: BASE64URL.source, example: 'q83vEjRWeJA' })
  @IsString()
  @Matches(BASE64URL, { message: 'must be base64url without padding' })
  blob!: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    nullable: true,
    description:
      'Tag name to value (default none). Names starting with `~` are plaintext (range and `$like` queries work on them); other names and their values are blinded by the client (base64url). At most `vault.maxTagsPerRecord` tags (default 32).',
    example: { '~added': '2026-01-02', bG9jYWxl: 'ZGU' },
  })
  @IsOptional()
  @IsObject()
  tags?: Record<string, string> | null;

  @ApiProperty({ type: 'integer', required: false, nullable: true, description: 'Ignored (a record read back may be sent as it is); the version written against comes from `If-Match`.', example: 1 })
  @IsOptional()
  @IsInt()
  version?: number | null;

  @ApiProperty({ type: String, required: false, nullable: true, description: 'Ignored (set by the server).', example: '2026-01-02T10:00:00.000Z' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  updatedAt?: string | null;
}

/** `POST /storage/vault/records`: a new record. */
export class CreateVaultRecordDto extends VaultRecordFieldsDto {
  @ApiProperty({ description: 'The record id, chosen by the client (often a blinded value).', pattern: RECORD_ID.source, example: 'cGlkLTE' })
  @IsString()
  @Matches(RECORD_ID, { message: RECORD_ID_MESSAGE })
  id!: string;
}

/** `PUT /storage/vault/records/{id}`: the new content of a record. */
export class ReplaceVaultRecordDto extends VaultRecordFieldsDto {
  @ApiProperty({ required: false, description: 'The record id; when given, it must equal the id in the path.', example: 'cGlkLTE' })
  @Omittable()
  @IsString()
  id?: string;
}

/** A record named in the path. */
export class VaultRecordPathDto {
  @ApiProperty({ description: 'The record id. An id of another shape is a record that does not exist (404).', example: 'cGlkLTE' })
  @IsString()
  id!: string;
}

/** `GET /storage/vault/records`. */
export class ListVaultRecordsQueryDto {
  @ApiProperty({ required: false, description: 'Only records of this category.', example: 'Y3JlZGVudGlhbA' })
  @Omittable()
  @IsString()
  category?: string;

  @CursorField('The `nextCursor` of the previous page.', 'cGlkLTE')
  cursor?: string;

  @QueryPageSize('Page size (default 100).')
  limit?: number;
}

/** `GET /storage/vault/sync`. */
export class VaultSyncQueryDto {
  @CursorField('The `cursor` of the previous sync answer; absent or empty: from the beginning.', '42')
  since?: string;

  @QueryPageSize('Most changes in one answer (default 100).')
  limit?: number;
}

/** `POST /storage/vault/query`: a WQL query over the caller's records. */
export class VaultQueryDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'A WQL query over tags (see docs/vault.md): `{"name": "value"}`, `$neq`, `$in`, `$exist`, `$and`, `$or`, `$not`; `$gt`, `$gte`, `$lt`, `$lte` and `$like` on plaintext (`~`) tags only. At most `vault.maxQueryDepth` levels (default 8), `vault.maxQueryClauses` conditions (default 64) and 128 parts. `{}` matches every record.',
    example: { bG9jYWxl: 'ZGU', '~added': { $gte: '2026-01-01' } },
  })
  @CheckedBy((value) => {
    parseWql(value, WQL_CEILINGS);
    return [];
  })
  query!: unknown;

  @ApiProperty({ required: false, description: 'Only records of this category.', example: 'Y3JlZGVudGlhbA' })
  @Omittable()
  @IsString()
  category?: string;

  @ApiProperty({ required: false, description: 'Page size (default 100).', example: 100 })
  @Omittable()
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
  limit?: number;

  @CursorField('The `nextCursor` of the previous page.', 'cGlkLTE')
  cursor?: string;
}
