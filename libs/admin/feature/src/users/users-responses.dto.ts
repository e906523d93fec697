import { ApiProperty } from '@nestjs/swagger';
import type { User } from '@wallet/domain';
import type { Stored } from '@wallet/persistence';
import { NEXT_CURSOR, RecordMeta } from '../admin-responses.dto';
import { recordMeta } from '../admin-records';

/** A user with their role in the tenant (null: no membership); the keystore blob itself is never shown. */
export function userView(user: Stored<User>, role: 'member' | 'admin' | null) {
  return {
    id: user.id,
    handle: user.handle,
    display_name: user.displayName,
    status: user.status,
    role,
    private_data_set: user.privateData !== null,
    ...recordMeta(user),
  };
}

export class UserResponse extends RecordMeta {
  @ApiProperty() id!: string;
  @ApiProperty({ description: 'WebAuthn user handle (base64url)' }) handle!: string;
  @ApiProperty() display_name!: string;
  @ApiProperty({ enum: ['active', 'suspended'] }) status!: string;
  @ApiProperty({ enum: ['member', 'admin'], nullable: true, description: 'Role in the tenant; null: no membership' }) role!: string | null;
  @ApiProperty({ description: 'Whether the client-encrypted keystore blob is set (the blob itself is never returned)' }) private_data_set!: boolean;
}

export class UserListResponse {
  @ApiProperty({ type: [UserResponse] }) items!: UserResponse[];
  @ApiProperty(NEXT_CURSOR) next_cursor!: string | null;
}
