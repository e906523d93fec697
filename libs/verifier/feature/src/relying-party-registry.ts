import { zRelyingPartyConfig, type RelyingPartyConfig } from '@wallet/protocol';
import { GLOBAL_SCOPE } from '@wallet/domain';
import { Collections, type Store } from '@wallet/persistence';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { OAuthError } from './oauth-error';

export {
  zRelyingPartyConfig,
  type CredentialTrust,
  type TokenShape,
  type RelyingPartyScope,
  type RelyingPartyConfig,
} from '@wallet/protocol';

const zServicesFile = z.strictObject({ services: z.array(zRelyingPartyConfig).max(256) });

/** The demo scope: any SD-JWT VC PID-like credential with a name, from any verifiable issuer. */
export const DEFAULT_RELYING_PARTY: RelyingPartyConfig = zRelyingPartyConfig.parse({
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

export class RelyingPartyRegistry {
  private readonly byId: ReadonlyMap<string, RelyingPartyConfig>;
  /** Services managed through the admin API; they win over the file's. Replaced by {@link setStored}. */
  private stored: ReadonlyMap<string, RelyingPartyConfig> = new Map();

  constructor(services: readonly RelyingPartyConfig[]) {
    const map = new Map<string, RelyingPartyConfig>([[DEFAULT_RELYING_PARTY.id, DEFAULT_RELYING_PARTY]]);
    for (const relyingParty of services) map.set(relyingParty.id, relyingParty);
    this.byId = map;
  }

  /** Reads and validates a services YAML file; the error names the file and the path of the problem. */
  static fromFile(path: string | undefined): RelyingPartyRegistry {
    if (!path) return new RelyingPartyRegistry([]);
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
    return new RelyingPartyRegistry(result.data.services);
  }

  get(id: string): RelyingPartyConfig | undefined {
    return this.stored.get(id) ?? this.byId.get(id);
  }

  /** The service a request names (`default` when it names none); an unknown one is the client's error, `invalid_client`. */
  require(id: string | undefined): RelyingPartyConfig {
    const relyingParty = this.get(id ?? 'default');
    if (!relyingParty) throw new OAuthError(400, 'invalid_client', 'unknown client_id (service)');
    return relyingParty;
  }

  list(): RelyingPartyConfig[] {
    return [...new Map([...this.byId, ...this.stored]).values()];
  }

  setStored(services: readonly RelyingPartyConfig[]): void {
    this.stored = new Map(services.map((relyingParty) => [relyingParty.id, relyingParty]));
  }

  /**
   * Reloads the admin-managed services from the store. A stored definition that
   * no longer passes the schema (written by an older version, say) is skipped
   * and reported through `onInvalid`, never served.
   */
  async reloadStored(store: Store, onInvalid: (id: string, message: string) => void = () => undefined): Promise<void> {
    const repository = store.repository(Collections.verifierServices);
    const services: RelyingPartyConfig[] = [];
    let cursor: string | undefined;
    do {
      const page = await repository.list(GLOBAL_SCOPE, { limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const record of page.items) {
        const parsed = zRelyingPartyConfig.safeParse(record.definition);
        if (parsed.success && parsed.data.id === record.id) services.push(parsed.data);
        else onInvalid(record.id, parsed.success ? 'the id differs from the record id' : (parsed.error.issues[0]?.message ?? 'invalid'));
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    this.setStored(services);
  }
}
