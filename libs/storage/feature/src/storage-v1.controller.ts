import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { NotFoundError, UniqueViolationError, VersionConflictError } from '@wallet/domain';
import { ApiProblem, CurrentPrincipal, ZodPipe, type Principal } from '@wallet/platform';
import type { VaultOwner, VaultRecordInput, VaultStore } from '@wallet/persistence';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { createHash } from 'node:crypto';
import {
  StoreV1CredentialsDto,
  UpdateV1CredentialDto,
  V1_PRESENTATION_SCHEMA,
  V1CredentialPathDto,
  V1PresentationPathDto,
  zV1Presentation,
  type V1Credential,
  type V1Presentation,
} from './storage-v1.dto';
import { ownerOf, VAULT_STORE } from './vault-http';

/**
 * The v1 routes the reference wallet front ends call (`/storage/vc`,
 * `/storage/vp`), kept on the same vault store: a v1 credential is a vault
 * record of category `v1.vc` whose id is derived from its identifier, its
 * blob is the JSON the client sent, and `~credentialIdentifier` / `~format`
 * are plaintext tags (so the new API can query them). Everything is scoped to
 * the caller; an identifier of another user's record is simply not found.
 *
 * v1 has no versions: `POST /vc` and `/vc/update` overwrite (last writer wins),
 * as the reference back end does. Clients that need conflict detection use
 * the vault API with `If-Match`.
 */

const CATEGORY_VC = 'v1.vc';
const CATEGORY_VP = 'v1.vp';

/** A v1 identifier as a vault id: any length and alphabet in, fixed printable ASCII out. */
function recordId(prefix: string, identifier: string): string {
  return `${prefix}.${createHash('sha256').update(identifier, 'utf8').digest('base64url')}`;
}

function toRecord(prefix: string, category: string, identifier: string, value: object, tags: Record<string, string>): VaultRecordInput {
  return {
    id: recordId(prefix, identifier),
    category,
    blob: Buffer.from(JSON.stringify(value), 'utf8').toString('base64url'),
    tags,
  };
}

function fromBlob(blob: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(blob, 'base64url').toString('utf8')) as Record<string, unknown>;
}

const EMPTY = { schema: { type: 'object' as const, properties: {}, additionalProperties: false } };
const STORED_JSON = { schema: { type: 'object' as const, additionalProperties: true, description: 'The JSON the client stored, as it was sent.' } };
const STORED_LIST = (name: string) => ({ schema: { type: 'object' as const, properties: { [name]: { type: 'array' as const, items: STORED_JSON.schema } }, required: [name] } });

@ApiTags('v1 compatibility')
@ApiBearerAuth('accessToken')
@Controller('storage')
export class StorageV1Controller {
  constructor(@Inject(VAULT_STORE) private readonly vault: VaultStore) {}

  @Post('vc')
  @ApiOperation({ summary: 'Store credentials (v1)', description: 'Each overwrites a stored one with the same identifier (last writer wins).' })
  @ApiOkResponse({ description: 'Stored', ...EMPTY })
  @HttpCode(200)
  async storeCredentials(@CurrentPrincipal() principal: Principal | null, @Body() body: StoreV1CredentialsDto): Promise<Record<string, never>> {
    const owner = ownerOf(principal);
    for (const credential of body.credentials) await this.upsert(owner, this.credentialRecord(credential), false);
    return {};
  }

  @Post('vc/update')
  @ApiOperation({ summary: 'Replace a stored credential (v1)' })
  @ApiOkResponse({ description: 'Replaced', ...EMPTY })
  @ApiProblem(404, 'No credential with this identifier (`not_found`)', 'not_found')
  @HttpCode(200)
  async updateCredential(@CurrentPrincipal() principal: Principal | null, @Body() body: UpdateV1CredentialDto): Promise<Record<string, never>> {
    const owner = ownerOf(principal);
    await this.upsert(owner, this.credentialRecord(body.credential), true);
    return {};
  }

  @Get('vc')
  @ApiOperation({ summary: 'Every stored credential (v1)' })
  @ApiOkResponse({ description: 'The credentials as they were stored', ...STORED_LIST('vc_list') })
  async listCredentials(@CurrentPrincipal() principal: Principal | null): Promise<{ vc_list: Array<Record<string, unknown>> }> {
    return { vc_list: await this.all(ownerOf(principal), CATEGORY_VC) };
  }

