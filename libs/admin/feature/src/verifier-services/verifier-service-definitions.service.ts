import { Inject, Injectable } from '@nestjs/common';
import { GLOBAL_SCOPE, ValidationError } from '@wallet/domain';
import { Collections, type Store } from '@wallet/persistence';
import { publishVerifierServicesChanged, WALLET_STORE } from '@wallet/platform';
import type { VerifierService } from '@wallet/protocol';
import type { AdminActor } from '../admin-actor';
import { AdminChanges } from '../admin-changes.service';
import { listing, type ListQuery } from '../admin-records';

/**
 * The verifier's relying-party service definitions (global, not per
 * tenant), in the shape of the verifier's services file. Audited as
 * `verifier_service.*` in the global scope; every change is announced on the
 * cache so every verifier replica reloads them.
 */
@Injectable()
export class VerifierServiceDefinitionsService {
  constructor(
    @Inject(WALLET_STORE) private readonly store: Store,
    private readonly changes: AdminChanges,
  ) {}

  async listVerifierServices(query: ListQuery) {
    return listing(await this.store.repository(Collections.verifierServices).list(GLOBAL_SCOPE, query), (r) => r.definition);
  }

  async getVerifierService(id: string) {
    return (await this.changes.requireRecord(Collections.verifierServices, GLOBAL_SCOPE, id, 'verifier service')).definition;
  }

  /** Creates or replaces a service definition (already validated with the verifier's schema). The verifier picks it up within seconds. */
  async putVerifierService(id: string, definition: VerifierService, who: AdminActor) {
    if (definition.id !== id) throw new ValidationError('the id in the path and in the body differ', [{ path: '/body/id', message: 'must equal the path id' }]);
    const repository = this.store.repository(Collections.verifierServices);
    const current = await repository.get(GLOBAL_SCOPE, id);
    const value = { id, definition: definition as unknown as Record<string, unknown> };
    const saved = current ? await repository.update(GLOBAL_SCOPE, id, value, current.version) : await repository.create(GLOBAL_SCOPE, value);
    await this.changes.record(GLOBAL_SCOPE, who, current ? 'verifier_service.update' : 'verifier_service.create', 'verifier_service', id, current?.definition ?? null, saved.definition);
    await this.announce(id);
    return saved.definition;
  }

  async deleteVerifierService(id: string, who: AdminActor): Promise<void> {
    const current = await this.changes.requireRecord(Collections.verifierServices, GLOBAL_SCOPE, id, 'verifier service');
    await this.store.repository(Collections.verifierServices).delete(GLOBAL_SCOPE, id, current.version);
    await this.changes.record(GLOBAL_SCOPE, who, 'verifier_service.delete', 'verifier_service', id, current.definition, null);
    await this.announce(id);
  }

  private announce(id: string): Promise<void> {
    return this.changes.announce('verifier service', id, (cache) => publishVerifierServicesChanged(cache, id));
  }
}
