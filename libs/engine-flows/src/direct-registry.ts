import type { TrustResult } from '@wallet/engine-protocol';
import { libraryFetch } from './oid4vci/library-fetch';
import { vciClient } from './oid4vci/openid4vc';
import type { GuardedFetch, IssuerMetadataView, RegistryPort } from './ports';

export interface DirectRegistryOptions {
  /** The guarded fetch: metadata comes straight from the issuer. */
  fetch: GuardedFetch;
  /**
   * Decides whether to trust an issuer; there is no default that trusts. A
   * local wallet usually asks its own trust list or a PDP it chose.
   */
  trust: (credentialIssuer: string) => Promise<TrustResult> | TrustResult;
  maxDocumentBytes?: number;
}

/**
 * The registry port without a registry service, for the local engine: issuer
 * and authorization server metadata fetched from the issuer (through the
 * guarded fetch, parsed by the @openid4vc library), trust from the caller,
 * type metadata from the `vct` URL when it is one. Signed metadata is not
 * applied here (the registry service does that).
 */
export function directRegistry(options: DirectRegistryOptions): RegistryPort {
  const maxBytes = options.maxDocumentBytes ?? 256 * 1024;
  const fetch = libraryFetch((url, init) => options.fetch(url, { ...init, maxBytes }));
  return {
    issuerMetadata: async (issuer) => {
      const client = vciClient({ fetch, sign: () => Promise.reject(new Error('nothing to sign')) });
      const resolved = await client.resolveIssuerMetadata(issuer);
      const view: IssuerMetadataView = {
        issuer: resolved.credentialIssuer.credential_issuer,
        credentialIssuerMetadata: resolved.credentialIssuer as Record<string, unknown>,
        signedMetadata: { present: false, verified: false },
        authorizationServers: resolved.authorizationServers.map((as) => ({ issuer: as.issuer, metadata: as as Record<string, unknown> })),
        trust: await options.trust(issuer),
      };
      return view;
    },
    typeMetadata: async (vct) => {
      if (!/^https?:\/\//.test(vct)) return null;
      try {
        const response = await options.fetch(vct, { method: 'GET', headers: { accept: 'application/json' }, maxBytes });
        if (response.status !== 200) return null;
        const json = JSON.parse(Buffer.from(response.body).toString('utf8')) as unknown;
        return json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : null;
      } catch {
        return null;
      }
    },
  };
}
