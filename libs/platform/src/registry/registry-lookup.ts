/**
 * What other services read from the registry, in the shapes of its routes'
 * JSON bodies: `GET /registry/issuer-metadata` (metadata, authorization
 * servers, trust decision for the tenant) and `GET /registry/type-metadata`.
 * The registry module provides it in process (the all-in-one); a service
 * running elsewhere calls the routes over HTTP instead.
 */
export interface RegistryLookup {
  /** The issuer-metadata answer for a tenant; throws the registry's errors (404, 502, 400). */
  issuerMetadata(issuer: string, tenantId: string): Promise<unknown>;
  /** SD-JWT VC type metadata for `vct`, or null when there is none. */
  typeMetadata(vct: string): Promise<Record<string, unknown> | null>;
}

/** Injection token of the in-process {@link RegistryLookup}; absent when the registry runs elsewhere. */
export const REGISTRY_LOOKUP = Symbol('REGISTRY_LOOKUP');
