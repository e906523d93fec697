import { applyDecorators, Body, Controller, Delete, Get, Headers, HttpCode, Inject, Param, Post, Put, Query, Res } from '@nestjs/common';
import { NotFoundError, ValidationError } from '@wallet/domain';
import { ApiProblem, CurrentPrincipal, type Principal } from '@wallet/platform';
import {
  decodeVaultArchive,
  encodeVaultArchive,
  type VaultChanges,
  type VaultRecord,
  type VaultRecordInput,
  type VaultStore,
  type VaultUsage,
} from '@wallet/persistence';
import { parseWql } from '@wallet/wql';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { KeystoreAccess, type ImportedKeystore } from './keystore-access';
import { asPrecondition, etagOf, ownerOf, VAULT_STORE, versionFromIfMatch } from './vault-http';
import {
  CreateVaultRecordDto,
  ListVaultRecordsQueryDto,
  ReplaceVaultRecordDto,
  VaultQueryDto,
  VaultRecordPathDto,
  VaultSyncQueryDto,
} from './vault.dto';
import { VaultChangesDto, VaultImportedDto, VaultPageDto, VaultRecordDto, VaultUsageDto } from './vault-responses.dto';

export const VAULT_ARCHIVE_CONTENT_TYPE = 'application/x-ndjson';

interface PageAnswer {
  items: VaultRecord[];
  nextCursor: string | null;
}

/**
 * The encrypted vault's REST API, under `/storage/vault`. Every route works on
 * the caller's own records only: the owner comes from the verified access
 * token, never from the request, so no identifier a client sends can reach
 * another user's or tenant's record. Bodies are client ciphertext (see
 * docs/vault.md); the server validates shapes and limits only.
 */
/** A write to a record: the 413 of the `vault.*` limits and quotas. */
const RecordWrite = () =>
  applyDecorators(
    ApiProblem(413, 'A `vault.*` limit or quota would be exceeded (`payload_too_large`, with `limit` and `max`)', 'payload_too_large'),
  );

@ApiTags('vault')
@ApiBearerAuth('accessToken')
@Controller('storage/vault')
export class VaultController {
  constructor(
    @Inject(VAULT_STORE) private readonly vault: VaultStore,
    @Inject(KeystoreAccess) private readonly keystore: KeystoreAccess,
  ) {}

