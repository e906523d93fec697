import { ApiProperty } from '@nestjs/swagger';
import type { Invite } from '@wallet/domain';
import type { Stored } from '@wallet/persistence';
import { NEXT_CURSOR, RecordMeta } from '../admin-responses.dto';
import { recordMeta } from '../admin-records';

export type InviteStatus = 'active' | 'expired' | 'revoked' | 'used_up';

export function inviteStatus(invite: Invite, now: Date): InviteStatus {
  if (invite.revoked) return 'revoked';
  if (invite.expiresAt !== null && Date.parse(invite.expiresAt) <= now.getTime()) return 'expired';
  if (invite.uses >= invite.maxUses) return 'used_up';
  return 'active';
}

/** An invite without its code (only the code's SHA-256 is stored). */
export function inviteView(invite: Stored<Invite>, now: Date) {
  return {
    id: invite.id,
    expires_at: invite.expiresAt,
    max_uses: invite.maxUses,
    uses: invite.uses,
    revoked: invite.revoked,
    status: inviteStatus(invite, now),
    ...recordMeta(invite),
  };
}

export class InviteResponse extends RecordMeta {
  @ApiProperty() id!: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) expires_at!: string | null;
  @ApiProperty() max_uses!: number;
  @ApiProperty() uses!: number;
  @ApiProperty() revoked!: boolean;
  @ApiProperty({ enum: ['active', 'expired', 'revoked', 'used_up'] }) status!: string;
}

export class CreatedInviteResponse extends InviteResponse {
  @ApiProperty({ description: 'The invite code; shown only in this answer (only its SHA-256 is stored)' }) code!: string;
}

export class InviteListResponse {
  @ApiProperty({ type: [InviteResponse] }) items!: InviteResponse[];
  @ApiProperty(NEXT_CURSOR) next_cursor!: string | null;
}
export class CreatedInvitesResponse {
  @ApiProperty({ type: [CreatedInviteResponse] }) items!: CreatedInviteResponse[];
}
