import { Inject, Injectable } from '@nestjs/common';
import type { WalletConfig } from '@wallet/config';
import { sealSecret } from '@wallet/crypto';
import type { Issuer } from '@wallet/domain';
import { Collections, type Store } from '@wallet/persistence';
import { keyEncryptionKey, WALLET_CONFIG, WALLET_STORE } from '@wallet/platform';
import type { AdminActor } from '../admin-actor';
import { AdminChanges } from '../admin-changes.service';
import { listing, newId, stripMeta, uniquely, type ListQuery } from '../admin-records';
import { issuerView } from './issuers-responses.dto';
import type { CreateIssuerDto, UpdateIssuerDto } from './issuers.dto';

/** The context an issuer's sealed client key is bound to. */
export const issuerKeyContext = (tenant: string, issuerId: string): string => `issuer:${tenant}/${issuerId}`;

/**
 * A tenant's credential issuers. The client private key is write-only and
 * sealed at rest under `crypto.keyEncryptionKey` (stored as given in
 * development without one). Audited in the tenant's scope.
 */
@Injectable()
export class IssuersService {
  private readonly kek: Uint8Array | null;

  constructor(
    @Inject(WALLET_CONFIG) config: WalletConfig,
    @Inject(WALLET_STORE) private readonly store: Store,
    private readonly changes: AdminChanges,
  ) {
    this.kek = keyEncryptionKey(config);
  }

  async listIssuers(tenant: string, query: ListQuery) {
    await this.changes.requireTenant(tenant);
    return listing(await this.store.repository(Collections.issuers).list(tenant, query), issuerView);
  }

  async getIssuer(tenant: string, id: string) {
    await this.changes.requireTenant(tenant);
    return issuerView(await this.changes.requireRecord(Collections.issuers, tenant, id, 'issuer'));
  }

  async createIssuer(tenant: string, input: CreateIssuerDto, who: AdminActor) {
    await this.changes.requireTenant(tenant);
    const id = input.id ?? newId();
    const created = await uniquely(
      this.store.repository(Collections.issuers).create(tenant, {
        id,
        credentialIssuerIdentifier: input.credential_issuer_identifier,
        clientId: input.client_id,
        visible: input.visible,
        clientPrivateKey: await this.sealKey(input.client_private_key, tenant, id),
      }),
      'issuer',
      id,
      tenant,
    );
    const view = issuerView(created);
    await this.changes.record(tenant, who, 'issuer.create', 'issuer', created.id, null, view);
    return view;
  }

  async updateIssuer(tenant: string, id: string, input: UpdateIssuerDto, who: AdminActor) {
    await this.changes.requireTenant(tenant);
    const current = await this.changes.requireRecord(Collections.issuers, tenant, id, 'issuer');
    const next: Issuer = {
      ...stripMeta(current),
      credentialIssuerIdentifier: input.credential_issuer_identifier ?? current.credentialIssuerIdentifier,
      clientId: input.client_id !== undefined ? input.client_id : current.clientId,
      visible: input.visible ?? current.visible,
      clientPrivateKey:
        input.client_private_key !== undefined ? await this.sealKey(input.client_private_key, tenant, id) : current.clientPrivateKey,
    };
    const updated = await this.store.repository(Collections.issuers).update(tenant, id, next, current.version);
    const view = issuerView(updated);
    await this.changes.record(tenant, who, 'issuer.update', 'issuer', id, issuerView(current), view);
    return view;
  }

  async deleteIssuer(tenant: string, id: string, who: AdminActor): Promise<void> {
    await this.changes.requireTenant(tenant);
    const current = await this.changes.requireRecord(Collections.issuers, tenant, id, 'issuer');
    await this.store.repository(Collections.issuers).delete(tenant, id, current.version);
    await this.changes.record(tenant, who, 'issuer.delete', 'issuer', id, issuerView(current), null);
  }

  /** Issuer client keys are sealed under `crypto.keyEncryptionKey`; open them with `openSealedSecret(value, issuerKeyContext(...))`. */
  private async sealKey(key: string | null, tenant: string, id: string): Promise<string | null> {
    return key === null ? null : sealSecret(key, issuerKeyContext(tenant, id), this.kek);
  }
}
