import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { NotFoundError, UniqueViolationError, ValidationError, VersionConflictError } from '@wallet/domain';
import { CurrentPrincipal, type Principal } from '@wallet/platform';
import type { VaultOwner, VaultRecordInput, VaultStore } from '@wallet/persistence';
import { createHash } from 'node:crypto';
import { z } from 'zod';
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

const zV1Credential = z.looseObject({
  credentialIdentifier: z.string().min(1).max(512),
  credential: z.string().max(1_048_576),
  format: z.string().min(1).max(64),
});
type V1Credential = z.infer<typeof zV1Credential>;

const zV1Presentation = z.looseObject({
  presentationIdentifier: z.string().min(1).max(512),
  presentation: z.string().max(1_048_576),
});
type V1Presentation = z.infer<typeof zV1Presentation>;

function parse<S extends z.ZodType>(schema: S, value: unknown, base: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 20).map((issue) => ({
    path: `${base}/${issue.path.map(String).join('/')}`.replace(/\/$/, '') || '/',
    message: issue.message,
  }));
  throw new ValidationError(`invalid request: ${issues[0]?.path} ${issues[0]?.message}`, issues);
}

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

@Controller('storage')
export class StorageV1Controller {
  constructor(@Inject(VAULT_STORE) private readonly vault: VaultStore) {}

  @Post('vc')
  @HttpCode(200)
  async storeCredentials(@CurrentPrincipal() principal: Principal | null, @Body() body: unknown): Promise<Record<string, never>> {
    const owner = ownerOf(principal);
    const { credentials } = parse(z.object({ credentials: z.array(zV1Credential).min(1).max(100) }), body, '');
    for (const credential of credentials) await this.upsert(owner, this.credentialRecord(credential), false);
    return {};
  }

  @Post('vc/update')
  @HttpCode(200)
  async updateCredential(@CurrentPrincipal() principal: Principal | null, @Body() body: unknown): Promise<Record<string, never>> {
    const owner = ownerOf(principal);
    const { credential } = parse(z.object({ credential: zV1Credential }), body, '');
    await this.upsert(owner, this.credentialRecord(credential), true);
    return {};
  }

  @Get('vc')
  async listCredentials(@CurrentPrincipal() principal: Principal | null): Promise<{ vc_list: Array<Record<string, unknown>> }> {
    return { vc_list: await this.all(ownerOf(principal), CATEGORY_VC) };
  }

  @Get('vc/:credential_identifier')
  async getCredential(
    @CurrentPrincipal() principal: Principal | null,
    @Param('credential_identifier') identifier: string,
  ): Promise<Record<string, unknown>> {
    const record = await this.vault.get(ownerOf(principal), recordId('vc', identifier));
    if (!record || record.category !== CATEGORY_VC) throw new NotFoundError('credential');
    return fromBlob(record.blob);
  }

  @Delete('vc/:credential_identifier')
  @HttpCode(200)
  async deleteCredential(
    @CurrentPrincipal() principal: Principal | null,
    @Param('credential_identifier') identifier: string,
  ): Promise<{ message: string }> {
    const owner = ownerOf(principal);
    const record = await this.vault.get(owner, recordId('vc', identifier));
    if (!record || record.category !== CATEGORY_VC) throw new NotFoundError('credential');
    await this.vault.delete(owner, record.id);
    return { message: 'Verifiable Credential deleted successfully.' };
  }

  @Post('vp')
  @HttpCode(200)
  async storePresentation(@CurrentPrincipal() principal: Principal | null, @Body() body: unknown): Promise<Record<string, never>> {
    const owner = ownerOf(principal);
    const presentation: V1Presentation = parse(zV1Presentation, body, '');
    const record = toRecord('vp', CATEGORY_VP, presentation.presentationIdentifier, presentation, {
      '~presentationIdentifier': presentation.presentationIdentifier.slice(0, 1024),
    });
    await this.upsert(owner, record, false);
    return {};
  }

  @Get('vp')
  async listPresentations(@CurrentPrincipal() principal: Principal | null): Promise<{ vp_list: Array<Record<string, unknown>> }> {
    return { vp_list: await this.all(ownerOf(principal), CATEGORY_VP) };
  }

  @Get('vp/:presentation_identifier')
  async getPresentation(
    @CurrentPrincipal() principal: Principal | null,
    @Param('presentation_identifier') identifier: string,
  ): Promise<Record<string, unknown>> {
    const record = await this.vault.get(ownerOf(principal), recordId('vp', identifier));
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
