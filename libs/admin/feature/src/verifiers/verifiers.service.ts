import { Inject, Injectable } from '@nestjs/common';
import type { Verifier } from '@wallet/domain';
import { Collections, type Store } from '@wallet/persistence';
import { WALLET_STORE } from '@wallet/platform';
import type { AdminActor } from '../admin-actor';
import { AdminChanges } from '../admin-changes.service';
import { listing, newId, uniquely, type ListQuery } from '../admin-records';
import { verifierView } from './verifiers-responses.dto';
import type { CreateVerifierDto, UpdateVerifierDto } from './verifiers.dto';

/** A tenant's verifiers (relying parties shown to its wallets). Audited in the tenant's scope. */
@Injectable()
export class VerifiersService {
  constructor(
    @Inject(WALLET_STORE) private readonly store: Store,
    private readonly changes: AdminChanges,
  ) {}

  async listVerifiers(tenant: string, query: ListQuery) {
    await this.changes.requireTenant(tenant);
    return listing(await this.store.repository(Collections.verifiers).list(tenant, query), verifierView);
  }

  async getVerifier(tenant: string, id: string) {
    await this.changes.requireTenant(tenant);
    return verifierView(await this.changes.requireRecord(Collections.verifiers, tenant, id, 'verifier'));
  }

  async createVerifier(tenant: string, input: CreateVerifierDto, who: AdminActor) {
    await this.changes.requireTenant(tenant);
    const id = input.id ?? newId();
    const created = await uniquely(
      this.store.repository(Collections.verifiers).create(tenant, {
        id,
        name: input.name,
        url: input.url,
        ...(input.client_id ? { clientId: input.client_id } : {}),
        ...(input.jwks ? { jwks: input.jwks } : {}),
      }),
      'verifier',
      id,
      tenant,
    );
    const view = verifierView(created);
    await this.changes.record(tenant, who, 'verifier.create', 'verifier', created.id, null, view);
    return view;
  }

  async updateVerifier(tenant: string, id: string, input: UpdateVerifierDto, who: AdminActor) {
    await this.changes.requireTenant(tenant);
    const current = await this.changes.requireRecord(Collections.verifiers, tenant, id, 'verifier');
    const clientId = input.client_id ?? current.clientId;
    const jwks = input.jwks ?? current.jwks;
    const next: Verifier = {
      id,
      name: input.name ?? current.name,
      url: input.url ?? current.url,
      ...(clientId ? { clientId } : {}),
      ...(jwks ? { jwks } : {}),
    };
    const updated = await this.store.repository(Collections.verifiers).update(tenant, id, next, current.version);
    const view = verifierView(updated);
    await this.changes.record(tenant, who, 'verifier.update', 'verifier', id, verifierView(current), view);
    return view;
  }

  async deleteVerifier(tenant: string, id: string, who: AdminActor): Promise<void> {
    await this.changes.requireTenant(tenant);
    const current = await this.changes.requireRecord(Collections.verifiers, tenant, id, 'verifier');
    await this.store.repository(Collections.verifiers).delete(tenant, id, current.version);
    await this.changes.record(tenant, who, 'verifier.delete', 'verifier', id, verifierView(current), null);
  }
}