  @Get('vc/:credential_identifier')
  @ApiOperation({ summary: 'One stored credential (v1)' })
  @ApiOkResponse({ description: 'The credential as it was stored', ...STORED_JSON })
  @ApiProblem(404, 'No credential with this identifier (`not_found`)', 'not_found')
  async getCredential(@CurrentPrincipal() principal: Principal | null, @Param() path: V1CredentialPathDto): Promise<Record<string, unknown>> {
    const record = await this.vault.get(ownerOf(principal), recordId('vc', path.credential_identifier));
    if (!record || record.category !== CATEGORY_VC) throw new NotFoundError('credential');
    return fromBlob(record.blob);
  }

  @Delete('vc/:credential_identifier')
  @ApiOperation({ summary: 'Delete a stored credential (v1)' })
  @ApiOkResponse({ description: 'Deleted', schema: { type: 'object', properties: { message: { type: 'string', example: 'Verifiable Credential deleted successfully.' } } } })
  @ApiProblem(404, 'No credential with this identifier (`not_found`)', 'not_found')
  @HttpCode(200)
  async deleteCredential(@CurrentPrincipal() principal: Principal | null, @Param() path: V1CredentialPathDto): Promise<{ message: string }> {
    const owner = ownerOf(principal);
    const record = await this.vault.get(owner, recordId('vc', path.credential_identifier));
    if (!record || record.category !== CATEGORY_VC) throw new NotFoundError('credential');
    await this.vault.delete(owner, record.id);
    return { message: 'Verifiable Credential deleted successfully.' };
  }

  @Post('vp')
  @ApiOperation({
    summary: 'Store a presentation (v1)',
    description: 'The body is the presentation itself, stored as it is (other members kept), so it is checked by an open zod schema rather than a closed DTO; it overwrites one with the same identifier.',
  })
  @ApiBody({ schema: V1_PRESENTATION_SCHEMA })
  @ApiOkResponse({ description: 'Stored', ...EMPTY })
  @HttpCode(200)
  async storePresentation(
    @CurrentPrincipal() principal: Principal | null,
    @Body(new ZodPipe(zV1Presentation, 'body')) presentation: V1Presentation,
  ): Promise<Record<string, never>> {
    const owner = ownerOf(principal);
    const record = toRecord('vp', CATEGORY_VP, presentation.presentationIdentifier, presentation, {
      '~presentationIdentifier': presentation.presentationIdentifier.slice(0, 1024),
    });
    await this.upsert(owner, record, false);
    return {};
  }

  @Get('vp')
  @ApiOperation({ summary: 'Every stored presentation (v1)' })
  @ApiOkResponse({ description: 'The presentations as they were stored', ...STORED_LIST('vp_list') })
  async listPresentations(@CurrentPrincipal() principal: Principal | null): Promise<{ vp_list: Array<Record<string, unknown>> }> {
    return { vp_list: await this.all(ownerOf(principal), CATEGORY_VP) };
  }

  @Get('vp/:presentation_identifier')
  @ApiOperation({ summary: 'One stored presentation (v1)' })
  @ApiOkResponse({ description: 'The presentation as it was stored', ...STORED_JSON })
  @ApiProblem(404, 'No presentation with this identifier (`not_found`)', 'not_found')
  async getPresentation(@CurrentPrincipal() principal: Principal | null, @Param() path: V1PresentationPathDto): Promise<Record<string, unknown>> {
    const record = await this.vault.get(ownerOf(principal), recordId('vp', path.presentation_identifier));
    if (!record || record.category !== CATEGORY_VP) throw new NotFoundError('presentation');
    return fromBlob(record.blob);
  }

  private credentialRecord(credential: V1Credential): VaultRecordInput {
    return toRecord('vc', CATEGORY_VC, credential.credentialIdentifier, credential, {
      '~credentialIdentifier': credential.credentialIdentifier,
      '~format': credential.format,
    });
  }

  /** Create, or overwrite the current version (v1 semantics); `mustExist` for `/vc/update`. */
  private async upsert(owner: VaultOwner, record: VaultRecordInput, mustExist: boolean): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.vault.get(owner, record.id);
      try {
        if (!current) {
          if (mustExist) throw new NotFoundError('credential');
          await this.vault.create(owner, record);
        } else {
          await this.vault.replace(owner, record, current.version);
        }
        return;
      } catch (error) {
        // Another request wrote in between: read again.
        if (!(error instanceof VersionConflictError || error instanceof UniqueViolationError)) throw error;
      }
    }
    throw new VersionConflictError('vault', 0, null);
  }

  private async all(owner: VaultOwner, category: string): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    let cursor: string | undefined;
    do {
      const page = await this.vault.list(owner, { category, limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const record of page.items) items.push(fromBlob(record.blob));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return items;
  }
}
