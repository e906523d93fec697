import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The shapes the vault API answers with, for the OpenAPI document (the controllers return the store's plain objects). */

export class VaultRecordDto {
  @ApiProperty({ example: 'cGlkLTE' })
  id!: string;

  @ApiProperty({ example: 'Y3JlZGVudGlhbA' })
  category!: string;

  @ApiProperty({ description: 'The client ciphertext (base64url).', example: 'q83vEjRWeJA' })
  blob!: string;

  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, example: { '~added': '2026-01-02', bG9jYWxl: 'ZGU' } })
  tags!: Record<string, string>;

  @ApiProperty({ description: '1 on create, +1 on every replace; the ETag is `"<version>"`.', example: 1 })
  version!: number;

  @ApiProperty({ format: 'date-time', example: '2026-01-02T10:00:00.000Z' })
  updatedAt!: string;
}

export class VaultPageDto {
  @ApiProperty({ type: [VaultRecordDto] })
  items!: VaultRecordDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page; null on the last.', example: null })
  nextCursor!: string | null;
}

export class VaultChangeDto {
  @ApiProperty({ example: 'cGlkLTE' })
  id!: string;

  @ApiProperty({ example: 'Y3JlZGVudGlhbA' })
  category!: string;

  @ApiProperty({ description: 'True for a tombstone (the record was deleted; no blob or tags).', example: false })
  deleted!: boolean;

  @ApiProperty({ required: false, description: 'Absent on a tombstone.', example: 'q83vEjRWeJA' })
  blob?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, description: 'Absent on a tombstone.' })
  tags?: Record<string, string>;

  @ApiProperty({ example: 2 })
  version!: number;

  @ApiProperty({ format: 'date-time', example: '2026-01-02T10:00:00.000Z' })
  updatedAt!: string;

  @ApiProperty({ description: 'Position in the feed.', example: 42 })
  seq!: number;
}

export class VaultChangesDto {
  @ApiProperty({ type: [VaultChangeDto], description: 'Ordered by `seq`; each record at most once, at its latest state.' })
  changes!: VaultChangeDto[];

  @ApiProperty({ description: 'Pass as `since` next time.', example: '42' })
  cursor!: string;

  @ApiProperty({ description: 'More changes are waiting: ask again with `cursor` right away.', example: false })
  hasMore!: boolean;
}

export class VaultLimitsDto {
  @ApiProperty({ example: 262144 }) maxBlobBytes!: number;
  @ApiProperty({ example: 10000 }) maxRecordsPerUser!: number;
  @ApiProperty({ example: 67108864 }) maxBytesPerUser!: number;
  @ApiProperty({ example: 32 }) maxTagsPerRecord!: number;
  @ApiProperty({ example: 256 }) maxTagNameLength!: number;
  @ApiProperty({ example: 1024 }) maxTagValueLength!: number;
  @ApiProperty({ example: 256 }) maxCategoryLength!: number;
  @ApiProperty({ example: 8 }) maxQueryDepth!: number;
  @ApiProperty({ example: 64 }) maxQueryClauses!: number;
}

export class VaultUsageDto {
  @ApiProperty({ description: 'Live records.', example: 12 })
  records!: number;

  @ApiProperty({ description: 'Stored bytes: decoded blobs, ids, categories and tags.', example: 48213 })
  bytes!: number;

  @ApiProperty({ type: VaultLimitsDto })
  limits!: VaultLimitsDto;
}

export class VaultImportedDto {
  @ApiProperty({ description: 'Records imported.', example: 12 })
  imported!: number;

  @ApiProperty({ enum: ['restored', 'kept', 'absent'], description: '`restored`: the archive\'s keystore blob was stored; `kept`: the account had one; `absent`: the archive had none.' })
  keystore!: 'restored' | 'kept' | 'absent';
}