  @Post('records')
  @ApiOperation({ summary: 'Store a new encrypted record', description: 'Answers the record with `ETag: "1"` and its `Location`.' })
  @ApiCreatedResponse({ type: VaultRecordDto })
  @ApiProblem(409, 'A live record with this id exists (`already_exists`)', 'already_exists')
  @RecordWrite()
  async create(
    @CurrentPrincipal() principal: Principal | null,
    @Body() body: CreateVaultRecordDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<VaultRecord> {
    const record = await this.vault.create(ownerOf(principal), recordInput(body.id, body));
    void reply.status(201).header('etag', etagOf(record)).header('location', `/storage/vault/records/${encodeURIComponent(record.id)}`);
    return record;
  }

  @Get('records')
  @ApiOperation({ summary: 'List records, by id, a page at a time' })
  @ApiOkResponse({ type: VaultPageDto })
  async list(@CurrentPrincipal() principal: Principal | null, @Query() query: ListVaultRecordsQueryDto): Promise<PageAnswer> {
    return this.vault.list(ownerOf(principal), pageOptions(query));
  }

  @Get('records/:id')
  @ApiOperation({ summary: 'Read a record', description: 'Its version is in the `ETag`.' })
  @ApiOkResponse({ type: VaultRecordDto })
  @ApiProblem(404, 'No such record (`not_found`)', 'not_found')
  async read(
    @CurrentPrincipal() principal: Principal | null,
    @Param() path: VaultRecordPathDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<VaultRecord> {
    const record = await this.vault.get(ownerOf(principal), path.id);
    if (!record) throw notFound();
    void reply.header('etag', etagOf(record));
    return record;
  }

  @Put('records/:id')
  @ApiOperation({ summary: 'Replace a record if it is still at the version read', description: 'Answers the new version in the `ETag`.' })
  @ApiHeader({ name: 'If-Match', required: true, description: 'The ETag of the version the change is based on, such as `"3"`.' })
  @ApiOkResponse({ type: VaultRecordDto })
  @ApiProblem(404, 'No such record (`not_found`)', 'not_found')
  @ApiProblem(412, 'The record changed since that version (`precondition_failed`, with `currentVersion` and `currentEtag`): read it again and merge', 'precondition_failed')
  @RecordWrite()
  async replace(
    @CurrentPrincipal() principal: Principal | null,
    @Param() path: VaultRecordPathDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Body() body: ReplaceVaultRecordDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<VaultRecord> {
    const owner = ownerOf(principal);
    const expected = versionFromIfMatch(ifMatch, true) as number;
    if (body.id !== undefined && body.id !== path.id) {
      throw new ValidationError('the body id differs from the path', [{ path: '/id', message: 'must equal the id in the path' }]);
    }
    const input = recordInput(path.id, body);
    try {
      const record = await this.vault.replace(owner, input, expected);
      void reply.header('etag', etagOf(record));
      return record;
    } catch (error) {
      throw asPrecondition(error);
    }
  }

  @Delete('records/:id')
  @ApiOperation({ summary: 'Delete a record (a tombstone stays for sync)' })
  @ApiHeader({ name: 'If-Match', required: false, description: 'Delete only if the record is still at this version, such as `"3"`.' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblem(404, 'No such record (`not_found`)', 'not_found')
  @ApiProblem(412, 'The record changed since that version (`precondition_failed`, with `currentVersion` and `currentEtag`)', 'precondition_failed')
  @HttpCode(204)
  async remove(
    @CurrentPrincipal() principal: Principal | null,
    @Param() path: VaultRecordPathDto,
    @Headers('if-match') ifMatch: string | undefined,
  ): Promise<void> {
    try {
      await this.vault.delete(ownerOf(principal), path.id, versionFromIfMatch(ifMatch, false));
    } catch (error) {
      throw asPrecondition(error);
    }
  }

  /** `{query: <WQL>, category?, limit?, cursor?}`; the query runs in the database. */
  @Post('query')
  @ApiOperation({
    summary: 'Find records by their tags with a WQL query',
    description: 'The query runs in the database, within the `vault.*` query limits; at most a few queries of one user run at a time (then 429).',
  })
  @ApiOkResponse({ type: VaultPageDto })
  @ApiProblem(429, 'Too many queries of this user at once (`rate_limited`); `Retry-After` says when to retry', 'rate_limited')
  @ApiProblem(503, 'Too many queries waiting in all (`unavailable`); retry later', 'unavailable')
  @HttpCode(200)
  async query(@CurrentPrincipal() principal: Principal | null, @Body() body: VaultQueryDto): Promise<PageAnswer> {
    const owner = ownerOf(principal);
    const limits = this.vault.limits;
    // The DTO checked the query's shape against the most any configuration allows; the configured limits apply here.
    const node = parseWql(body.query, { maxDepth: limits.maxQueryDepth, maxClauses: limits.maxQueryClauses, maxNameLength: limits.maxTagNameLength, maxValueLength: limits.maxTagValueLength }, '/query');
    return this.vault.query(owner, node, pageOptions(body));
  }

  /** Changes and deletions after `since` (absent: from the beginning), in order, with the next cursor. */
  @Get('sync')
  @ApiOperation({ summary: 'Changes and deletions since a cursor, in order, with the next cursor' })
  @ApiOkResponse({ type: VaultChangesDto })
  @ApiProblem(412, 'The cursor is older than the kept deletions (`sync_cursor_expired`, `resync: true`): sync again from the start', 'sync_cursor_expired')
  async sync(@CurrentPrincipal() principal: Principal | null, @Query() query: VaultSyncQueryDto): Promise<VaultChanges> {
    return this.vault.changes(ownerOf(principal), query.since === undefined || query.since === '' ? null : query.since, query.limit);
  }

  @Get('usage')
  @ApiOperation({ summary: "The caller's record count and bytes, with the limits that apply" })
  @ApiOkResponse({ type: VaultUsageDto })
  async usage(@CurrentPrincipal() principal: Principal | null): Promise<VaultUsage & { limits: VaultStore['limits'] }> {
    return { ...(await this.vault.usage(ownerOf(principal))), limits: this.vault.limits };
  }

  /** Streams every live record and the keystore blob as one archive (JSON lines, see docs/vault.md). */
  @Get('export')
  @ApiOperation({ summary: 'Every live record and the keystore blob as one archive (JSON lines, see docs/vault.md)' })
  @ApiProduces('application/x-ndjson')
  @ApiOkResponse({ description: 'The archive: a header line, one line per record, a trailer with a checksum', content: { 'application/x-ndjson': { schema: { type: 'string' } } } })
  async export(@CurrentPrincipal() principal: Principal | null, @Res() reply: FastifyReply): Promise<void> {
    const owner = ownerOf(principal);
    const keystore = await this.keystore.read(owner);
    const lines = encodeVaultArchive({ exportedAt: new Date().toISOString(), keystore }, this.vault.exportRecords(owner));
    await reply
      .status(200)
      .header('content-type', VAULT_ARCHIVE_CONTENT_TYPE)
      .header('content-disposition', 'attachment; filename="vault-archive.jsonl"')
      .header('cache-control', 'no-store')
      .send(Readable.from(lines));
  }

  /**
   * Imports an archive (body: `application/x-ndjson`) into the caller's vault,
   * which must have no live record: all records or none. The archive's
   * keystore blob is restored when the account has none yet.
   */
  @Post('import')
  @ApiOperation({
    summary: 'Import an archive into an empty vault: all records or none',
    description: "The archive's keystore blob is restored when the account has none. The body limit is `vault.maxArchiveBytes`.",
  })
  @ApiConsumes('application/x-ndjson')
  @ApiBody({ description: 'An archive from `GET /storage/vault/export`', schema: { type: 'string' } })
  @ApiOkResponse({ type: VaultImportedDto })
  @ApiProblem(412, 'The vault has live records (`precondition_failed`)', 'precondition_failed')
  @ApiProblem(413, 'The archive is larger than `vault.maxArchiveBytes`, or a limit or quota would be exceeded (`payload_too_large`)', 'payload_too_large')
  @HttpCode(200)
  async import(
    @CurrentPrincipal() principal: Principal | null,
    @Headers('content-type') contentType: string | undefined,
    @Body() body: unknown,
  ): Promise<{ imported: number; keystore: ImportedKeystore }> {
    const owner = ownerOf(principal);
    if (!contentType?.toLowerCase().startsWith(VAULT_ARCHIVE_CONTENT_TYPE) || typeof body !== 'string') {
      throw new ValidationError(`send the archive as ${VAULT_ARCHIVE_CONTENT_TYPE}`, [{ path: '/headers/content-type', message: `must be ${VAULT_ARCHIVE_CONTENT_TYPE}` }]);
    }
    const archive = decodeVaultArchive(body, this.vault.limits.maxRecordsPerUser);
    this.keystore.check(archive.header.keystore);
    const { imported } = await this.vault.importRecords(owner, archive.records);
    const keystore = await this.keystore.restore(owner, archive.header.keystore);
    return { imported, keystore };
  }
}

function notFound(): Error {
  return new NotFoundError('vault record');
}

/** The store's input: the id (from the body or the path) and the content; the store checks it against the `vault.*` limits. */
function recordInput(id: string, body: CreateVaultRecordDto | ReplaceVaultRecordDto): VaultRecordInput {
  return { id, category: body.category, blob: body.blob, tags: body.tags ?? {} };
}

function pageOptions(query: { category?: string; cursor?: string; limit?: number }): { category?: string; cursor?: string; limit?: number } {
  return {
    ...(query.category !== undefined ? { category: query.category } : {}),
    ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
    ...(query.limit !== undefined ? { limit: query.limit } : {}),
  };
}
