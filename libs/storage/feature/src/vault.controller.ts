import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Param, Post, Put, Query, Res } from '@nestjs/common';
import { NotFoundError, ValidationError } from '@wallet/domain';
import { CurrentPrincipal, type Principal } from '@wallet/platform';
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
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { KeystoreAccess, type ImportedKeystore } from './keystore-access';
import { asPrecondition, etagOf, limitParam, ownerOf, stringParam, VAULT_STORE, versionFromIfMatch } from './vault-http';

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
@Controller('storage/vault')
export class VaultController {
  constructor(
    @Inject(VAULT_STORE) private readonly vault: VaultStore,
    @Inject(KeystoreAccess) private readonly keystore: KeystoreAccess,
  ) {}

  @Post('records')
  async create(
    @CurrentPrincipal() principal: Principal | null,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<VaultRecord> {
    const record = await this.vault.create(ownerOf(principal), recordBody(body));
    void reply.status(201).header('etag', etagOf(record)).header('location', `/storage/vault/records/${encodeURIComponent(record.id)}`);
    return record;
  }

  @Get('records')
  async list(
    @CurrentPrincipal() principal: Principal | null,
    @Query() query: Record<string, unknown>,
  ): Promise<PageAnswer> {
    const category = stringParam(query['category'], 'category');
    const cursor = stringParam(query['cursor'], 'cursor');
    const limit = limitParam(query['limit']);
    return this.vault.list(ownerOf(principal), {
      ...(category !== undefined ? { category } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
      ...(limit !== undefined ? { limit } : {}),
    });
  }

  @Get('records/:id')
  async read(
    @CurrentPrincipal() principal: Principal | null,
    @Param('id') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<VaultRecord> {
    const record = await this.vault.get(ownerOf(principal), id);
    if (!record) throw notFound();
    void reply.header('etag', etagOf(record));
    return record;
  }

  @Put('records/:id')
  async replace(
    @CurrentPrincipal() principal: Principal | null,
    @Param('id') id: string,
    @Headers('if-match') ifMatch: string | undefined,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<VaultRecord> {
    const owner = ownerOf(principal);
    const expected = versionFromIfMatch(ifMatch, true) as number;
    const input = recordBody(body, id);
    try {
      const record = await this.vault.replace(owner, input, expected);
      void reply.header('etag', etagOf(record));
      return record;
    } catch (error) {
      throw asPrecondition(error);
    }
  }

  @Delete('records/:id')
  @HttpCode(204)
  async remove(
    @CurrentPrincipal() principal: Principal | null,
    @Param('id') id: string,
    @Headers('if-match') ifMatch: string | undefined,
  ): Promise<void> {
    try {
      await this.vault.delete(ownerOf(principal), id, versionFromIfMatch(ifMatch, false));
    } catch (error) {
      throw asPrecondition(error);
    }
  }

  /** `{query: <WQL>, category?, limit?, cursor?}`; the query runs in the database. */
  @Post('query')
  @HttpCode(200)
  async query(@CurrentPrincipal() principal: Principal | null, @Body() body: unknown): Promise<PageAnswer> {
    const owner = ownerOf(principal);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new ValidationError('the body must be {"query": {...}}', [{ path: '', message: 'must be an object' }]);
    }
    const { query, category, limit, cursor, ...rest } = body as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) {
      throw new ValidationError(`unknown field ${unknown[0]?.slice(0, 64)}`, [{ path: `/${unknown[0]?.slice(0, 64)}`, message: 'unknown field' }]);
    }
    if (query === undefined) throw new ValidationError('query is required', [{ path: '/query', message: 'required' }]);
    const issues = [
      category !== undefined && typeof category !== 'string' ? { path: '/category', message: 'must be a string' } : null,
      limit !== undefined && (typeof limit !== 'number' || !Number.isInteger(limit)) ? { path: '/limit', message: 'must be an integer' } : null,
      cursor !== undefined && typeof cursor !== 'string' ? { path: '/cursor', message: 'must be a string' } : null,
    ].filter((issue) => issue !== null);
    if (issues.length > 0) throw new ValidationError(`invalid query request: ${issues[0]?.path} ${issues[0]?.message}`, issues);
    const limits = this.vault.limits;
    const node = parseWql(query, { maxDepth: limits.maxQueryDepth, maxClauses: limits.maxQueryClauses, maxNameLength: limits.maxTagNameLength, maxValueLength: limits.maxTagValueLength }, '/query');
    return this.vault.query(owner, node, {
      ...(typeof category === 'string' ? { category } : {}),
      ...(typeof limit === 'number' ? { limit } : {}),
      ...(typeof cursor === 'string' ? { cursor } : {}),
    });
  }

  /** Changes and deletions after `since` (absent: from the beginning), in order, with the next cursor. */
  @Get('sync')
  async sync(@CurrentPrincipal() principal: Principal | null, @Query() query: Record<string, unknown>): Promise<VaultChanges> {
    const since = stringParam(query['since'], 'since');
    return this.vault.changes(ownerOf(principal), since === undefined || since === '' ? null : since, limitParam(query['limit']));
  }

  @Get('usage')
  async usage(@CurrentPrincipal() principal: Principal | null): Promise<VaultUsage & { limits: VaultStore['limits'] }> {
    return { ...(await this.vault.usage(ownerOf(principal))), limits: this.vault.limits };
  }

  /** Streams every live record and the keystore blob as one archive (JSON lines, see docs/vault.md). */
  @Get('export')
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

/** The record body of a create (`id` required) or a replace (`id` from the path; a body id must match). */
function recordBody(body: unknown, pathId?: string): VaultRecordInput {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError('the body must be a record object', [{ path: '', message: 'must be an object' }]);
  }
  const { id, category, blob, tags, version: _version, updatedAt: _updatedAt, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new ValidationError(`unknown field ${unknown[0]?.slice(0, 64)}`, [{ path: `/${unknown[0]?.slice(0, 64)}`, message: 'unknown field' }]);
  }
  if (pathId !== undefined && id !== undefined && id !== pathId) {
    throw new ValidationError('the body id differs from the path', [{ path: '/id', message: 'must equal the id in the path' }]);
  }
  return { id: (pathId ?? id) as string, category: category as string, blob: blob as string, tags: (tags ?? {}) as Record<string, string> };
}
