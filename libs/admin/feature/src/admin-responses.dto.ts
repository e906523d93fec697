import { ApiProperty } from '@nestjs/swagger';

/**
 * What the admin API answers, for its OpenAPI document (the mappers in
 * admin.dto.ts build the answers). snake_case JSON; secrets (issuer client
 * private keys, invite codes after creation) are never part of a read.
 */

abstract class RecordMeta {
  @ApiProperty({ minimum: 1, description: 'Increases with every change', example: 1 }) version!: number;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ format: 'date-time' }) updated_at!: string;
}

export class AdminStatusResponse {
  @ApiProperty({ enum: ['ok'] }) status!: 'ok';
  @ApiProperty({ enum: ['development', 'production'] }) mode!: string;
  @ApiProperty({ description: 'Store driver', example: 'sqlite' }) store!: string;
  @ApiProperty({ description: 'Cache driver', example: 'redis' }) cache!: string;
}

export class TrustConfigResponse {
  @ApiProperty({ type: String, nullable: true, description: 'AuthZEN PDP URL, `none`, or null for the default PDP' }) pdp_url!: string | null;
}

export class TenantResponse extends RecordMeta {
  @ApiProperty({ example: 'acme' }) id!: string;
  @ApiProperty({ example: 'Acme Corp' }) display_name!: string;
  @ApiProperty() enabled!: boolean;
  @ApiProperty() require_invite!: boolean;
  @ApiProperty({ type: () => TrustConfigResponse }) trust_config!: TrustConfigResponse;
  @ApiProperty({ type: [String], example: ['oid4vci', 'oid4vp'] }) allowed_protocols!: string[];
  @ApiProperty({ type: [String], description: 'Browser origins of the tenant’s front ends (WebSocket Origin check); empty: the deployment’s' }) allowed_origins!: string[];
}

export class TenantDeletedResponse {
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' }, description: 'Records deleted per collection', example: { users: 1, memberships: 1, verifiers: 1 } })
  deleted!: Record<string, number>;
}

export class UserResponse extends RecordMeta {
  @ApiProperty() id!: string;
  @ApiProperty({ description: 'WebAuthn user handle (base64url)' }) handle!: string;
  @ApiProperty() display_name!: string;
  @ApiProperty({ enum: ['active', 'suspended'] }) status!: string;
  @ApiProperty({ enum: ['member', 'admin'], nullable: true, description: 'Role in the tenant; null: no membership' }) role!: string | null;
  @ApiProperty({ description: 'Whether the client-encrypted keystore blob is set (the blob itself is never returned)' }) private_data_set!: boolean;
}

export class IssuerResponse extends RecordMeta {
  @ApiProperty() id!: string;
  @ApiProperty({ format: 'uri' }) credential_issuer_identifier!: string;
  @ApiProperty({ type: String, nullable: true }) client_id!: string | null;
  @ApiProperty() visible!: boolean;
  @ApiProperty({ description: 'The key itself is never returned' }) client_private_key_set!: boolean;
}

export class VerifierResponse extends RecordMeta {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ format: 'uri' }) url!: string;
  @ApiProperty({ type: String, nullable: true, description: 'OpenID4VP pre-registered client id (no prefix), or null' }) client_id!: string | null;
  @ApiProperty({ type: 'array', items: { type: 'object' }, description: 'Public keys its signed requests use (pre-registered verifiers)' }) jwks!: unknown[];
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

export class AuditEventResponse {
  @ApiProperty({ description: 'Starts with the event time, so ids sort by time' }) id!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty() tenant!: string;
  @ApiProperty({ enum: ['admin', 'user', 'system'] }) actor_type!: string;
  @ApiProperty({ type: String, nullable: true }) actor!: string | null;
  @ApiProperty({ example: 'tenant.update' }) action!: string;
  @ApiProperty({ example: 'tenant' }) resource!: string;
  @ApiProperty({ type: String, nullable: true }) resource_id!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'The resource before the change (secrets left out)' }) before!: Record<string, unknown> | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'The resource after the change (secrets left out)' }) after!: Record<string, unknown> | null;
  @ApiProperty({ type: String, nullable: true, description: 'The request id (`X-Request-ID`)' }) request_id!: string | null;
}

const NEXT_CURSOR = { type: String, nullable: true, description: 'Pass as `cursor` for the next page; null: no more' } as const;

export class TenantListResponse {
  @ApiProperty({ type: [TenantResponse] }) items!: TenantResponse[];
  @ApiProperty(NEXT_CURSOR) next_cursor!: string | null;
}
export class UserListResponse {
  @ApiProperty({ type: [UserResponse] }) items!: UserResponse[];
  @ApiProperty(NEXT_CURSOR) next_cursor!: string | null;
}
export class IssuerListResponse {
  @ApiProperty({ type: [IssuerResponse] }) items!: IssuerResponse[];
  @ApiProperty(NEXT_CURSOR) next_cursor!: string | null;
}
export class VerifierListResponse {
  @ApiProperty({ type: [VerifierResponse] }) items!: VerifierResponse[];
  @ApiProperty(NEXT_CURSOR) next_cursor!: string | null;
}
export class InviteListResponse {
  @ApiProperty({ type: [InviteResponse] }) items!: InviteResponse[];
  @ApiProperty(NEXT_CURSOR) next_cursor!: string | null;
}
export class CreatedInvitesResponse {
  @ApiProperty({ type: [CreatedInviteResponse] }) items!: CreatedInviteResponse[];
}
export class AuditListResponse {
  @ApiProperty({ type: [AuditEventResponse] }) items!: AuditEventResponse[];
  @ApiProperty(NEXT_CURSOR) next_cursor!: string | null;
}
