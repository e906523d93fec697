import { Controller, Get, Inject, Param } from '@nestjs/common';
import { GLOBAL_SCOPE, NotFoundError, zTenantId, type Issuer, type Tenant, type Verifier } from '@wallet/domain';
import { Collections, type CollectionSpec, type Store, type Stored } from '@wallet/persistence';
import { ApiProblem, CurrentTenant, Public, WALLET_STORE } from '@wallet/platform';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { PublicIssuerDto, PublicTenantConfigDto, PublicVerifierDto, TenantConfigPathDto } from './public-config.dto';

/** The most records a public listing returns (operators configure a handful). */
const MAX_LISTED = 1000;

/** What front ends may know about a tenant. No trust endpoints, no secrets. */
export interface PublicTenantConfig {
  id: string;
  display_name: string;
  require_invite: boolean;
  allowed_protocols: string[];
}

export interface PublicIssuer {
  id: string;
  credential_issuer_identifier: string;
  client_id: string | null;
  visible: boolean;
}

export interface PublicVerifier {
  id: string;
  name: string;
  url: string;
}

/**
 * Public, read-only tenant configuration for wallet front ends, served on the
 * wallet-facing port (never the admin port). A tenant that does not exist or
 * is disabled is a 404. Issuer private keys never leave the store: only the
 * listed fields are copied out.
 */
@ApiTags('public configuration')
@Controller()
export class PublicConfigController {
  constructor(@Inject(WALLET_STORE) private readonly store: Store) {}

  @Get('tenant/:id/config')
  @Public({ tenant: false })
  @ApiOperation({ summary: "A tenant's public configuration", description: 'What a front end needs before login: the display name, whether an invite is needed, the allowed protocols.' })
  @ApiOkResponse({ type: PublicTenantConfigDto })
  @ApiProblem(404, 'No such tenant, or it is disabled (`not_found`)', 'not_found')
  async tenantConfig(@Param() path: TenantConfigPathDto): Promise<PublicTenantConfig> {
    const parsed = zTenantId.safeParse(path.id);
    if (!parsed.success) throw new NotFoundError('tenant');
    const tenant = await this.enabledTenant(parsed.data);
    return {
      id: tenant.id,
      display_name: tenant.displayName,
      require_invite: tenant.requireInvite,
      allowed_protocols: tenant.allowedProtocols,
    };
  }

  /** The tenant comes from `/t/{tenant}/...` or `X-Tenant-ID` (else `default`); the platform guard 404s an unknown one. */
  @Get('issuer/all')
  @Public()
  @ApiOperation({ summary: 'The visible credential issuers of the tenant', description: 'At most 1000. Never their client keys.' })
  @ApiOkResponse({ type: [PublicIssuerDto] })
  async issuers(@CurrentTenant() tenant: string): Promise<PublicIssuer[]> {
    const all = await this.listAll<Issuer>(tenant, Collections.issuers);
    return all
      .filter((issuer) => issuer.visible)
      .map((issuer) => ({
        id: issuer.id,
        credential_issuer_identifier: issuer.credentialIssuerIdentifier,
        client_id: issuer.clientId,
        visible: issuer.visible,
      }));
  }

  @Get('verifier/all')
  @Public()
  @ApiOperation({ summary: 'The relying parties (verifiers) of the tenant', description: 'At most 1000.' })
  @ApiOkResponse({ type: [PublicVerifierDto] })
  async verifiers(@CurrentTenant() tenant: string): Promise<PublicVerifier[]> {
    const all = await this.listAll<Verifier>(tenant, Collections.verifiers);
    return all.map((verifier) => ({ id: verifier.id, name: verifier.name, url: verifier.url }));
  }

  private async enabledTenant(id: string): Promise<Stored<Tenant>> {
    const tenant = await this.store.repository(Collections.tenants).get(GLOBAL_SCOPE, id);
    if (!tenant || !tenant.enabled) throw new NotFoundError('tenant');
    return tenant;
  }

  private async listAll<T extends { id: string }>(tenant: string, spec: CollectionSpec<T>): Promise<Array<Stored<T>>> {
    const repo = this.store.repository(spec);
    const items: Array<Stored<T>> = [];
    let cursor: string | undefined;
    do {
      const page = await repo.list(tenant, { limit: MAX_LISTED, ...(cursor ? { cursor } : {}) });
      items.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && items.length < MAX_LISTED);
    return items.slice(0, MAX_LISTED);
  }
}
