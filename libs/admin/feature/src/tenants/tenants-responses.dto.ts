import { ApiProperty } from '@nestjs/swagger';
import type { Tenant } from '@wallet/domain';
import type { Stored } from '@wallet/persistence';
import { NEXT_CURSOR, RecordMeta } from '../admin-responses.dto';
import { recordMeta } from '../admin-records';

/** A tenant as the admin API answers it. */
export function tenantView(tenant: Stored<Tenant>) {
  return {
    id: tenant.id,
    display_name: tenant.displayName,
    enabled: tenant.enabled,
    require_invite: tenant.requireInvite,
    trust_config: { pdp_url: tenant.trustConfig.pdpUrl ?? null },
    allowed_protocols: tenant.allowedProtocols,
    allowed_origins: tenant.allowedOrigins ?? [],
    ...recordMeta(tenant),
  };
}
export type TenantView = ReturnType<typeof tenantView>;

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
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' }, description: "Records deleted per collection, and `vault`: the live vault records of the tenant's users, erased with their tags, tombstones and sync state", example: { users: 1, memberships: 1, passkeys: 1, vault: 2, verifiers: 1 } })
  deleted!: Record<string, number>;
}

export class TenantListResponse {
  @ApiProperty({ type: [TenantResponse] }) items!: TenantResponse[];
  @ApiProperty(NEXT_CURSOR) next_cursor!: string | null;
}
