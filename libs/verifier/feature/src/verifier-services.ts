import { zVerifierServiceDefinition, type VerifierService } from '@wallet/protocol';
import { GLOBAL_SCOPE } from '@wallet/domain';
import { Collections, type Store } from '@wallet/persistence';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { OAuthError } from './oauth-error';

export {
  zVerifierServiceDefinition,
  type CredentialTrust,
  type TokenShape,
  type VerifierScope,
  type VerifierService,
} from '@wallet/protocol';

const zServicesFile = z.strictObject({ services: z.array(zVerifierServiceDefinition).max(256) });

/** The demo scope: any SD-JWT VC PID-like credential with a name, from any verifiable issuer. */
export const DEFAULT_SERVICE: VerifierService = zVerifierServiceDefinition.parse({
  id: 'default',
  defaultScope: 'demo',
  scopes: {
    demo: {
      dcql: {
        credentials: [
          {
            id: 'pid',
            format: 'dc+sd-jwt',
            meta: { vct_values: ['urn:eudi:pid:1', 'https://example.bmi.bund.de/credential/pid/1.0'] },
            claims: [{ path: ['given_name'] }, { path: ['family_name'] }],
          },
        ],
      },
      trust: [{ type: '*', issuers: 'any' }],
      token: { type: 'flat' },
    },
  },
  redirectUris: [],
});

export class VerifierServices {
  private readonly byId: ReadonlyMap<string, VerifierService>;
  /** Services managed through the admin API; they win over the file's. Replaced by {@link setStored}. */
  private stored: ReadonlyMap<string, VerifierService> = new Map();

  constructor(services: readonly VerifierService[]) {
    const map = new Map<string, VerifierService>([[DEFAULT_SERVICE.id, DEFAULT_SERVICE]]);
    for (const service of services) map.set(service.id, service);
    this.byId = map;
  }

  /** Reads and validates a services YAML file; the error names the file and the path of the problem. */
  static fromFile(path: string | undefined): VerifierServices {
    if (!path) return new VerifierServices([]);
    let raw: unknown;
    try {
      raw = parseYaml(readFileSync(path, 'utf8'));
    } catch (cause) {
      throw new Error(`verifier.servicesFile ${path}: cannot be read as YAML`, { cause });
    }
    const result = zServicesFile.safeParse(raw);
    if (!result.success) {
      const [issue] = result.error.issues;
      throw new Error(`verifier.servicesFile ${path}: /${issue?.path.join('/') ?? ''}: ${issue?.message ?? 'invalid'}`);
    }
    return new VerifierServices(result.data.services);
  }

  get(id: string): VerifierService | undefined {
    return this.stored.get(id) ?? this.byId.get(id);
  }

  /** The service a request names (`default` when it names none); an unknown one is the client's error, `invalid_client`. */
  require(id: string | undefined): VerifierService {
    const service = this.get(id ?? 'default');
    if (!service) throw new OAuthError(400, 'invalid_client', 'unknown client_id (service)');
    return service;
  }

  list(): VerifierService[] {
    return [...new Map([...this.byId, ...this.stored]).values()];
  }

  setStored(services: readonly VerifierService[]): void {
    this.stored = new Map(services.map((service) => [service.id, service]));
  }

  /**
   * Reloads the admin-managed services from the store. A stored definition that
   * no longer passes the schema (written by an older version, say) is skipped
   * and reported through `onInvalid`, never served.
   */
  async reloadStored(store: Store, onInvalid: (id: string, message: string) => void = () => undefined): Promise<void> {
    const repository = store.repository(Collections.verifierServices);
    const services: VerifierService[] = [];
    let cursor: string | undefined;
    do {
      const page = await repository.list(GLOBAL_SCOPE, { limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const record of page.items) {
        const parsed = zVerifierServiceDefinition.safeParse(record.definition);
        if (parsed.success && parsed.data.id === record.id) services.push(parsed.data);
        else onInvalid(record.id, parsed.success ? 'the id differs from the record id' : (parsed.error.issues[0]?.message ?? 'invalid'));
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    this.setStored(services);
  }
}
