import type { DocumentFetch } from '@wallet/protocol';
import type { OutboundClient } from '@wallet/platform';

/** The verifier's document fetch (issuer metadata, DID documents, status lists); see `DocumentFetch`. */
export type VerifierFetch = DocumentFetch;

export const VERIFIER_FETCH = Symbol('VERIFIER_FETCH');

/** Remote lookups through the guarded outbound client (its allow and block lists, size cap, timeouts). */
export function outboundFetch(client: OutboundClient): VerifierFetch {
  return {
    getText: async (url, accept) => {
      const response = await client.fetch(url, { accept, maxRedirects: 2 });
      if (response.status !== 200) throw new Error(`the document answered ${response.status}`);
      return response.text();
    },
  };
}
