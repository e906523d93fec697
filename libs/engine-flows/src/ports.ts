import type { TrustResult } from '@wallet/engine-protocol';

/**
 * The issuer as the registry service knows it: OpenID4VCI metadata
 * (`signed_metadata` verified and applied), its authorization servers'
 * metadata, and the trust evaluator's decision for the tenant. The engine
 * never decides trust itself and never takes it from the client.
 */
export interface IssuerMetadataView {
  issuer: string;
  credentialIssuerMetadata: Record<string, unknown>;
  signedMetadata: { present: boolean; verified: boolean };
  authorizationServers: Array<{ issuer: string; metadata: Record<string, unknown> | null; error?: string }>;
  trust: TrustResult;
}

/** What the engine asks the registry (in process in the all-in-one, over HTTP otherwise). */
export interface RegistryPort {
  /** Throws when the metadata cannot be had; the flow fails with `metadata_unavailable`. */
  issuerMetadata(issuer: string, tenantId: string): Promise<IssuerMetadataView>;
  /** SD-JWT VC type metadata for `vct` (images embedded), or null when there is none. */
  typeMetadata(vct: string): Promise<Record<string, unknown> | null>;
}

/**
 * The fetch every protocol step goes through. It must be the guarded outbound
 * client (SSRF checks on every resolved address, size and time limits); it
 * reports its own refusals as `OutboundFailure`.
 */
export type GuardedFetch = (url: string, init?: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; maxBytes?: number }) => Promise<{
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}>;
