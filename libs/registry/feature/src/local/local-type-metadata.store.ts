import { GLOBAL_SCOPE, VersionConflictError, zodValidationError, type TypeMetadataRecord } from '@wallet/domain';
import { Collections, type Repository, type Store } from '@wallet/persistence';
import { createHash } from 'node:crypto';
import { z } from 'zod';

/** The shape a registered type metadata document must have; other members pass through. */
export const zTypeMetadataDocument = z
  .looseObject({
    vct: z.string().min(1).max(2048),
    name: z.string().max(500).optional(),
    description: z.string().max(5_000).optional(),
    extends: z.string().min(1).max(2048).optional(),
    'extends#integrity': z.string().max(1_000).optional(),
    display: z.array(z.record(z.string(), z.unknown())).max(50).optional(),
    claims: z.array(z.record(z.string(), z.unknown())).max(500).optional(),
  })
  .refine((doc) => doc.extends !== doc.vct, { message: 'a type cannot extend itself', path: ['extends'] });

export function parseTypeMetadataDocument(input: unknown): Record<string, unknown> & { vct: string } {
  const result = zTypeMetadataDocument.safeParse(input);
  if (!result.success) {
    throw zodValidationError('invalid type metadata', result.error);
  }
  return result.data;
}

export const typeMetadataId = (vct: string): string => createHash('sha256').update(vct).digest('base64url');

/**
 * Type metadata held by the registry itself, in the global scope: registered
 * by an admin (`local`) or copied from a source list (`source-list`). A local
 * record is never replaced by a source list.
 */
export class LocalTypeMetadataStore {
  private readonly repo: Repository<TypeMetadataRecord>;

  constructor(store: Store) {
    this.repo = store.repository(Collections.typeMetadata);
  }

  async get(vct: string): Promise<Record<string, unknown> | null> {
    const record = await this.repo.get(GLOBAL_SCOPE, typeMetadataId(vct));
    return record && record.vct === vct ? record.metadata : null;
  }

  /** Creates or replaces; false when a source-list copy would replace a local one. */
  async put(
    metadata: Record<string, unknown> & { vct: string },
    origin: TypeMetadataRecord['origin'],
    sourceUrl: string | null = null,
  ): Promise<{ created: boolean; stored: boolean }> {
    const id = typeMetadataId(metadata.vct);
    const value: TypeMetadataRecord = { id, vct: metadata.vct, metadata, origin, sourceUrl };
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await this.repo.get(GLOBAL_SCOPE, id);
      if (!existing) {
        try {
          await this.repo.create(GLOBAL_SCOPE, value);
          return { created: true, stored: true };
        } catch (error) {
          if (attempt === 2) throw error;
          continue;
        }
      }
      if (existing.origin === 'local' && origin === 'source-list') return { created: false, stored: false };
      if (JSON.stringify(existing.metadata) === JSON.stringify(metadata) && existing.origin === origin) {
        return { created: false, stored: false };
      }
      try {
        await this.repo.update(GLOBAL_SCOPE, id, value, existing.version);
        return { created: false, stored: true };
      } catch (error) {
        if (!(error instanceof VersionConflictError) || attempt === 2) throw error;
      }
    }
    return { created: false, stored: false };
  }

  /** Removes the record of `vct`; NotFoundError when there is none. */
  async remove(vct: string): Promise<void> {
    await this.repo.delete(GLOBAL_SCOPE, typeMetadataId(vct));
  }

  /** Source-list records of `sourceUrl` whose vct is not in `keep`; returns their vcts after removing them. */
  async pruneSource(sourceUrl: string, keep: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.repo.list(GLOBAL_SCOPE, { where: { sourceUrl }, limit: 500, ...(cursor ? { cursor } : {}) });
      for (const record of page.items) {
        if (record.origin === 'source-list' && !keep.has(record.vct)) {
          await this.repo.delete(GLOBAL_SCOPE, record.id);
          removed.push(record.vct);
        }
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return removed;
  }
}
