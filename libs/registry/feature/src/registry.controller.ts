import { Body, Controller, Delete, Get, HttpCode, Inject, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiNotModifiedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AdminTokenGuard, ApiProblem, AuditLog, componentSchema, CurrentTenant, HttpMetrics, Public, zodJsonSchema } from '@wallet/platform';
import { Counter } from 'prom-client';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IssuerMetadataService, type IssuerMetadataResult } from './issuer-metadata/issuer-metadata.service';
import { IssuerMetadataQueryDto } from './issuer-metadata-query.dto';
import { LocalTypeMetadataStore, parseTypeMetadataDocument, zTypeMetadataDocument } from './local/local-type-metadata.store';
import { RemoveTypeMetadataQueryDto } from './remove-type-metadata-query.dto';
import { TypeMetadataResolver } from './type-metadata/type-metadata.resolver';
import { TypeMetadataQueryDto } from './type-metadata-query.dto';

/** An SD-JWT VC type metadata document: the shape the registry checks (zod, by ADR 0015: a protocol document); other members are kept. */
const TYPE_METADATA_SCHEMA = componentSchema('TypeMetadataDocument', zodJsonSchema(zTypeMetadataDocument));

const CACHE_HEADER = {
  'X-Registry-Cache': {
    description: 'How the answer was produced: `hit`, `miss`, `revalidated`, `local`, or `stale` (the upstream failed; a stale copy within `registry.staleMaxMs`).',
    schema: { type: 'string', enum: ['hit', 'miss', 'revalidated', 'local', 'stale'] },
  },
};

/**
 * Registry routes (`/registry/...`). Reads are public (wallet-facing, no
 * secrets; every fetch they cause goes through the outbound guard); writes to
 * the local type metadata are admin-only.
 */
@ApiTags('registry')
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
  @ApiOperation({
    summary: 'SD-JWT VC type metadata for a vct',
    description:
      'The type metadata document of `vct` with `extends` merged and images embedded as data URLs: a locally registered copy, one from a source list, or fetched (through the outbound guard) and cached per its HTTP caching headers. Conditional requests with `If-None-Match` are answered 304.',
  })
  @ApiHeader({ name: 'If-None-Match', required: false, description: 'An `ETag` of an earlier answer (or `*`): 304 when it still matches.' })
  @ApiOkResponse({
    description: 'The type metadata document',
    schema: TYPE_METADATA_SCHEMA,
    headers: {
      ...CACHE_HEADER,
      ETag: { description: 'A strong validator of the answer', schema: { type: 'string' } },
      'Last-Modified': { description: 'When the registry fetched or registered it', schema: { type: 'string' } },
      'Cache-Control': { description: '`public, max-age=<seconds left>`', schema: { type: 'string' } },
    },
  })
  @ApiNotModifiedResponse({ description: 'The `If-None-Match` tag still matches; no body', headers: CACHE_HEADER })
  @ApiProblem(404, 'No type metadata for this vct (not registered, and the URL answers none)', 'not_found')
  @ApiProblem(502, 'The upstream failed, or its document does not match the integrity asked for (`reason`: `integrity_mismatch`, `too_large`, ...)', 'bad_gateway')
  async getTypeMetadata(
    @Query() query: TypeMetadataQueryDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Record<string, unknown> | undefined> {
    const result = await this.typeMetadata.resolve(query.vct, query.integrity ?? query['vct#integrity']);
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
  @ApiOperation({
    summary: 'Issuer metadata with the trust decision',
    description:
      "The issuer's OpenID4VCI credential issuer metadata (and whether its `signed_metadata` verifies), its authorization servers' metadata, and the trust decision for the caller's tenant (AuthZEN PDP, or the configured trust lists).",
  })
  @ApiOkResponse({
    description: 'The metadata and the trust decision',
    headers: { ...CACHE_HEADER, 'Cache-Control': { description: '`private, no-cache`', schema: { type: 'string' } } },
    schema: {
      type: 'object',
      required: ['issuer', 'credential_issuer_metadata', 'signed_metadata', 'authorization_servers', 'trust'],
      properties: {
        issuer: { type: 'string', example: 'https://issuer.example.com' },
        credential_issuer_metadata: { type: 'object', description: 'As the issuer publishes it at `/.well-known/openid-credential-issuer`' },
        signed_metadata: { type: 'object', description: 'Whether `signed_metadata` is present and verifies, and why not' },
        authorization_servers: { type: 'array', items: { type: 'object' }, description: 'The metadata of each authorization server the issuer names' },
        trust: { type: 'object', description: 'The trust decision for the tenant: `trusted`, and where the decision came from' },
      },
    },
  })
  @ApiProblem(404, 'The issuer publishes no credential issuer metadata', 'not_found')
  @ApiProblem(502, 'The issuer or one of its authorization servers failed to answer usable metadata', 'bad_gateway')
  async getIssuerMetadata(
    @Query() query: IssuerMetadataQueryDto,
    @CurrentTenant() tenantId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Omit<IssuerMetadataResult, 'cache'>> {
    const { cache, ...result } = await this.issuers.get(query.issuer, tenantId);
    void reply.header('x-registry-cache', cache).header('cache-control', 'private, no-cache');
    return result;
  }

  /** Registers (or replaces) local type metadata; it wins over remote copies and source lists. Admin only. */
  @Post('vctm')
  @UseGuards(AdminTokenGuard)
  @ApiOperation({
    summary: 'Register local type metadata',
    description:
      'Registers or replaces the type metadata of its `vct` (an SD-JWT VC type metadata document, validated as such; other members are kept). It wins over remote copies and source lists until removed. Audited.',
  })
  // The body is an SD-JWT VC type metadata document (a protocol shape, zod-validated by the registry and its source lists alike).
  @ApiBody({ schema: TYPE_METADATA_SCHEMA, examples: { pid: { value: { vct: 'https://credentials.example.com/pid', name: 'Person identification data', claims: [{ path: ['given_name'], display: [{ lang: 'en', label: 'Given name' }] }] } } } })
  @ApiCreatedResponse({ description: 'Registered', schema: { type: 'object', properties: { vct: { type: 'string' }, origin: { type: 'string', enum: ['local'] } } } })
  @ApiOkResponse({ description: 'Replaced an earlier local registration', schema: { type: 'object', properties: { vct: { type: 'string' }, origin: { type: 'string', enum: ['local'] } } } })
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
  @ApiOperation({ summary: 'Remove local type metadata', description: 'Removes the local registration of `vct`; the registry then serves the remote copy again. Audited.' })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiProblem(404, 'No local type metadata for this vct', 'not_found')
  async removeTypeMetadata(@Query() query: RemoveTypeMetadataQueryDto, @Req() request: FastifyRequest): Promise<void> {
    const { vct } = query;
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
