import { Body, Controller, Delete, Get, HttpCode, Inject, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ValidationError } from '@wallet/domain';
import { AdminTokenGuard, AuditLog, CurrentTenant, HttpMetrics, Public } from '@wallet/platform';
import { Counter } from 'prom-client';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IssuerMetadataService, type IssuerMetadataResult } from './issuer-metadata/issuer-metadata.service';
import { LocalTypeMetadataStore, parseTypeMetadataDocument } from './local/local-type-metadata.store';
import { TypeMetadataResolver } from './type-metadata/type-metadata.resolver';

type QueryParams = Record<string, string | string[] | undefined>;

/** One string query parameter, or a 400 naming it. */
function queryString(query: QueryParams, name: string, required: true): string;
function queryString(query: QueryParams, name: string, required: false): string | undefined;
function queryString(query: QueryParams, name: string, required: boolean): string | undefined {
  const value = query[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value.length === 0) {
    throw new ValidationError(`the query parameter ${name} is required, once`, [{ path: `/query/${name}`, message: 'required string' }]);
  }
  return value;
}

/**
 * Registry routes (`/registry/...`). Reads are public (wallet-facing, no
 * secrets; every fetch they cause goes through the outbound guard); writes to
 * the local type metadata are admin-only.
 */
@Controller('registry')
export class RegistryController {
  constructor(
    @Inject(TypeMetadataResolver) private readonly typeMetadata: TypeMetadataResolver,
    @Inject(IssuerMetadataService) private readonly issuers: IssuerMetadataService,
    @Inject(LocalTypeMetadataStore) private readonly local: LocalTypeMetadataStore,
    @Inject(AuditLog) private readonly audit: AuditLog,
    @Inject(HttpMetrics) metrics: HttpMetrics,
  ) {
    const name = 'registry_type_metadata_answers_total';
    this.answers =
      (metrics.registry.getSingleMetric(name) as Counter<'cache'> | undefined) ??
      new Counter({
        name,
        help: 'Type metadata answers by how they were produced (hit, miss, revalidated, local, stale)',
        labelNames: ['cache'],
        registers: [metrics.registry],
      });
  }

  private readonly answers: Counter<'cache'>;

  /**
   * SD-JWT VC type metadata for `vct`, `extends` merged and images embedded.
   * `integrity` (or `vct#integrity`) is the referrer's SRI string. Answers
   * carry `ETag`, `Last-Modified`, `Cache-Control` and `X-Registry-Cache`
   * (`hit`, `miss`, `revalidated`, `local`, or `stale` when the upstream failed).
   */
  @Get('type-metadata')
  @Public({ tenant: false })
  async getTypeMetadata(
    @Query() query: QueryParams,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Record<string, unknown> | undefined> {
    const vct = queryString(query, 'vct', true);
    const integrity = queryString(query, 'integrity', false) ?? queryString(query, 'vct#integrity', false);
    const result = await this.typeMetadata.resolve(vct, integrity);
    this.answers.inc({ cache: result.cache });
    void reply
      .header('x-registry-cache', result.cache)
      .header('etag', result.etag)
      .header('last-modified', new Date(result.fetchedAt).toUTCString())
      .header('cache-control', `public, max-age=${result.maxAgeSeconds}`);
    const ifNoneMatch = request.headers['if-none-match'];
    const tags = typeof ifNoneMatch === 'string' ? ifNoneMatch.split(',').map((t) => t.trim().replace(/^W\//, '')) : [];
    if (tags.includes(result.etag) || tags.includes('*')) {
      void reply.status(304);
      return undefined;
    }
    return result.metadata;
  }

  /**
   * The issuer's OpenID4VCI and authorization server metadata, with the trust decision for the
   * caller's tenant (from `/t/{tenant}/...` or `X-Tenant-ID`, else `default`; unknown or disabled: 404).
   */
  @Get('issuer-metadata')
  @Public()
  async getIssuerMetadata(
    @Query() query: QueryParams,
    @CurrentTenant() tenantId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Omit<IssuerMetadataResult, 'cache'>> {
    const issuer = queryString(query, 'issuer', true);
    const { cache, ...result } = await this.issuers.get(issuer, tenantId);
    void reply.header('x-registry-cache', cache).header('cache-control', 'private, no-cache');
    return result;
  }

  /** Registers (or replaces) local type metadata; it wins over remote copies and source lists. Admin only. */
  @Post('vctm')
  @UseGuards(AdminTokenGuard)
  async registerTypeMetadata(
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ vct: string; origin: 'local' }> {
    const document = parseTypeMetadataDocument(body);
    const { created } = await this.local.put(document, 'local');
    await this.typeMetadata.invalidate(document.vct);
    await this.audit.record('_global', {
      actorType: 'admin',
      actorId: null,
      action: created ? 'vctm.create' : 'vctm.replace',
      resourceType: 'type_metadata',
      resourceId: document.vct.slice(0, 200),
      after: { vct: document.vct },
      requestId: String(request.id),
    });
    void reply.status(created ? 201 : 200);
    return { vct: document.vct, origin: 'local' };
  }

  /** Removes local type metadata for `vct`. Admin only. */
  @Delete('vctm')
  @HttpCode(204)
  @UseGuards(AdminTokenGuard)
  async removeTypeMetadata(@Query() query: QueryParams, @Req() request: FastifyRequest): Promise<void> {
    const vct = queryString(query, 'vct', true);
    await this.local.remove(vct);
    await this.typeMetadata.invalidate(vct);
    await this.audit.record('_global', {
      actorType: 'admin',
      actorId: null,
      action: 'vctm.remove',
      resourceType: 'type_metadata',
      resourceId: vct.slice(0, 200),
      before: { vct },
      requestId: String(request.id),
    });
  }
}
