import { ApiProperty } from '@nestjs/swagger';

/**
 * The parts every admin answer's OpenAPI schema shares. Each context's
 * answers are in its `*-responses.dto.ts`, beside the view that builds them:
 * snake_case JSON; secrets (issuer client private keys, invite codes after
 * creation) are never part of a read.
 */

/** The store's metadata on every record (see `recordMeta`). */
export abstract class RecordMeta {
  @ApiProperty({ minimum: 1, description: 'Increases with every change', example: 1 }) version!: number;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ format: 'date-time' }) updated_at!: string;
}

/** The `next_cursor` of every list answer. */
export const NEXT_CURSOR = { type: String, nullable: true, description: 'Pass as `cursor` for the next page; null: no more' } as const;
